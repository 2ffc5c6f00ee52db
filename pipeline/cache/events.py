"""Parsed events and their VEVENT bytes across builds, found by a stat of each file.

An unchanged file (cache/files.py: its stat, else its content hash) is not parsed again.
The entry's key is a SHA-256 of the code version, the settings, the file's path as shown
and its content hash, so any change misses exactly the entries it must. Misses are parsed
on every core when there are many. Anything wrong with the cache is a miss, never an error
(pipeline/cache/records.py, fragments.py, place.py).

events.jsonl holds a sealed header (what every entry was made under: the code, settings
and web theme; the VTIMEZONEs; the SHA-256 of the rest), then a JSON array of a small
record per file, one a line (stat, digest, facts, web share's metadata). The bytes
(VEVENT, listing card, events.json item, the event in full) are spans of fragments.bin,
which a build only appends to.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.cache import codec, records
from pipeline.cache.files import ShownPaths, Signature, entry_key, fingerprint
from pipeline.cache.fragments import Fragments, Span
from pipeline.cache.place import file_system_clock, private_folder, read_private, write_private
from pipeline.cache.shares import decode_facts, decode_web, encode_facts, encode_web
from pipeline.cache.version import code_version
from pipeline.calendar.feeds import IcsRecord
from pipeline.errors import InvalidInput, Problem
from pipeline.model import Event, EventFacts
from pipeline.parallel import fork_map
from pipeline.sources.events import load_event
from pipeline.sources.settings import Settings
from pipeline.web.rendered import EventWeb
from pipeline.web.theme import fingerprint as theme_fingerprint

PACK = "events.jsonl"
MAX_PACK_BYTES = 1 << 31  # a bigger file is not ours (100k events: about 60 MB)
PARALLEL_FROM = 400  # below this many misses, starting workers costs more than it saves
LIVE_SHARE = 0.5  # compact fragments.bin when less than this much of it is pointed at
# A record as events.jsonl keeps it (a list), in this order; its key is computed, not kept.
FIELDS = ("path", "stat", "digest", "facts", "frag", "parts", "web", "data", "ics")


class EventCache:
    """Loads event files through the cache: facts of each, VEVENT bytes, web shares, events.

    An unchanged file gives its facts, VEVENT and web share from its record; its Event is
    decoded only when asked for (`event`).
    """

    def __init__(self, directory: Path | None, now: dt.datetime,
                 stats: Mapping[str, Signature | None] | None = None) -> None:
        self.directory = directory
        self.now = now
        self.stats = stats  # this run's stat of each input, by path (cache/run.py's walk)
        self.vevents: dict[str, bytes] = {}
        self.web: dict[str, EventWeb] = {}  # event id -> its pages' share (pipeline/web/rendered.py)
        self.ics: dict[str, IcsRecord] = {}  # event id -> its .ics's record (calendar/feeds.py)
        self.zones: dict[tuple, bytes] = {}  # calendar's VTIMEZONE memo: (zone, span) -> bytes
        self.hits = 0
        self.misses = 0
        self._files: dict[str, dict[str, Any]] = {}  # shown path -> record, for the next run
        self._stored: dict[str, dict[str, Any]] = {}
        self._zones_read: set[tuple] = set()
        self._lines: dict[str, bytes] = {}  # shown path -> its record's line as read
        self._ids: dict[str, str] = {}  # shown path -> the id of its event
        self._events: dict[str, Event] = {}  # event id -> its Event, once parsed or decoded
        self._found: dict[str, tuple[Path, str, EventFacts]] = {}  # event id -> file, facts
        self._new_data: dict[str, bytes] = {}  # shown path -> the line keeping its new event
        self._settings: Settings | None = None
        self._theme = ""  # SHA-256 of what web shares depend on besides the event
        self._web_read = False  # True when the records' web shares were made under it
        self._fragments = Fragments(None)
        self._context = b""
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
        self._started = file_system_clock(self.directory) if self._usable else 0
        context = _context(settings, vevent_bytes(_PROBE, settings))
        self._context, self._settings = context, settings
        self._theme = records.sha256_hex(context + b"|" + theme_fingerprint(settings.site).encode())
        stored, trusted_before = self._read() if self._usable else ({}, 0)
        self._fragments = Fragments(self.directory if self._usable else None)
        shown = ShownPaths()
        files = [(path, shown(path)) for path in paths]
        found: dict[int, Parsed] = {}
        if stored:
            # Stat first, then every unchanged file's bytes in a few reads, then decoding.
            unchanged = [(i, record) for i, (path, name) in enumerate(files)
                         if (record := self._unchanged(stored.get(name), path,
                                                       trusted_before)) is not None]
            frags = self._fragments.read_many([record["frag"] for _, record in unchanged])
            for (i, record), frag in zip(unchanged, frags, strict=True):
                hit = self._hit(record, files[i][1], frag)
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
            if record:
                self._files[name] = record
                self._ids[name] = facts.id
                if data is not None:
                    self._new_data[name] = data
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
            event = _decode_event(self._stored_event(record), facts)
            if event is None:  # sealed yet unreadable: read the file (its stat is unchanged)
                assert self._settings is not None
                problems: list[Problem] = []
                event = load_event(path, self._settings, problems, name)
                if event is None:
                    raise InvalidInput(problems)
            self._events[event_id] = event
        return event

    def file_paths(self) -> dict[str, tuple[str, str | None]]:
        """The file of each event `load_facts` listed (as the build's stat walk names it) and
        its content's SHA-256 (None: not known), by id."""
        return {event_id: (os.fspath(path), self._files.get(name, {}).get("digest"))
                for event_id, (path, name, _) in self._found.items()}

    def forget_events(self) -> None:
        """Let go of the parsed events once nothing renders (`save` needs none of them)."""
        self._events.clear()

    def key_of(self, event_id: str) -> str | None:
        """The cache key of the event's file (its content under the code and settings)."""
        record = self._files.get(self._found[event_id][1]) if event_id in self._found else None
        return self._key(record) if record else None

    def save(self, web: Mapping[str, EventWeb] | None = None,
             ics: Mapping[str, IcsRecord] | None = None) -> None:
        """Keep this build's records (those of edited, renamed or deleted files go), zones,
        each event's web share (`web`, by event id: what build_pages returned) and the record
        of its .ics (`ics`: what assemble_calendars returned)."""
        if not self._usable or self.directory is None:
            return
        web = web or {}
        for name, event_id in self._ids.items():
            made = (ics or {}).get(event_id)
            if made is not None and made != self.ics.get(event_id):
                self._files[name] = {**self._files[name], "ics": list(made)}
        shares = {name: web.get(event_id) or self.web.get(event_id)
                  for name, event_id in self._ids.items()}
        for name, record in list(self._files.items()):
            share = shares[name]
            if name in self._new_data or "frag" not in record or (
                    share is not None and share is not self.web.get(self._ids[name])):
                self._files[name] = self._with_spans(name, record, share)
        spans: list[Span] = [span for record in self._files.values()
                             for span in (record["frag"], record.get("data")) if span]
        appended = (self._fragments.live_share(spans) >= LIVE_SHARE and self._fragments.save())
        if not appended and not self._compact(shares):
            return  # no trustworthy fragments: the old records stand
        if self._files == self._stored and self._zones_read == set(self.zones) and self._web_read:
            return  # an unchanged run writes nothing
        zones = []
        for (name, first, last), text in sorted(self.zones.items(), key=repr):
            try:
                zones.append({"zone": name, "first": codec.encode(first),
                              "last": codec.encode(last), "text": text.decode("utf-8")})
            except (TypeError, UnicodeDecodeError):
                continue  # not cacheable: computed again next time
        # An unchanged record keeps its line as read: an edit encodes one record, not 10k.
        body = b"[" + b",\n".join(
            self._lines[name] if record is self._stored.get(name) else json.dumps(
                [record.get(field) for field in FIELDS], separators=(",", ":")).encode()
            for name, record in sorted(self._files.items())) + b"]"
        header = {"kind": "events", "started_ns": self._started, "zones": zones,
                  "context": self._context.decode(), "theme": self._theme, "body": records.sha256_hex(body)}
        write_private(self.directory / PACK, records.line(code_version(), header) + body)

    def _with_spans(self, name: str, record: dict[str, Any], share: EventWeb | None,
                    ) -> dict[str, Any]:
        """`record` pointing at this build's bytes of its event: appended to the fragments."""
        event_id = self._ids[name]
        vevent = self.vevents[event_id]
        if share is None:
            card, embed, meta = b"", b"", None
        else:
            card, embed = share.card.item, share.embed
            meta = encode_web(share)
        record = {**record, "frag": self._fragments.add(vevent, card, embed),
                  "parts": [len(vevent), len(card)], "web": meta}
        data = self._new_data.get(name)
        if data is not None:
            record["data"] = self._fragments.add(data)
        return record

    def _compact(self, shares: Mapping[str, EventWeb | None]) -> bool:
        """Write fragments.bin anew with the live bytes alone; every record points there."""
        old = self._fragments
        new = Fragments(self.directory, fresh=True)
        for name, record in list(self._files.items()):
            event_id, share = self._ids[name], shares[name]
            frag = old.read(record.get("frag")) if name not in self._new_data else None
            data = self._new_data.get(name) or old.read(record.get("data"))
            pieces = (frag,) if frag is not None else (  # this build's: from their values
                self.vevents[event_id], *((share.card.item, share.embed) if share else ()))
            record = {**record, "frag": new.add(*pieces)}
            if data is not None:
                record["data"] = new.add(data)
            else:
                record.pop("data", None)
            self._files[name] = record
        old.close()
        self._fragments = new
        return new.save()

    def _unchanged(self, record: dict[str, Any] | None, path: Path, trusted_before: int,
                   ) -> dict[str, Any] | None:
        """The record of a file unchanged since (with its stat now); None: a miss."""
        if record is None:
            return None
        found = fingerprint(path, record, trusted_before, self.stats)
        if found is None or found[1] != record.get("digest"):
            return None  # edited
        signature, digest = found
        if record["stat"] != signature:
            record = {**record, "stat": signature, "digest": digest}
        return record

    def _hit(self, record: dict[str, Any], shown: str, frag: bytes | None) -> Parsed | None:
        """An unchanged file's record, facts and VEVENT (its share kept in `web`), or None."""
        try:
            facts = decode_facts(record["facts"])
            vevent_size, card_size = record["parts"]
            if facts.source != shown or frag is None:
                return None
            vevent = frag[:vevent_size]
            share = decode_web(record["web"], frag[vevent_size:vevent_size + card_size],
                               frag[vevent_size + card_size:]) if self._web_read else None
        except Exception:  # a sealed but unreadable record is still only a miss
            return None
        if share is not None:
            self.web.setdefault(facts.id, share)
        made = record["ics"]  # an IcsRecord, if it is one
        if (type(made) is list and len(made) == 3 and type(made[0]) is str
                and type(made[1]) is str and type(made[2]) is int):
            self.ics.setdefault(facts.id, (made[0], made[1], made[2]))
        return record, facts, None, vevent, None  # the same record: its line is written as read

    def _key(self, record: dict[str, Any]) -> str:
        """A record's entry key: made when parsed, else computed when first asked for (it is
        not kept: the records' header holds the context every entry was made under)."""
        if "key" not in record:
            record["key"] = entry_key(self._context, record["path"], record["digest"])
        return record["key"]

    def _stored_event(self, record: dict[str, Any] | None) -> Event | None:
        """The event a record keeps (its line in the fragments), or None."""
        line = self._fragments.read(record.get("data")) if record else None
        value = records.open_line(code_version(), line.rstrip(b"\n")) if line else None
        if not isinstance(value, dict) or record is None or value.get("key") != self._key(record):
            return None
        try:
            event = codec.decode(value["event"])
        except Exception:  # a sealed but unreadable line is only a miss
            return None
        return event if isinstance(event, Event) else None

    def _read(self) -> tuple[dict[str, dict[str, Any]], int]:
        """Records by shown path, and the instant before which recorded stats may be trusted."""
        assert self.directory is not None
        found = read_private(self.directory / PACK, MAX_PACK_BYTES)
        first, _, body = found[0].partition(b"\n") if found else (b"", b"", b"")
        header = records.open_line(code_version(), first)
        if (not isinstance(header, dict) or header.get("context") != self._context.decode()
                or header.get("body") != records.sha256_hex(body)):
            return {}, 0  # missing, damaged, of other code or other settings: all misses
        try:  # one array, a record a line: JSON text holds no raw line break
            rows = json.loads(body)
        except (ValueError, RecursionError):
            return {}, 0
        lines = body[1:-1].split(b",\n") if rows else []
        self._web_read = header.get("theme") == self._theme
        for value in header.get("zones") or ():
            try:
                key = (str(value["zone"]), codec.decode(value["first"]),
                       codec.decode(value["last"]))
                self.zones[key] = str(value["text"]).encode("utf-8")
                self._zones_read.add(key)
            except Exception:  # any malformed record is only a miss
                continue
        if type(rows) is not list or len(rows) != len(lines):
            return {}, 0
        by_path: dict[str, dict[str, Any]] = {}
        for row, line in zip(rows, lines, strict=True):
            if type(row) is list and len(row) == len(FIELDS) and type(row[0]) is str:
                by_path[row[0]] = dict(zip(FIELDS, row, strict=True))
                self._lines[row[0]] = line
        started = header.get("started_ns")
        return by_path, started if type(started) is int else 0


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
    """What every entry depends on besides its file (code, settings, the probe's VEVENT), as
    the hex SHA-256 that each entry key and the records' header hold."""
    return records.sha256_hex(f"{code_version()}|{settings!r}|".encode() + probe).encode()


# A file's next record ({}: not to be cached), facts, Event (None: not decoded), VEVENT and
# the line keeping the event (in fragments.bin; None: kept already, or not cacheable).
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
    found_file = fingerprint(path, None, 0)  # before parsing: a later edit shows in stat
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
    if found_file is not None and not found:
        try:  # files with problems are never cached, so they are reported on every run
            signature, digest = found_file
            key = entry_key(context, shown, digest)
            data = records.line(code_version(), {"event": codec.encode(event), "key": key})
            record = {"path": shown, "stat": signature, "digest": digest, "key": key,
                      "facts": encode_facts(facts)}
        except TypeError:
            record, data = {}, None
    return (record, facts, event, vevent, data), found
