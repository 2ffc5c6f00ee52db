"""The last build's record: its inputs' stats, its `now` window, what it published; a no-op stops.

A build whose every input file (event, issue, settings and template files) has the stat
signature recorded by the last successful build, at a `now` at or after that build's and
before the next instant an event ends (when upcoming.ics and the feeds would change), and
whose publish root still holds the manifest and ledger that build published (same SHA-256,
no journal of an interrupted publish), would publish the same bytes: it stops after these
stats, without parsing, rendering or comparing anything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import os
import stat
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

from pipeline.cache import records
from pipeline.cache.place import file_system_clock, private_folder, read_private, write_private
from pipeline.cache.version import code_version
from pipeline.sources.site import SETTINGS_FILE, packaged

RUN = "run.jsonl"
YAML = (".yaml", ".yml")  # the files `sources.events.yaml_files` reads
SIGNATURE = struct.Struct("<QqQq")  # size, mtime_ns, inode, ctime_ns, as _pack packs them
ABSENT = (0, -1, 0, -1)  # the digest's signature of a missing settings file


@dataclass(slots=True)
class RunInputs:
    """Everything a build's output depends on besides the code, `now` and the publish root."""

    arguments: dict[str, str | None]  # absolute folders and files the build was given
    files: dict[str, list[int] | None]  # path -> [size, mtime_ns, inode, ctime_ns]; None: absent
    clock_ns: int  # the file system's clock when the stats were taken (racy-timestamp rule)
    packed: bytes = b""  # every signature of `files`, in its order, as _pack packs it
    event_files: int = 0  # the first this many of `files` are the event files
    event_bytes: int = 0  # ... and the first this many bytes of `packed` their signatures
    _digest: str = ""  # digest(), made once: the no-op check and the run's record both ask

    @classmethod
    def of(cls, events_dir: Path, newsletters_dir: Path, config: Path | None, out_dir: Path,
           cache_dir: Path | None, site: Path | None = None) -> RunInputs:
        """The stats of every input, taken before anything is read.

        Inputs: event and issue files, the settings file (or where a new one would appear),
        the site's own templates/ and the packaged theme (an upgrade changes it).
        """
        clock = 0
        if cache_dir is not None and private_folder(cache_dir, create=True):
            clock = file_system_clock(cache_dir)
        root = site if site is not None else Path(".")
        settings = config or root / SETTINGS_FILE
        files: dict[str, list[int] | None] = {}
        packed = bytearray()
        _tree(events_dir, YAML, files, packed)
        event_files, event_bytes = len(files), len(packed)
        _tree(newsletters_dir, YAML, files, packed)
        found = files[os.fspath(settings)] = _stat(settings)
        _pack(packed, found or ABSENT)
        _tree(root / "templates", None, files, packed)
        _tree(packaged("templates"), None, files, packed)
        arguments = {"cwd": os.getcwd(), "events": os.path.abspath(events_dir),
                     "newsletters": os.path.abspath(newsletters_dir),
                     "config": os.path.abspath(config) if config else None,
                     "out": os.path.abspath(out_dir)}
        return cls(arguments, files, clock, bytes(packed), event_files, event_bytes)

    def digest(self) -> str:
        """A SHA-256 of every input's path and stat: the run record keeps this, not the stats
        (at 100k files they were 10 MB of JSON that every no-op read and compared).

        In the order the folders list their files: an unchanged folder lists them in the same
        order. A file system that does not would cost a rebuild, never a wrong output.
        """
        if not self._digest:  # not json.dumps of the stats: 0.4 s at 100k files
            self._digest = _sha256_of_stats(self.files, self.packed)
        return self._digest

    def others_digest(self) -> str:
        """digest() of every input but the event files: a delta rebuild needs it unchanged."""
        return _sha256_of_stats(list(self.files)[self.event_files:],
                                self.packed[self.event_bytes:])

    def event_stats(self) -> dict[str, list[int] | None]:
        """The signature of each event file, by path."""
        return dict(itertools.islice(self.files.items(), self.event_files))

    def newest_ns(self, others_only: bool = False) -> int:
        """The latest mtime or ctime of an input, or (`others_only`) of one that is not an
        event file (the racy-timestamp rule compares it)."""
        values = self.files.values()
        if others_only:
            values = list(values)[self.event_files:]
        found = [stats for stats in values if stats]
        return max(max(map(itemgetter(1), found), default=0),
                   max(map(itemgetter(3), found), default=0))


def _sha256_of_stats(paths: Iterable[str], packed: bytes) -> str:
    """The hex SHA-256 of these paths (in order) and their packed signatures."""
    digest = hashlib.sha256("\0".join(paths).encode("utf-8", "surrogateescape"))
    digest.update(packed)
    return digest.hexdigest()


