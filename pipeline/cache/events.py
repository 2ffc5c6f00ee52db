"""Parsed events and their VEVENT bytes across builds, found by a stat of each file.

An event file whose stat (size, mtime_ns, inode, ctime_ns) is the one recorded, and was
older than the run that recorded it (git's racy-timestamp rule), is not read again; any
other file is read and hashed. The entry's key is a SHA-256 of the code version, the
settings, the file's path as shown and its content hash, so any change misses exactly the
entries it must. Misses are parsed on every core when there are many. Anything wrong with
the cache is a miss, never an error (pipeline/cache/records.py, place.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.cache import codec, records
from pipeline.cache.eventdata import EventData, data_line
from pipeline.cache.place import private_folder, read_private, write_private
from pipeline.cache.shares import decode_facts, decode_web, encode_facts, encode_web, web_key
from pipeline.cache.version import code_version
from pipeline.errors import InvalidInput, Problem, display_path
from pipeline.model import Event, EventFacts
from pipeline.parallel import fork_map
from pipeline.sources.events import load_event
from pipeline.sources.settings import Settings
from pipeline.sources.yamlsource import MAX_FILE_BYTES
from pipeline.web.rendered import EventWeb
from pipeline.web.theme import fingerprint

PACK = "events.jsonl"
MAX_PACK_BYTES = 1 << 31  # a bigger file is not ours (100k events: about 300 MB)
PARALLEL_FROM = 400  # below this many misses, starting workers costs more than it saves

Signature = list[int]  # size, mtime_ns, inode, ctime_ns


class EventCache:
    """Loads event files through the cache: facts of each, VEVENT bytes, web shares, events.

    An unchanged file gives its facts, VEVENT and web share from its record; its Event is
    decoded only when asked for (`event`).
    """

    def __init__(self, directory: Path | None, now: dt.datetime) -> None:
        self.directory = directory
        self.now = now
        self.vevents: dict[str, bytes] = {}
        self.web: dict[str, EventWeb] = {}  # event id -> its pages' share (pipeline/web/rendered.py)
        self.zones: dict[tuple, bytes] = {}  # calendar's VTIMEZONE memo: (zone, span) -> bytes
        self.hits = 0
        self.misses = 0
        self._files: dict[str, dict[str, Any]] = {}  # shown path -> record, for the next run
        self._stored: dict[str, dict[str, Any]] = {}
        self._zones_read: set[tuple] = set()
        self._lines: dict[str, bytes] = {}  # shown path -> its sealed line as read
        self._ids: dict[str, str] = {}  # shown path -> the id of its event
        self._events: dict[str, Event] = {}  # event id -> its Event, once parsed or decoded
        self._found: dict[str, tuple[Path, str, EventFacts]] = {}  # event id -> file, facts
        self._settings: Settings | None = None
        self._data = EventData(None)  # the events in full, read on demand (cache/eventdata.py)
        self._web_context = b""
        self._started = 0
        self._usable = False

    @property
    def usable(self) -> bool:
        """True once loading found (or made) a private cache folder to read and write."""
        return self._usable

    def load_facts(self, paths: list[Path], settings: Settings, problems: list[Problem],
                   ) -> list[EventFacts | None]:
        """`sources.events.load_files` with the cache, as facts: each file's EventFacts (None:
        it has problems). Hits are reused, misses parsed (in parallel); see `event`."""
        from pipeline.calendar.feeds import vevent_bytes

        self._usable = self.directory is not None and private_folder(self.directory, create=True)
        self._started = _file_system_clock(self.directory) if self._usable else 0
        stored, trusted_before = self._read() if self._usable else ({}, 0)
        self._data = EventData(self.directory if self._usable else None)
        context = _context(settings, vevent_bytes(_PROBE, settings))
        self._settings = settings
        self._web_context = context + b"|" + fingerprint(settings.site).encode()
        shown = _ShownPaths()
        files = [(path, shown(path)) for path in paths]
        found: dict[int, Parsed] = {}
        if stored:
            for i, (path, name) in enumerate(files):
                hit = _hit(stored.get(name), path, context, name, trusted_before)
                if hit is not None:
                    found[i] = hit
        missing = [i for i in range(len(files)) if i not in found]
        for i, result in zip(missing, _parse([files[i] for i in missing], settings, context,
                                             problems), strict=True):
            if result is not None:
                found[i] = result
        listed: list[EventFacts | None] = []
        for i, (path, name) in enumerate(files):
            if i not in found:
                listed.append(None)
                continue
            record, facts, event, vevent, data = found[i]
            if data is not None:
                self._data.add(record["key"], data)
            if record:
                self._files[name] = record
                self._ids[name] = facts.id
                share = decode_web(record.get("web"), web_key(self._web_context, record["key"]))
                if share is not None:
                    self.web.setdefault(facts.id, share)
            if facts.id not in self._found:  # a second file with an id is reported by the caller
                self._found[facts.id] = (path, name, facts)
                self.vevents[facts.id] = vevent
                if event is not None:
                    self._events[facts.id] = event
            listed.append(facts)
        self.hits, self.misses = len(paths) - len(missing), len(missing)
        self._stored = stored
        return listed

    def event(self, event_id: str) -> Event:
        """The Event of a file `load_facts` listed: parsed this run, or decoded from its record."""
        event = self._events.get(event_id)
        if event is None:
            path, name, facts = self._found[event_id]
            record = self._files.get(name)
            event = _decode_event(self._data.event(record["key"]) if record else None, facts)
            if event is None:  # sealed yet unreadable: read the file (its stat is unchanged)
                assert self._settings is not None
                problems: list[Problem] = []
                event = load_event(path, self._settings, problems, name)
                if event is None:
                    raise InvalidInput(problems)
            self._events[event_id] = event
        return event

    def key_of(self, event_id: str) -> str | None:
        """The cache key of the event's file (its content under the code and settings)."""
        found = self._found.get(event_id)
        record = self._files.get(found[1]) if found else None
        return record.get("key") if record else None

    def save(self, web: Mapping[str, EventWeb] | None = None) -> None:
        """Keep this build's records (those of edited, renamed or deleted files go), zones and
        each event's web share (`web`, by event id: what build_pages returned)."""
        if not self._usable or self.directory is None:
            return
        for name, record in list(self._files.items()):
            share = (web or {}).get(self._ids.get(name, ""))
            if share is not None and share is not self.web.get(self._ids[name]):
                key = web_key(self._web_context, record["key"])
                self._files[name] = {**record, "web": encode_web(share, key)}
        keys = [record["key"] for record in self._files.values()]
        self._data.save(keys, changed=set(keys) != {r.get("key") for r in self._stored.values()})
        same = [name for name, record in self._files.items() if record is self._stored.get(name)]
        if len(same) == len(self._files) == len(self._stored) and self._zones_read == set(self.zones):
            return  # an unchanged run writes nothing
        zones = []
        for (name, first, last), text in sorted(self.zones.items(), key=repr):
            try:
                zones.append({"zone": name, "first": codec.encode(first),
                              "last": codec.encode(last), "text": text.decode("utf-8")})
            except (TypeError, UnicodeDecodeError):
                continue  # not cacheable: computed again next time
        header = {"kind": "events", "started_ns": self._started}
        # An unchanged record keeps its line as read: an edit re-encodes one record, not all.
        data = records.dump(code_version(), header, [*zones, *(
            self._lines[name] if self._files[name] is self._stored.get(name) else self._files[name]
            for name in sorted(self._files))])
        write_private(self.directory / PACK, data)

    def _read(self) -> tuple[dict[str, dict[str, Any]], int]:
        """Records by shown path, and the instant before which recorded stats may be trusted."""
        assert self.directory is not None
        found = read_private(self.directory / PACK, MAX_PACK_BYTES)
        loaded = records.load(code_version(), found[0]) if found else None
        if loaded is None:
            return {}, 0  # missing, damaged header or written by other code: all misses
        header, values = loaded
        by_path: dict[str, dict[str, Any]] = {}
        for value, line in values:
            if not isinstance(value, dict):
                continue
            if "zone" in value:
                try:
                    key = (str(value["zone"]), codec.decode(value["first"]),
                           codec.decode(value["last"]))
                    self.zones[key] = str(value["text"]).encode("utf-8")
                    self._zones_read.add(key)
                except Exception:  # any malformed record is only a miss
                    continue
            elif isinstance(value.get("path"), str):
                by_path[value["path"]] = value
                self._lines[value["path"]] = line
        started = header.get("started_ns")
        return by_path, started if type(started) is int else 0


