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


def _seal(version: str, text: bytes) -> bytes:
    return hashlib.sha256(version.encode() + b"\n" + text).hexdigest().encode()


def dump(version: str, header: dict[str, Any], records: Iterable[Any]) -> bytes:
    """The file: the header line, then one line per record, each sealed."""
    lines = []
    for value in (header, *records):
        # ensure_ascii: a line's bytes never hold a raw line break or invalid UTF-8.
        text = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
        lines.append(_seal(version, text) + b" " + text + b"\n")
    return b"".join(lines)


def load(version: str, data: bytes) -> tuple[dict[str, Any], Iterator[Any]] | None:
    """The header and the records whose seal holds; None when the header's does not."""
    lines = data.split(b"\n")
    lines.pop()  # after the last newline: empty, or a truncated line (dropped)
    values = (_open(version, line) for line in lines)
    header = next(values, None)
    if not isinstance(header, dict):
        return None
    return header, (value for value in values if value is not None)


def _open(version: str, line: bytes) -> Any:
    """The record on `line`, or None when its seal or its JSON is wrong."""
    seal, _, text = line.partition(b" ")
    if len(seal) != 64 or seal != _seal(version, text):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None
