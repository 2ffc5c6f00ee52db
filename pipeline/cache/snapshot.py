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
import itertools
import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from pipeline.cache import records
from pipeline.cache.fragments import COMPACT_SLACK
from pipeline.cache.place import append_private, read_private, write_private
from pipeline.cache.shares import encode_facts
from pipeline.cache.version import code_version
from pipeline.calendar.feeds import END_CALENDAR
from pipeline.model import EventFacts
from pipeline.selection import feed_membership
from pipeline.sources.settings import Settings
from pipeline.web.rendered import EventWeb

SNAPSHOT = "snapshot.bin"
PIECES = "snapshot-pieces.bin"  # each row's pieces, appended to (cache/fragments.py)
MAX_SNAPSHOT_BYTES = 1 << 30  # 100k events: about 50 MB
MAX_PIECES_BYTES = 1 << 34  # 100k events: about 250 MB
LIVE_SHARE = 0.5  # write PIECES anew when less than this much of it is pointed at
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)


class Row(NamedTuple):
    """One event as the snapshot lists it (the bytes it adds are kept apart, in `Snapshot`)."""

    path: str  # its file, as the build's stat walk names it (cache/run.py)
    stat: list[int]  # that file's signature when it was read
    digest: str  # the SHA-256 of its content: a file whose stat moved is hashed, not parsed
    start: int  # facts.starts_at in microseconds since 1970 (UTC): the feeds' order, with id
    id: str
    facts: list[Any]  # shares.encode_facts: decoded only for the rows a rebuild replaces
    feeds: int  # bit i: the i-th feed (0: upcoming.ics, then settings.feeds) holds its VEVENT
    zone: str  # the zone its VEVENT names with TZID ('' if none)
    zone_from: int  # facts.zone_from, as `start`
    ends: int | None  # facts.ends_at, as `start` (None: an endless series)
    card: list[Any]  # its card's url, upcoming, year and sort instant (ISO)
    until: str | None  # its web share's `until` (ISO): when something about it next changes
    span: list[int] | None  # its pieces' offset and length in PIECES (None: not written yet)
    parts: list[int]  # the sizes of its stamped VEVENT and card item (its item is the rest)


Pieces = tuple[bytes, bytes, bytes]  # a row's stamped VEVENT, card item and events.json item
ZoneKey = tuple[str, int, int | None]  # a zone, and the first and last instants it covers


@dataclass(slots=True)
class Snapshot:
    """Every event's row and pieces, each feed's head, and what a rebuild checks it against."""

    rows: list[Row]
    pieces: list[Pieces]
    heads: list[bytes]  # per feed: its calendar's head, up to its VTIMEZONEs
    zones: dict[ZoneKey, bytes]  # each zone's VTIMEZONE, by zone and span (zone_spans)
    feeds: list[str]  # each feed's path, in bit order
    issues: int  # the number of newsletter issues the build had
    # The rows as read, with their JSON text, by path: a row kept as it was keeps its text.
    lines: dict[str, tuple[Row, bytes]] = field(default_factory=dict)
    pieces_file: tuple[int, int] | None = None  # PIECES' size and CRC-32 when read


def instant(moment: dt.datetime) -> int:
    """An aware datetime as microseconds since 1970 (UTC)."""
    return (moment - EPOCH) // MICROSECOND


def make_row(path: str, stat: list[int], digest: str, facts: EventFacts, stamped: bytes,
             share: EventWeb, feeds: int) -> tuple[Row, Pieces]:
    """An event's row and pieces, from what the build made of it (`feeds`: the feeds that
    hold it, as selection.feed_membership gives them)."""
    card = share.card
    # The zone is named (and a feed holds its VTIMEZONE) only when icalendar wrote a TZID.
    zone = facts.timezone if facts.timezone and b";TZID=" in stamped else ""
    row = Row(path, stat, digest, instant(facts.starts_at), facts.id, encode_facts(facts),
              feeds, zone, instant(facts.zone_from),
              None if facts.ends_at is None else instant(facts.ends_at),
              [card.url, card.upcoming, card.year, card.sort_key[0].isoformat()],
              None if share.until is None else share.until.astimezone(dt.UTC).isoformat(),
              None, [len(stamped), len(card.item)])
    return row, (stamped, card.item, share.embed)


