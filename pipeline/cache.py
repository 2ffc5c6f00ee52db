"""The build's cache: parsed events and their VEVENT bytes, addressed by what they depend on.

An entry's key hashes the code (every module of this package and the library versions),
the settings, the file's path as shown and its bytes; so an unchanged hourly cron
run neither parses nor serializes anything, and any change misses exactly the entries it
must. It lives in `.pipeline-cache/` beside the publish root (never inside it). Files are
loaded in parallel on a cold build. Anything wrong with the cache is a miss, never an error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import os
import pickle
import sys
import tempfile
from functools import cache
from pathlib import Path

from pipeline.errors import Problem, display_path
from pipeline.model import Event
from pipeline.sources.events import load_event
from pipeline.sources.settings import Settings
from pipeline.sources.yamlsource import MAX_FILE_BYTES

CACHE_DIR = ".pipeline-cache"
PACK = "events.pickle"
FORMAT = 2
PACK_CHUNK = 500  # entries per pickle in the pack
PARALLEL_FROM = 400  # below this many misses, starting workers costs more than it saves

Entry = tuple[Event, bytes]  # the parsed event and its serialized VEVENT


def cache_dir_for(out_dir: Path) -> Path:
    """`.pipeline-cache/` beside the publish root: out of the manifest and of the web server."""
    return out_dir.resolve().parent / CACHE_DIR


@cache
def code_version() -> str:
    """A hash of this package's source and of the libraries whose output we cache."""
    import dateutil
    import icalendar
    import yaml

    digest = hashlib.sha256(f"{FORMAT}|{sys.version}|{icalendar.__version__}|{yaml.__version__}|"
                            f"{dateutil.__version__}".encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


class EventCache:
    """Loads event files through the cache; `vevents` then holds every event's VEVENT bytes."""

    def __init__(self, directory: Path, now: dt.datetime) -> None:
        self.directory = directory
        self.now = now
        self.vevents: dict[str, bytes] = {}
        self.zones: dict[tuple, bytes] = {}  # calendar's VTIMEZONE memo: (zone, span) -> bytes
        self.hits = 0
        self.misses = 0
        self._entries: dict[str, Entry] = {}
        self._stored: dict = {}

    def load(self, paths: list[Path], settings: Settings, problems: list[Problem],
             ) -> list[Event | None]:
        """`loading.load_files` with the cache: hits are reused, misses parsed (in parallel)."""
        from pipeline.calendar.feeds import vevent_bytes

        self._stored = self._read()
        stored = self._stored.get("entries", {})
        self.zones = dict(self._stored.get("zones", {}))
        context = _context(settings, vevent_bytes(_PROBE, settings))
        shown = _ShownPaths()
        files = [(path, shown(path)) for path in paths]
        if stored:
            keys = [_key(context, path, name) for path, name in files]
            missing = [i for i, key in enumerate(keys) if key is None or key not in stored]
        else:  # a cold build: every file misses, and the workers hash them as they parse
            keys, missing = [None] * len(paths), list(range(len(paths)))
        parsed: dict[int, Entry | None] = {}
        for i, (key, entry) in zip(missing, _parse([files[i] for i in missing], settings,
                                                   context, problems), strict=True):
            keys[i], parsed[i] = key, entry
        events: list[Event | None] = []
        kept: dict[str, Entry] = {}
        for i, key in enumerate(keys):
            entry = parsed[i] if i in parsed else stored[key]  # type: ignore[index]
            if entry is None:
                events.append(None)
                continue
            if key is not None:
                kept[key] = entry
            self.vevents.setdefault(entry[0].id, entry[1])
            events.append(entry[0])
        self.hits, self.misses = len(paths) - len(missing), len(missing)
        self._entries = kept
        return events

    def save(self) -> None:
        """Keep this build's entries (those of edited, renamed or deleted files go) and zones."""
        stored = self._stored
        if stored.get("entries", {}).keys() == self._entries.keys() and stored.get(
                "zones", {}).keys() == self.zones.keys():
            return  # an unchanged run writes nothing
        self._write({"code": code_version(), "entries": self._entries, "zones": self.zones})

    def _read(self) -> dict:
        try:
            with open(self.directory / PACK, "rb") as handle:
                header = pickle.load(handle)
                if header["code"] == code_version():
                    entries: dict[str, Entry] = {}
                    while len(entries) < header["count"]:
                        entries.update(pickle.load(handle))
                    return {**header, "entries": entries}
        except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError, ImportError,
                pickle.UnpicklingError):
            pass  # missing, damaged or written by other code: only a miss
        return {}

    def _write(self, pack: dict) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.directory, prefix=f".{PACK}.")
            with os.fdopen(fd, "wb") as handle:
                entries = pack.pop("entries")
                pickle.dump({**pack, "count": len(entries)}, handle, pickle.HIGHEST_PROTOCOL)
                # One pickle per chunk of entries: a single dump of 100k events kept a memo of
                # every object in it (hundreds of MB at the build's peak).
                items = list(entries.items())
                for start in range(0, len(items), PACK_CHUNK):
                    pickle.dump(dict(items[start:start + PACK_CHUNK]), handle,
                                pickle.HIGHEST_PROTOCOL)
            os.replace(temp, self.directory / PACK)  # readers see the old pack or the new one
        except OSError:
            pass  # a read-only or full disk: the build still publishes, the next one re-parses


