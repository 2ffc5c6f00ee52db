"""event-data.jsonl: each cached event in full, by its entry key, read only when asked for.

Apart from the records (events.jsonl) because a rebuild needs an unchanged event's facts,
VEVENT and web share, and seldom the event itself: parsing every event's JSON was most of
what reading the cache cost. A line is `records.line({"key": ..., "event": ...})`; the file
is read and split into lines once, when the first event is asked for, and only that
event's line is opened. A missing or damaged line is a miss, never an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pipeline.cache import codec, records
from pipeline.cache.place import read_private, write_private
from pipeline.cache.version import code_version
from pipeline.model import Event

DATA = "event-data.jsonl"
MAX_DATA_BYTES = 1 << 32
KEY_END = 66  # sort_keys puts "key" last: a line ends with `"key":"<64 hex>"}`


def data_line(key: str, event: Event) -> bytes:
    """The line that keeps `event` under its entry key (TypeError if the codec refuses it)."""
    return records.line(code_version(), {"event": codec.encode(event), "key": key})


class EventData:
    """The events kept in a cache folder, and the lines of those parsed in this run."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._new: dict[str, bytes] = {}
        self._stored: dict[str, bytes] | None = None  # key -> line, once read

    def add(self, key: str, line: bytes) -> None:
        """Keep the line of an event parsed in this run."""
        self._new[key] = line

    def event(self, key: str) -> Event | None:
        """The event kept under `key`, or None when it is not there or cannot be read."""
        line = self._new.get(key) or self._lines().get(key)
        value = records.open_line(code_version(), line.rstrip(b"\n")) if line else None
        if not isinstance(value, dict) or value.get("key") != key:
            return None
        try:
            event = codec.decode(value["event"])
        except Exception:  # a sealed but unreadable line is only a miss
            return None
        return event if isinstance(event, Event) else None

    def save(self, keys: Iterable[str], changed: bool) -> None:
        """Keep the events of `keys` (those of a record); `changed`: the set of keys moved."""
        if self.directory is None or not (changed or self._new):
            return
        kept = [self._new.get(key) or self._lines().get(key) for key in sorted(set(keys))]
        write_private(self.directory / DATA, b"".join(line for line in kept if line))

    def _lines(self) -> dict[str, bytes]:
        if self._stored is None:
            self._stored = {}
            found = read_private(self.directory / DATA, MAX_DATA_BYTES) if self.directory else None
            for line in found[0].splitlines(keepends=True) if found else ():
                if line.endswith(b'"}\n') and len(line) > KEY_END + 1:
                    self._stored[line[-KEY_END - 1:-3].decode("ascii", "replace")] = line
        return self._stored
