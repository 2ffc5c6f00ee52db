"""The last build's feeds and listings, an event a row: what a delta rebuild patches.

A rebuild where only event files changed (pipeline/rebuild.py) starts from this file
instead of every event's cache record. One row per event, in the feeds' order (its start,
then its id): its file's stat, its facts as the cache encodes them, which feeds hold it,
the time zone its VEVENT names, its card's metadata and when it next changes. Then the
bytes the feeds and listings join: each feed's head with its VTIMEZONEs, and each event's
stamped VEVENT, listing card and events.json item.

Sealed like the rest of the cache (records.py): the header line's seal is made under the
code version and holds the SHA-256 of the rows and of the bytes, and the run record keeps
the header's seal, so only the snapshot of the last build is ever read. Anything wrong with
it is a miss: the full build runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from pipeline.cache import records
from pipeline.cache.place import read_private, write_private
from pipeline.cache.shares import encode_facts
from pipeline.cache.version import code_version
from pipeline.calendar.feeds import END_CALENDAR
from pipeline.model import EventFacts
from pipeline.selection import matches
from pipeline.sources.settings import Settings
from pipeline.web.rendered import EventWeb

SNAPSHOT = "snapshot.bin"
MAX_SNAPSHOT_BYTES = 1 << 34  # 100k events: about 250 MB
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)


class Row(NamedTuple):
    """One event as the snapshot lists it (the bytes it adds are kept apart, in `Snapshot`)."""

    path: str  # its file, as the build's stat walk names it (cache/run.py)
    stat: list[int]  # that file's signature when it was read
    start: int  # facts.starts_at in microseconds since 1970 (UTC): the feeds' order, with id
    id: str
    facts: list[Any]  # shares.encode_facts: decoded only for the rows a rebuild replaces
    feeds: int  # bit i: the i-th feed (0: upcoming.ics, then settings.feeds) holds its VEVENT
    zone: str  # the zone its VEVENT names with TZID ('' if none)
    zone_from: int  # facts.zone_from, as `start`
    ends: int | None  # facts.ends_at, as `start` (None: an endless series)
    card: list[Any]  # its card's url, upcoming, year and sort instant (ISO)
    until: str | None  # its web share's `until` (ISO): when something about it next changes
    sizes: list[int]  # its stamped VEVENT, card item and events.json item, in bytes


Pieces = tuple[bytes, bytes, bytes]  # a row's stamped VEVENT, card item and events.json item
ZoneKey = tuple[str, int, int | None]  # a zone, and the first and last instants it covers


@dataclass(slots=True)
class Snapshot:
    """Every event's row and pieces, each feed's head, and what a rebuild checks it against."""

    rows: list[Row]
    pieces: list[Pieces]
    heads: list[bytes]  # per feed: its calendar's head, up to its VTIMEZONEs
    zones: dict[ZoneKey, bytes]  # the VTIMEZONEs the feeds hold, by zone and span
    feeds: list[str]  # each feed's path, in bit order
    issues: int  # the number of newsletter issues the build had
    lines: dict[int, bytes] = field(default_factory=dict)  # id(row) -> its JSON text as read


def instant(moment: dt.datetime) -> int:
    """An aware datetime as microseconds since 1970 (UTC)."""
    return (moment - EPOCH) // MICROSECOND


def feed_bits(facts: EventFacts, settings: Settings, now: dt.datetime) -> int:
    """Which feeds hold the event at `now` (calendar.feeds.assemble_calendars' choice)."""
    if facts.has_ended(now):
        return 0
    bits = 1
    for bit, spec in enumerate(settings.feeds, start=1):
        if matches(facts, spec.kinds, spec.tags):
            bits |= 1 << bit
    return bits


def make_row(path: str, stat: list[int], facts: EventFacts, stamped: bytes, share: EventWeb,
             settings: Settings, now: dt.datetime) -> tuple[Row, Pieces]:
    """An event's row and pieces, from what the build made of it."""
    card = share.card
    # The zone is named (and a feed holds its VTIMEZONE) only when icalendar wrote a TZID.
    zone = facts.timezone if facts.timezone and b";TZID=" in stamped else ""
    row = Row(path, stat, instant(facts.starts_at), facts.id, encode_facts(facts),
              feed_bits(facts, settings, now), zone or "", instant(facts.zone_from),
              None if facts.ends_at is None else instant(facts.ends_at),
              [card.url, card.upcoming, card.year, card.sort_key[0].isoformat()],
              None if share.until is None else share.until.astimezone(dt.UTC).isoformat(),
              [len(stamped), len(card.item), len(share.embed)])
    return row, (stamped, card.item, share.embed)


def zone_spans(rows: Sequence[Row], bit: int) -> list[ZoneKey]:
    """The zones the feed of `bit` holds a VTIMEZONE of, each with the span of its events'
    occurrences (as calendar.feeds._vtimezones computes it), by name."""
    spans: dict[str, tuple[int, int | None]] = {}
    for row in rows:
        if not row.zone or not row.feeds >> bit & 1:
            continue
        span = spans.get(row.zone)
        if span is None:
            spans[row.zone] = (row.zone_from, row.ends)
        else:
            last = None if span[1] is None or row.ends is None else max(span[1], row.ends)
            spans[row.zone] = (min(span[0], row.zone_from), last)
    return [(zone, first, last) for zone, (first, last) in sorted(spans.items())]


def moment(value: int) -> dt.datetime:
    """The aware datetime (UTC) of `instant`'s value."""
    return EPOCH + value * MICROSECOND


def join_feed(head: bytes, zones: Sequence[bytes], vevents: Sequence[bytes]) -> bytes:
    """A feed as calendar.feeds._assemble writes it: head, VTIMEZONEs, VEVENTs, END."""
    return b"".join([head, *zones, *vevents, END_CALENDAR])


def feed_head(data: bytes, held: Sequence[bytes]) -> bytes | None:
    """A feed's bytes up to its first VEVENT, given the VEVENTs it holds; None if they are not
    its tail."""
    size = sum(map(len, held)) + len(END_CALENDAR)
    if len(data) < size or not data.endswith(END_CALENDAR):
        return None
    head = data[:len(data) - size]
    # What a feed's VEVENTs start with: the first must be where the tail says.
    if held and not data.startswith(b"BEGIN:VEVENT\r\n", len(head)):
        return None
    return head


def write_snapshot(directory: Path, snapshot: Snapshot) -> str:
    """Write `snapshot` (privately); the seal of its header ('' when it was not written)."""
    # A row read unchanged keeps its text: a rebuild encodes the rows it made, not 10k.
    known = snapshot.lines
    text = b"[" + b",\n".join(known.get(id(row)) or json.dumps(row, separators=(",", ":")).encode()
                              for row in snapshot.rows) + b"]"
    zones = sorted(snapshot.zones.items(), key=repr)
    blob = [*snapshot.heads, *(text for _, text in zones),
            *(piece for pieces in snapshot.pieces for piece in pieces)]
    digest = hashlib.sha256()
    for piece in blob:
        digest.update(piece)
    header = {"kind": "snapshot", "rows": len(text), "rows_sha256": records.sha256_hex(text),
              "bytes_sha256": digest.hexdigest(), "heads": [len(head) for head in snapshot.heads],
              "zones": [[*key, len(text)] for key, text in zones], "feeds": snapshot.feeds,
              "issues": snapshot.issues}
    line = records.line(code_version(), header)
    if write_private(directory / SNAPSHOT, [line, text, *blob]) is None:
        return ""
    return line.partition(b" ")[0].decode()


def read_snapshot(directory: Path, seal: str) -> Snapshot | None:
    """The snapshot whose header has `seal` (the run record's), or None."""
    found = read_private(directory / SNAPSHOT, MAX_SNAPSHOT_BYTES) if seal else None
    if found is None:
        return None
    data = memoryview(found[0])
    end = found[0].find(b"\n") + 1
    first = bytes(data[:end - 1])
    header = records.open_line(code_version(), first)
    if not isinstance(header, dict) or first.partition(b" ")[0].decode() != seal:
        return None
    try:
        rows_end = end + header["rows"]
        text = data[end:rows_end]
        if records.sha256_hex(text) != header["rows_sha256"]:
            return None
        blob = data[rows_end:]
        if records.sha256_hex(blob) != header["bytes_sha256"]:
            return None
        rows = [Row(*row) for row in json.loads(bytes(text))]
        # JSON text holds no raw line break: each row is on a line of its own.
        lines = bytes(text[1:-1]).split(b",\n") if rows else []
        if len(lines) != len(rows):
            return None
        heads, offset = [], 0
        for size in header["heads"]:
            heads.append(bytes(blob[offset:offset + size]))
            offset += size
        zones: dict[ZoneKey, bytes] = {}
        for zone, first, last, size in header["zones"]:
            zones[zone, first, last] = bytes(blob[offset:offset + size])
            offset += size
        pieces = []
        for row in rows:
            vevent, card, item = row.sizes
            pieces.append((bytes(blob[offset:offset + vevent]),
                           bytes(blob[offset + vevent:offset + vevent + card]),
                           bytes(blob[offset + vevent + card:offset + vevent + card + item])))
            offset += vevent + card + item
        if offset != len(blob) or len(heads) != len(header["feeds"]):
            return None
        return Snapshot(rows, pieces, heads, zones, header["feeds"], header["issues"],
                        {id(row): line for row, line in zip(rows, lines, strict=True)})
    except (KeyError, TypeError, ValueError, RecursionError):  # sealed yet unreadable: a miss
        return None


def snapshot_of(events: Sequence[EventFacts], files: Mapping[str, str],
                stats: Mapping[str, list[int] | None], stamped: Mapping[str, bytes],
                shares: Mapping[str, EventWeb], feeds: Mapping[str, bytes],
                settings: Settings, now: dt.datetime, issues: int) -> Snapshot | None:
    """The snapshot of a full build: `events` in the feeds' order, each one's file (by id),
    the stats the build took, its stamped VEVENTs and web shares, and its feeds' bytes (in
    bit order). None when something is missing (the next rebuild is then a full one)."""
    rows, pieces = [], []
    for facts in events:
        path = files.get(facts.id)
        stat = stats.get(path) if path else None
        share = shares.get(facts.id)
        if stat is None or share is None or facts.id not in stamped:
            return None
        row, made = make_row(path, stat, facts, stamped[facts.id], share, settings, now)
        rows.append(row)
        pieces.append(made)
    heads: list[bytes] = []
    zones: dict[ZoneKey, bytes] = {}
    for bit, data in enumerate(feeds.values()):
        prefix = feed_head(data, [made[0] for row, made in zip(rows, pieces, strict=True)
                                  if row.feeds >> bit & 1])
        # The head, then one VTIMEZONE per zone by name: text escapes every line break, so
        # only a VTIMEZONE starts a line with BEGIN:VTIMEZONE.
        head, found, texts = (prefix or b"").partition(b"BEGIN:VTIMEZONE\r\n")
        parts = (found + texts).split(b"END:VTIMEZONE\r\n")[:-1]
        keys = zone_spans(rows, bit)
        if prefix is None or len(parts) != len(keys):
            return None
        heads.append(head)
        for key, part in zip(keys, parts, strict=True):
            zones[key] = part + b"END:VTIMEZONE\r\n"
    return Snapshot(rows, pieces, heads, zones, list(feeds), issues)