# An event whose VEVENT shows whether settings change what serializing writes (the stamps
# are not in the cached bytes: render_calendars adds them from the publication ledger).
_PROBE = Event(id="probe", title="probe", kind="meetup", start=dt.date(2000, 1, 1),
               end=dt.date(2000, 1, 1))


def _context(settings: Settings, probe: bytes) -> bytes:
    """What every entry depends on besides its file: code, settings and the probe's VEVENT."""
    return f"{code_version()}|{settings!r}|".encode() + probe


class _ShownPaths:
    """display_path() of many files, computed once per folder (relpath costs ~40 us a call)."""

    def __init__(self) -> None:
        self.folders: dict[Path, str] = {}

    def __call__(self, path: Path) -> str:
        folder = self.folders.get(path.parent)
        if folder is None:
            folder = self.folders[path.parent] = display_path(path.parent)
        return path.name if folder == "." else os.path.join(folder, path.name)


def _key(context: bytes, path: Path, shown: str) -> str | None:
    """The entry of one file: its shown path and bytes under `context`; None = do not cache."""
    try:
        fd = os.open(path, os.O_RDONLY)  # no buffered file object: 10k files per run
        try:
            data = os.read(fd, MAX_FILE_BYTES + 1)
        finally:
            os.close(fd)
    except OSError:
        return None
    if len(data) > MAX_FILE_BYTES:
        return None  # load_event reports it
    digest = hashlib.sha256(context)
    digest.update(b"\0" + shown.encode() + b"\0" + data)
    return digest.hexdigest()


def _parse(files: list[tuple[Path, str]], settings: Settings, context: bytes,
           problems: list[Problem]) -> list[tuple[str | None, Entry | None]]:
    """Key, parse and serialize (path, shown path) pairs, on every core when there are many."""
    workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                  else os.cpu_count() or 1, 8)
    if len(files) < PARALLEL_FROM or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        results = _parse_chunk(files, settings, context)
    else:
        # fork: workers start in milliseconds with every module already imported.
        size = -(-len(files) // (workers * 4))
        chunks = [files[i:i + size] for i in range(0, len(files), size)]
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = [item for chunk in pool.starmap(
                _parse_chunk, [(chunk, settings, context) for chunk in chunks]) for item in chunk]
    entries: list[tuple[str | None, Entry | None]] = []
    for key, entry, found in results:
        problems += found
        entries.append((key, entry))
    return entries


def _parse_chunk(files: list[tuple[Path, str]], settings: Settings, context: bytes,
                 ) -> list[tuple[str | None, Entry | None, list[Problem]]]:
    """Each file's key, its event and VEVENT (or None), and its problems."""
    from pipeline.calendar.feeds import vevent_bytes

    results: list[tuple[str | None, Entry | None, list[Problem]]] = []
    for path, shown in files:
        found: list[Problem] = []
        key = _key(context, path, shown)
        event = load_event(path, settings, found, shown)
        if event is not None:
            # When the series ends is a walk of its occurrences that every build needs: done
            # here, in parallel, it travels (and is cached) with the event. The parsed rule
            # itself is cheap to rebuild and not worth pickling.
            _ = event.ends_at
            event.__dict__.pop("_rule", None)
        results.append((key, (event, vevent_bytes(event, settings)) if event else None, found))
    return results
