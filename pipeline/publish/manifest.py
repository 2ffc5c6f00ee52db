"""manifest.json: what the last finished publish wrote, with sizes, hashes and content types.

A deployment reads it to upload the publish root and to set each file's Content-Type; the
publish step reads it to know which files are its own (docs/deployment.md).
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

MANIFEST = "manifest.json"
CONTENT_TYPES = {
    ".ics": "text/calendar; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".eml": "message/rfc822",
    ".xml": "application/atom+xml",  # the only XML artifact is the issues' Atom feed
    ".json": "application/json",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"


def content_type(path: str) -> str:
    """The Content-Type a web server should send for an artifact, by its extension.

    PurePosixPath(path).suffix, without building a path (20k artifacts a build).
    """
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    suffix = name[dot:].lower() if 0 < dot < len(name) - 1 else ""
    return CONTENT_TYPES.get(suffix, DEFAULT_CONTENT_TYPE)


def manifest_entry(path: str, data: bytes, kept: bool = False) -> dict[str, object]:
    """One manifest line: path, size, sha256 and content type (`kept`: see publish)."""
    entry: dict[str, object] = {"path": path, "bytes": len(data),
                                "content_type": content_type(path),
                                "sha256": hashlib.sha256(data).hexdigest()}
    if kept:
        entry["kept"] = True
    return entry


def manifest_bytes(entries: Iterable[dict[str, object]]) -> bytes:
    """The manifest document: entries sorted by path, keys sorted, stable formatting.

    The bytes of json.dumps(document, indent=2, sort_keys=True), written an entry at a
    time: with an indent, json encodes in pure Python, which took a second for 20k files.
    """
    ordered = sorted(entries, key=lambda entry: str(entry["path"]))
    if not all(type(value) in _FLAT for entry in ordered for value in entry.values()):
        document = {"artifacts": ordered, "count": len(ordered)}
        return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    items = ",\n".join(_entry_text(entry) for entry in ordered)
    artifacts = f"[\n{items}\n  ]" if ordered else "[]"
    return f'{{\n  "artifacts": {artifacts},\n  "count": {len(ordered)}\n}}\n'.encode()


_FLAT = (str, int, bool)  # what an entry's values are (a nested one takes json.dumps' path)
_text = json.encoder.py_encode_basestring if json.encoder.c_encode_basestring is None else (
    json.encoder.c_encode_basestring)  # a JSON string, non-ASCII kept (ensure_ascii=False)


_PLAIN = ["bytes", "content_type", "path", "sha256"]  # an entry's keys, sorted, unless kept


def _entry_text(entry: dict[str, object]) -> str:
    """One entry as json.dumps(indent=2, sort_keys=True) writes it inside the document."""
    if sorted(entry) == _PLAIN and type(entry["bytes"]) is int:  # the usual entry, written at once
        return (f'    {{\n      "bytes": {entry["bytes"]},\n      "content_type": '
                f'{_value(entry["content_type"])},\n      "path": {_value(entry["path"])},\n'
                f'      "sha256": {_value(entry["sha256"])}\n    }}')
    return "    {\n" + ",\n".join(f"      {_text(key)}: {_value(value)}"
                                  for key, value in sorted(entry.items())) + "\n    }"


def _value(value: object) -> str:
    """A flat value as json.dumps writes it."""
    if value is True or value is False:
        return "true" if value else "false"
    return str(value) if type(value) is int else _text(value)


_HEAD = b'{\n  "artifacts": [\n'
_BETWEEN = b"\n    },\n"  # between two entries (the next one starts with its "{")
_END = b"\n    }"  # after the last entry


def patch_manifest(data: bytes, changes: Mapping[str, dict[str, object] | None],
                   ) -> tuple[bytes, dict[str, dict[str, object]], int] | None:
    """`data` (manifest_bytes' document) with the entries of `changes` put in (by path) or,
    for None, taken out; the entries it had for those paths; how many it lists now. None
    when `data` is not
    in that layout, or it or an entry put in has a backslash (an escape would change how
    paths sort).

    A rebuild that knows which paths changed patches the manifest: the entries stay text,
    found by bisection, instead of 20k entries being read and written again.
    """
    end = data.rfind(b'\n  ],\n  "count": ')
    if not data.startswith(_HEAD) or end < 0 or b"\\" in data or not data.endswith(b"\n}\n"):
        return None
    body = data[len(_HEAD):end]
    if not body.endswith(_END) or not all(type(value) in _FLAT for entry in changes.values()
                                          if entry for value in entry.values()):
        return None
    texts = {path: _entry_text(entry)[:-len(_END)].encode() for path, entry in changes.items()
             if entry is not None}
    if any(b"\\" in text for text in texts.values()):
        return None  # an escaped path put in would sort by its escape, not by itself
    entries = body[:-len(_END)].split(_BETWEEN)
    old: dict[str, dict[str, object]] = {}
    for path in sorted(changes, reverse=True):  # from the end: earlier indices stay put
        at = bisect.bisect_left(entries, path.encode(), key=_entry_path)
        found = at < len(entries) and _entry_path(entries[at]) == path.encode()
        if found:
            old[path] = json.loads(entries[at] + _END)
        entries[at:at + found] = [texts[path]] if path in texts else []
    if not entries:
        return None  # manifest_bytes writes an empty list another way
    return (_HEAD + _BETWEEN.join(entries) + _END + b'\n  ],\n  "count": '
            + str(len(entries)).encode() + b"\n}\n", old, len(entries))


def _entry_path(text: bytes) -> bytes:
    """The path of an entry's text (as UTF-8: bytes sort as the strings do)."""
    start = text.index(b'"path": "') + 9
    return text[start:text.index(b'"', start)]


def recorded_claims(entries: dict[str, dict[str, object]]) -> dict[str, tuple[object, object]]:
    """(SHA-256, size) of each file of a manifest's entries, by path."""
    return {path: (entry.get("sha256"), entry.get("bytes")) for path, entry in entries.items()
            if isinstance(entry, dict)}


def read_manifest(out_dir: Path) -> dict[str, dict[str, object]] | None:
    """The previous manifest's entries by path; {} when there is none, None if unreadable."""
    path = out_dir / MANIFEST
    try:
        document = json.loads(path.read_bytes())
        return {str(entry["path"]): entry for entry in document["artifacts"]}
    except FileNotFoundError:
        return {}
    except (ValueError, KeyError, TypeError):
        return None