def zone_spans(rows: Sequence[Row]) -> list[ZoneKey]:
    """Each zone a VEVENT names, with the span of every occurrence of every event in it (the
    one VTIMEZONE every file holds of it: calendar.feeds._vtimezones), by name."""
    spans: dict[str, tuple[int, int | None]] = {}
    for row in rows:
        if not row.zone:
            continue
        span = spans.get(row.zone)
        if span is None:
            spans[row.zone] = (row.zone_from, row.ends)
        else:
            last = None if span[1] is None or row.ends is None else max(span[1], row.ends)
            spans[row.zone] = (min(span[0], row.zone_from), last)
    return [(zone, first, last) for zone, (first, last) in sorted(spans.items())]


def feed_zones(rows: Sequence[Row], bit: int) -> list[str]:
    """The zones the feed of `bit` holds a VTIMEZONE of (those its events name), by name."""
    return sorted({row.zone for row in rows if row.zone and row.feeds >> bit & 1})


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


def write_snapshot(directory: Path, snapshot: Snapshot, fresh: bool) -> str:
    """Write `snapshot` (privately); the seal of its header ('' when it was not written).

    The rows' pieces are appended to PIECES (`fresh`: written anew, as after a full build),
    so a rebuild writes the pieces of the events it changed, not every event's.
    """
    saved = _save_pieces(directory, snapshot, None if fresh else snapshot.pieces_file)
    if saved is None:
        return ""
    rows, size, crc = saved
    # A row read unchanged keeps its text: a rebuild encodes the rows it made, not 10k.
    text = b"[" + b",\n".join(_row_text(row, snapshot.lines.get(row.path)) for row in rows) + b"]"
    zones = sorted(snapshot.zones.items(), key=repr)
    blob = b"".join([*snapshot.heads, *(vtimezone for _, vtimezone in zones)])
    header = {"kind": "snapshot", "rows": len(text), "rows_sha256": records.sha256_hex(text),
              "bytes_sha256": records.sha256_hex(blob), "pieces": [size, crc],
              "heads": [len(head) for head in snapshot.heads],
              "zones": [[*key, len(vtimezone)] for key, vtimezone in zones],
              "feeds": snapshot.feeds,
              "issues": snapshot.issues}
    line = records.line(code_version(), header)
    if write_private(directory / SNAPSHOT, [line, text, blob]) is None:
        return ""
    return line.partition(b" ")[0].decode()


def _save_pieces(directory: Path, snapshot: Snapshot, known: tuple[int, int] | None,
                 ) -> tuple[list[Row], int, int] | None:
    """The rows with the span of their pieces in PIECES, and its size and CRC-32 once the
    pieces of rows without a span are appended (to the file `known` describes, if it still
    does and enough of it is alive; else every row's pieces are written anew)."""
    size, crc = known or (0, 0)
    added = [(index, pieces) for index, (row, pieces)
             in enumerate(zip(snapshot.rows, snapshot.pieces, strict=True))
             if known is None or row.span is None]
    live = sum(map(len, itertools.chain.from_iterable(snapshot.pieces)))
    end = size + sum(len(piece) for _, pieces in added for piece in pieces)
    if known is not None and end > COMPACT_SLACK and live < LIVE_SHARE * end:
        return _save_pieces(directory, snapshot, None)
    rows = list(snapshot.rows)
    for index, pieces in added:
        length = sum(map(len, pieces))
        rows[index] = rows[index]._replace(span=[size, length])
        for piece in pieces:
            crc = zlib.crc32(piece, crc)
        size += length
    flat = [piece for _, pieces in added for piece in pieces]
    if known is None:
        return (rows, size, crc) if write_private(directory / PIECES, flat) is not None else None
    appended = append_private(directory / PIECES, flat, known[0])
    if appended is False:  # not the file the snapshot describes: written anew
        return _save_pieces(directory, snapshot, None)
    if appended is None:
        return None
    return rows, size, crc


