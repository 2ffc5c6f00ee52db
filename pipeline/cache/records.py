"""The cache's file format: JSON lines, each authenticated by a SHA-256 under the code version.

Line 1 is a header, every other line one record; each line is `<sha256 hex> <JSON>`, the
hash being of the code version and the JSON text. A line whose hash does not match (a
damaged, truncated or edited line, or one written by other code) is dropped alone: a miss,
never an error. JSON builds only dicts, lists, strings and numbers: loading runs no code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any


def sha256_hex(data: bytes | memoryview) -> str:
    """The SHA-256 of `data`, in hex: what headers hold of the bytes they vouch for."""
    return hashlib.sha256(data).hexdigest()


def _seal(version: str, text: bytes) -> bytes:
    return hashlib.sha256(version.encode() + b"\n" + text).hexdigest().encode()


def line(version: str, value: Any) -> bytes:
    """One sealed line (with its newline) holding `value`."""
    # ensure_ascii: a line's bytes never hold a raw line break or invalid UTF-8.
    text = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    return _seal(version, text) + b" " + text + b"\n"


def dump(version: str, header: dict[str, Any], records: Iterable[Any | bytes]) -> bytes:
    """The file: the header line, then one line per record (bytes: a line read unchanged,
    as `load` gave it, without its newline)."""
    parts = [line(version, header)]
    for value in records:
        if isinstance(value, bytes):
            parts += (value, b"\n")  # no `value + b"\n"`: 100k lines would be copied again
        else:
            parts.append(line(version, value))
    return b"".join(parts)


def load(version: str, data: bytes) -> tuple[dict[str, Any], Iterator[tuple[Any, bytes]]] | None:
    """The header, and each record whose seal holds with its line (without its newline: give
    it back to `dump` as it is); None if the header's fails."""
    lines = data.split(b"\n")
    lines.pop()  # after the last newline: empty, or a truncated line (dropped)
    if not lines:
        return None
    header = open_line(version, lines[0])
    if not isinstance(header, dict):
        return None
    values = ((open_line(version, text), text) for text in lines[1:])
    return header, ((value, text) for value, text in values if value is not None)


def open_line(version: str, line: bytes) -> Any:
    """The record on `line`, or None when its seal or its JSON is wrong."""
    seal, _, text = line.partition(b" ")
    if len(seal) != 64 or seal != _seal(version, text):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None
