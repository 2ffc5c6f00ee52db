"""fragments.bin: the bytes an event's record points at, appended, never rewritten in place.

A rebuild needs every unchanged event's VEVENT, listing card and events.json item, and
seldom the event itself. Kept inside the records (JSON lines), those bytes were most of
what reading and writing the cache cost: every edit re-read and rewrote them all. Here
they sit as raw bytes in one file that a build only appends to; a record holds where its
bytes are (`Span`: offset, length, CRC-32), read with one pread each. The record's line is
sealed (records.py), so a span is only ever trusted as its sealed record says, and a
damaged span (its CRC), a short file or a foreign file is a miss, never an error.

When less than half of the file is still pointed at, the save writes it anew with the
live spans alone (compaction) and renames it into place: a reader of the old one is safe.
"""

from __future__ import annotations

import os
import stat
import zlib
from collections.abc import Iterable
from pathlib import Path

from pipeline.cache.place import append_private, warn, why_untrusted, write_private

FRAGMENTS = "fragments.bin"
MAX_FRAGMENTS_BYTES = 1 << 36
COMPACT_SLACK = 1 << 20  # below this much dead space a file is never rewritten
READ_GAP = 1 << 16  # read_many reads across a gap this small rather than start another read
READ_RUN = 1 << 23  # and reads at most this much at a time

Span = list[int]  # [offset, length, crc32] in FRAGMENTS


def checksum(data: bytes, running: int = 0) -> int:
    """What a span records of its bytes (`running`: the checksum of the bytes before them):
    damage (a flipped bit, a cut) changes it."""
    return zlib.crc32(data, running)


class Fragments:
    """The fragment file of a cache folder: read spans, then append this build's bytes."""

    def __init__(self, directory: Path | None, fresh: bool = False) -> None:
        """`fresh`: a new file replaces the folder's on `save` (compaction), spans start at 0."""
        self.path = directory / FRAGMENTS if directory is not None else None
        self._fresh = fresh
        self._fd: int | None = None
        self._size = 0
        self._opened = fresh
        self._appended: list[bytes] = []  # this build's bytes, after the file's end
        self._end = 0  # the file's size plus this build's bytes

    def read(self, span: object) -> bytes | None:
        """The bytes of `span` (a record's value); None if they are not there as recorded."""
        return self.read_many([span])[0]

    def read_many(self, spans: list[object]) -> list[bytes | None]:
        """The bytes of each span, None for one not there as recorded: one pread per run of
        nearby spans (a system call costs ~6 us here, and a rebuild reads every unchanged
        event's span)."""
        found: list[bytes | None] = [None] * len(spans)
        fd = self._open() if spans else None  # spans this build added are not read
        if fd is None:
            return found
        wanted = sorted((span[0], span[1], span[2], index) for index, span in enumerate(spans)
                        if type(span) is list and len(span) == 3
                        and all(type(n) is int for n in span) and span[0] >= 0 and span[1] >= 0
                        and span[0] + span[1] <= self._size)
        start = 0
        while start < len(wanted):
            # A run: spans in offset order while the gaps are small and the run is not huge.
            first, end, stop = wanted[start][0], wanted[start][0] + wanted[start][1], start + 1
            while (stop < len(wanted) and wanted[stop][0] - end <= READ_GAP
                   and wanted[stop][0] + wanted[stop][1] - first <= READ_RUN):
                end = max(end, wanted[stop][0] + wanted[stop][1])
                stop += 1
            try:
                block = os.pread(fd, end - first, first)
            except OSError:
                block = b""
            for offset, length, crc, index in wanted[start:stop]:
                data = block[offset - first:offset - first + length]
                if len(data) == length and checksum(data) == crc:
                    found[index] = data
            start = stop
        return found

    def add(self, *pieces: bytes) -> Span:
        """Keep `pieces`, one after another, at the file's end (written by `save`, not joined:
        see place.write_all); where their bytes will be, as one span."""
        if not self._opened:
            self._open()
        crc = 0
        for piece in pieces:
            crc = checksum(piece, crc)
        length = sum(map(len, pieces))
        self._appended += pieces
        span = [self._end, length, crc]
        self._end += length
        return span

    def live_share(self, spans: Iterable[Span]) -> float:
        """How much of the file (after this build's appends) `spans` point at, 0 to 1."""
        live = sum(span[1] for span in spans)
        return 1.0 if self._end <= COMPACT_SLACK else live / self._end

    def save(self) -> bool:
        """Append this build's bytes; False (nothing trustworthy written) if that failed."""
        if self.path is None:
            return False
        if self._fresh:  # readers of the old file keep it: a rename, not a truncation
            if write_private(self.path, self._appended) is None:
                return False
            self.close()  # later reads open the new file
            self._fresh, self._appended = False, []
            return True
        if not self._appended:
            return True
        if not append_private(self.path, self._appended, self._size, create=True):
            return False
        self.close()  # later reads open the file again, as it now is
        self._appended = []
        return True

    def close(self) -> None:
        """Let go of the file descriptor (reads after this open the file again)."""
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._opened = None, False

    def _open(self) -> int | None:
        """The read descriptor of a private, regular file (None: absent or refused)."""
        if self._opened:
            return self._fd
        self._opened = True
        if self.path is None:
            return None
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as error:
            if not isinstance(error, FileNotFoundError):
                warn(self.path, f"it cannot be opened ({error.strerror})")
            return None
        info = os.fstat(fd)
        reason = why_untrusted(info) or (None if stat.S_ISREG(info.st_mode) else "not a file")
        if reason or info.st_size > MAX_FRAGMENTS_BYTES:
            if reason:
                warn(self.path, reason)
            os.close(fd)
            return None
        self._fd, self._size, self._end = fd, info.st_size, info.st_size
        return fd