def _row_text(row: Row, read: tuple[Row, bytes] | None) -> bytes:
    """A row's JSON text: as it was read, if it is that very row."""
    if read is not None and read[0] is row:
        return read[1]
    return json.dumps(row, separators=(",", ":")).encode()


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
        text, blob = data[end:rows_end], data[rows_end:]
        if (records.sha256_hex(text) != header["rows_sha256"]
                or records.sha256_hex(blob) != header["bytes_sha256"]):
            return None
        rows = [Row(*row) for row in json.loads(bytes(text))]
        # JSON text holds no raw line break: each row is on a line of its own.
        lines = bytes(text[1:-1]).split(b",\n") if rows else []
        heads, offset = [], 0
        for size in header["heads"]:
            heads.append(bytes(blob[offset:offset + size]))
            offset += size
        zones: dict[ZoneKey, bytes] = {}
        for zone, first_us, last_us, size in header["zones"]:
            zones[zone, first_us, last_us] = bytes(blob[offset:offset + size])
            offset += size
        if offset != len(blob) or len(heads) != len(header["feeds"]) or len(lines) != len(rows):
            return None
        size, crc = header["pieces"]
        found = read_private(directory / PIECES, MAX_PIECES_BYTES)
        if found is None or len(found[0]) < size or zlib.crc32(memoryview(found[0])[:size]) != crc:
            return None  # damaged, cut or missing: a miss
        pieces = []
        for row in rows:
            (offset, length), (vevent, card) = row.span, row.parts
            if offset + length > size:
                return None
            pieces.append((found[0][offset:offset + vevent],
                           found[0][offset + vevent:offset + vevent + card],
                           found[0][offset + vevent + card:offset + length]))
        return Snapshot(rows, pieces, heads, zones, header["feeds"], header["issues"],
                        {row.path: (row, line) for row, line in zip(rows, lines, strict=True)},
                        (size, crc))
    except (KeyError, TypeError, ValueError, RecursionError):  # sealed yet unreadable: a miss
        return None


def snapshot_of(events: Sequence[EventFacts], files: Mapping[str, tuple[str, str | None]],
                stats: Mapping[str, list[int] | None], stamped: Mapping[str, bytes],
                shares: Mapping[str, EventWeb], feeds: Mapping[str, bytes],
                zones: Mapping[str, bytes], settings: Settings, now: dt.datetime,
                issues: int) -> Snapshot | None:
    """The snapshot of a full build: `events` in the feeds' order, each one's file and its
    content's SHA-256 (by id), the stats the build took, its stamped VEVENTs and web shares,
    its feeds' bytes (in bit order) and VTIMEZONEs (by zone). None when something is
    missing or not as expected (the next rebuild is then a full one)."""
    rows, pieces = [], []
    membership = feed_membership(settings.feeds)
    for facts in events:
        path, digest = files.get(facts.id) or ("", None)
        stat = stats.get(path)
        share = shares.get(facts.id)
        if stat is None or digest is None or share is None or facts.id not in stamped:
            return None
        row, made = make_row(path, stat, digest, facts, stamped[facts.id], share,
                             membership(facts, now))
        rows.append(row)
        pieces.append(made)
    keys = zone_spans(rows)
    if {key[0] for key in keys} != zones.keys():
        return None
    heads: list[bytes] = []
    for bit, data in enumerate(feeds.values()):
        prefix = feed_head(data, [made[0] for row, made in zip(rows, pieces, strict=True)
                                  if row.feeds >> bit & 1])
        # The head, then one VTIMEZONE per zone by name: text escapes every line break, so
        # only a VTIMEZONE starts a line with BEGIN:VTIMEZONE.
        head = (prefix or b"").partition(b"BEGIN:VTIMEZONE\r\n")[0]
        if prefix != head + b"".join(zones[name] for name in feed_zones(rows, bit)):
            return None
        heads.append(head)
    return Snapshot(rows, pieces, heads, {key: zones[key[0]] for key in keys}, list(feeds),
                    issues)