def _tree(folder: Path, suffixes: tuple[str, ...] | None, found: dict[str, list[int] | None],
          packed: bytearray) -> None:
    """Add the stat signature of each regular file below `folder` (named with one of
    `suffixes`, not a dot-file) to `found` and `packed`, skipping dot-folders as the loaders
    do: one stat per file.

    os.scandir, not os.walk: the entry's path is joined and its stat taken in C (100k files).
    """
    folders = [os.fspath(folder)]
    while folders:
        try:
            entries = list(os.scandir(folders.pop()))
        except OSError:
            continue  # missing, or not a folder: os.walk skipped it the same way
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):  # symlinked folders are not entered
                if not entry.name.startswith("."):
                    folders.append(entry.path)
            elif suffixes is None or (entry.name.endswith(suffixes)
                                      and not entry.name.startswith(".")):
                try:
                    info = entry.stat()  # follows a symlink, as _stat does
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode):
                    signature = [info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns]
                    found[entry.path] = signature
                    _pack(packed, signature)


def _pack(packed: bytearray, signature: list[int] | tuple[int, ...]) -> None:
    """Add a stat signature to `packed`: 32 bytes, or its text between 0xff bytes for a time
    past the year 2262 (a nanosecond count past 64 bits; `touch -d 2500-01-01` makes one)."""
    try:
        packed += SIGNATURE.pack(*signature)
    except struct.error:
        packed += b"\xff" + repr(signature).encode() + b"\xff"


def _stat(path: str | Path) -> list[int] | None:
    """[size, mtime_ns, inode, ctime_ns] of a regular file (symlinks followed); None if none."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return [info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns]


def _sha256_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _as_published(path: Path, digest: str, signature: object) -> bool:
    """True when the file is still the one the last build published (SHA-256 `digest`).

    The publish step replaces these files by a rename, never in place: a new inode and
    ctime each time. So the stat recorded right after the publish, if it is still the
    file's, says it is unchanged without reading it (a 100k site's manifest is 44 MB);
    otherwise its bytes are hashed.
    """
    found = _stat(path)
    return (found is not None and found == signature) or _sha256_of(path) == digest


def unchanged_run(inputs: RunInputs, now: dt.datetime, out_dir: Path, ledger_file: str,
                  journal_file: str, manifest_file: str, cache_dir: Path | None,
                  ) -> dict[str, Any] | None:
    """The last build's record when this build would publish the same bytes; else None."""
    record = last_run(inputs, now, out_dir, ledger_file, journal_file, manifest_file, cache_dir)
    if record is None or record["files"] != inputs.digest():
        return None
    if inputs.newest_ns() >= record["clock_ns"]:
        return None  # too recent to trust a stat (racy-timestamp rule)
    return record


def last_run(inputs: RunInputs, now: dt.datetime, out_dir: Path, ledger_file: str,
             journal_file: str, manifest_file: str, cache_dir: Path | None,
             ) -> dict[str, Any] | None:
    """The last build's record when its publish root, arguments and `now` window still hold
    (whatever its input files are now); else None."""
    if cache_dir is None or inputs.clock_ns == 0:
        return None
    found = read_private(cache_dir / RUN, 1 << 30)
    loaded = records.load(code_version(), found[0]) if found else None
    if loaded is None:
        return None
    record, _ = loaded
    try:
        since = dt.datetime.fromisoformat(record["now"])
        until = record["next_change"] and dt.datetime.fromisoformat(record["next_change"])
        if record["arguments"] != inputs.arguments or not since <= now or (until and now >= until):
            return None
        if type(record["files"]) is not str or type(record["clock_ns"]) is not int:
            return None
        if os.path.lexists(out_dir / journal_file):
            return None  # an interrupted publish: the full build repairs it
        for name, key in ((manifest_file, "manifest"), (ledger_file, "ledger")):
            if not _as_published(out_dir / name, record[key], record.get(f"{key}_stat")):
                return None  # another build published since, or the files were touched
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return record


def remember_run(inputs: RunInputs, now: dt.datetime, next_change: dt.datetime | None,
                 manifest_sha256: str, ledger: bytes, summary: str, files: int,
                 cache_dir: Path | None, out_dir: Path, manifest_file: str,
                 ledger_file: str, snapshot: str = "") -> None:
    """Record a successful build for the next one (nothing when there is no private cache).

    The stats of the manifest and ledger it published let the next build's check
    (`unchanged_run`) know them unchanged without reading them. `snapshot`: the seal of the
    snapshot this build wrote (cache/snapshot.py), which a delta rebuild starts from.
    """
    if cache_dir is None or inputs.clock_ns == 0 or not manifest_sha256:
        return
    record = {"arguments": inputs.arguments, "files": inputs.digest(), "clock_ns": inputs.clock_ns,
              "now": now.isoformat(), "next_change": next_change and next_change.isoformat(),
              "manifest": manifest_sha256, "ledger": hashlib.sha256(ledger).hexdigest(),
              "manifest_stat": _stat(out_dir / manifest_file),
              "ledger_stat": _stat(out_dir / ledger_file), "summary": summary, "count": files,
              "others": inputs.others_digest(), "snapshot": snapshot}
    write_private(cache_dir / RUN, records.dump(code_version(), record, []))