def _file_system_clock(directory: Path | None) -> int:
    """The file system's time now (what an mtime written now would say), as ns; 0 if unknown."""
    if directory is None:
        return 0
    try:
        os.utime(directory)  # touches the cache folder: the same clock as the inputs' mtimes
        return os.stat(directory).st_mtime_ns
    except OSError:
        return 0


def _signature(info: os.stat_result) -> Signature:
    return [info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns]


def _fingerprint(path: Path, record: dict[str, Any] | None, trusted_before: int,
                 ) -> tuple[Signature, str] | None:
    """The file's stat signature and content hash; the hash is read only when stat changed."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    signature = _signature(info)
    if (record is not None and record.get("stat") == signature
            and info.st_mtime_ns < trusted_before and info.st_ctime_ns < trusted_before
            and isinstance(record.get("digest"), str)):
        return signature, record["digest"]  # racily clean files (mtime >= that) are read
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
    return signature, hashlib.sha256(data).hexdigest()


def _key(context: bytes, shown: str, digest: str) -> str:
    """The entry of one file: its shown path and content hash under `context`."""
    return hashlib.sha256(context + b"\0" + shown.encode() + b"\0" + digest.encode()).hexdigest()


def _hit(record: dict[str, Any] | None, path: Path, context: bytes, shown: str,
         trusted_before: int) -> Parsed | None:
    """The record, facts and VEVENT of an unchanged file, or None (a miss, whatever is wrong)."""
    if record is None:
        return None
    fingerprint = _fingerprint(path, record, trusted_before)
    if fingerprint is None:
        return None
    signature, digest = fingerprint
    key = _key(context, shown, digest)
    if record.get("key") != key:
        return None
    try:
        facts = decode_facts(record["facts"])
        if facts.source != shown:
            return None
        vevent = str(record["vevent"]).encode("utf-8")
    except Exception:  # a sealed but unreadable record is still only a miss
        return None
    if record["stat"] != signature:
        record = {**record, "stat": signature, "digest": digest}
    return record, facts, None, vevent, None  # the same record: its line is written as read


def _decode_event(event: Event | None, facts: EventFacts) -> Event | None:
    """The event kept with these facts, given its cached properties; None if it is not theirs."""
    if event is None or event.id != facts.id or event.source != facts.source:
        return None
    # cached_properties, computed when the file was parsed: a series' end is a walk of it.
    event.__dict__["ends_at"] = facts.ends_at
    event.__dict__["facts"] = facts
    return event


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


# A file's next record ({}: not to be cached), facts, Event (None: not decoded), VEVENT and
# the line keeping the event (cache/eventdata.py; None: kept already, or not cacheable).
Parsed = tuple[dict[str, Any], EventFacts, Event | None, bytes, bytes | None]


def _parse(files: list[tuple[Path, str]], settings: Settings, context: bytes,
           problems: list[Problem]) -> list[Parsed | None]:
    """Parse and serialize (path, shown path) pairs, on every core when there are many."""
    results = fork_map(lambda file: _parse_one(file, settings, context), files, PARALLEL_FROM)
    entries: list[Parsed | None] = []
    for entry, found in results:
        problems += found
        entries.append(entry)
    return entries


def _parse_one(file: tuple[Path, str], settings: Settings, context: bytes,
               ) -> tuple[Parsed | None, list[Problem]]:
    """One file's record and entry (or None), and its problems."""
    from pipeline.calendar.feeds import vevent_bytes

    path, shown = file
    found: list[Problem] = []
    fingerprint = _fingerprint(path, None, 0)  # before parsing: a later edit shows in stat
    event = load_event(path, settings, found, shown)
    if event is None:
        return None, found
    # When the series ends is a walk of its occurrences that every build needs: done
    # here, in parallel, it travels (and is cached) with the event, in its facts.
    facts = event.facts
    event.__dict__.pop("_rule", None)
    vevent = vevent_bytes(event, settings)
    record: dict[str, Any] = {}
    data = None
    if fingerprint is not None and not found:
        try:  # files with problems are never cached, so they are reported on every run
            signature, digest = fingerprint
            key = _key(context, shown, digest)
            data = data_line(key, event)
            record = {"path": shown, "stat": signature, "digest": digest, "key": key,
                      "facts": encode_facts(facts), "vevent": vevent.decode("utf-8")}
        except (TypeError, UnicodeDecodeError):
            record, data = {}, None
    return (record, facts, event, vevent, data), found
