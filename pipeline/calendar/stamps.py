"""The publication ledger: when each event's current content was first published, and its SEQUENCE.

Each event's DTSTAMP and LAST-MODIFIED are the instant its content (the VEVENT without these
stamps) was first published, and SEQUENCE counts its content changes. The calendar computes
the stamps purely from the previous ledger and `--now`; only the build reads the ledger and
only the publish step writes it, as a dot-file in the publish root (see docs/calendar.md).
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import click

from pipeline.errors import display_path

LEDGER_FILE = ".pipeline-state.json"  # a dot-file: never in the manifest, never served
FORMAT = 1
UTC = dt.UTC
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_INSTANT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True, slots=True)
class Stamp:
    """One event's record: its content key, when that content was first published, its SEQUENCE."""

    content: str  # sha256 (hex) of the VEVENT as written, minus DTSTAMP/LAST-MODIFIED/SEQUENCE
    published: dt.datetime  # aware, UTC, whole seconds (iCalendar has no fractions)
    sequence: int


Ledger = Mapping[str, Stamp]  # by UID
EMPTY_LEDGER: Ledger = MappingProxyType({})


def content_key(body: bytes) -> str:
    """The key of what an event's VEVENT says apart from its stamps."""
    return hashlib.sha256(body).hexdigest()


def stamp_for(previous: Stamp | None, content: str, now: dt.datetime) -> Stamp:
    """The stamp of content `content` published at `now`, given the UID's previous record."""
    now = now.astimezone(UTC).replace(microsecond=0)
    if previous is None:
        return Stamp(content, now, 0)
    if previous.content != content:
        return Stamp(content, now, previous.sequence + 1)
    # Never in the future: a ledger written by a build with a later --now is pulled back.
    return Stamp(content, min(previous.published, now), previous.sequence)


def next_ledger(previous: Ledger, stamps: Mapping[str, Stamp]) -> Ledger:
    """The ledger after publishing `stamps`; deleted events keep their record (see docs)."""
    # A deleted event that comes back must not restart at SEQUENCE 0: clients may hold it.
    return MappingProxyType({**previous, **stamps})


def ledger_bytes(ledger: Ledger) -> bytes:
    """The ledger file: stable JSON, one UID a line, sorted, so unchanged means the same bytes."""
    shown: dict[dt.datetime, str] = {}  # most events share a few instants: format each once
    records = {uid: [s.content, shown.get(s.published) or shown.setdefault(
        s.published, s.published.strftime(_INSTANT)), s.sequence] for uid, s in ledger.items()}
    # No indent: json's C encoder is ~10x faster (100k events); a record ends with `],"` only
    # between records (a quote inside a UID is escaped), so each gets its own line.
    text = json.dumps({"format": FORMAT, "stamps": records}, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))
    return (text.replace('],"', '],\n"') + "\n").encode()


_LEDGER_HEAD = b'{"format":%d,"stamps":{' % FORMAT
_LEDGER_END = b"}}\n"


def _records(data: bytes) -> list[bytes] | None:
    """ledger_bytes' records, a line each (`"uid":[...]`); None for another layout, or an
    escape in it (it would change how the UIDs sort)."""
    if not data.startswith(_LEDGER_HEAD) or not data.endswith(b"]" + _LEDGER_END) or b"\\" in data:
        return None
    return data[len(_LEDGER_HEAD):-len(_LEDGER_END)].split(b",\n")


def _uid_of(record: bytes) -> bytes:
    return record[1:record.index(b'":[')]


def stamps_of(data: bytes, uids: Iterable[str]) -> dict[str, Stamp] | None:
    """The records of `uids` in the ledger file `data` (found by bisection, not by reading all
    of it); None when `data` is not as ledger_bytes wrote it, or a record is unreadable."""
    records = _records(data)
    if records is None:
        return None
    found = {}
    for uid in uids:
        at = bisect.bisect_left(records, uid.encode(), key=_uid_of)
        if at < len(records) and _uid_of(records[at]) == uid.encode():
            try:
                found.update(parse_ledger(_LEDGER_HEAD + records[at] + _LEDGER_END))
            except ValueError:
                return None
    return found


def patch_ledger(data: bytes, stamps: Mapping[str, Stamp]) -> bytes | None:
    """ledger_bytes of the ledger in `data` with `stamps` put in, made by path rather than
    from every record; None when `data` is not as ledger_bytes wrote it."""
    records = _records(data)
    if records is None:
        return None
    for uid, stamp in sorted(stamps.items(), reverse=True):
        at = bisect.bisect_left(records, uid.encode(), key=_uid_of)
        found = at < len(records) and _uid_of(records[at]) == uid.encode()
        line = ledger_bytes({uid: stamp})[len(_LEDGER_HEAD):-len(_LEDGER_END)]
        records[at:at + found] = [line]
    return _LEDGER_HEAD + b",\n".join(records) + _LEDGER_END


def parse_ledger(data: bytes) -> Ledger:
    """The ledger in `data`; ValueError when it is not a whole, valid ledger file."""
    instants: dict[str, dt.datetime] = {}
    try:
        document = json.loads(data)
        if document["format"] != FORMAT:
            raise ValueError(f"format {document['format']!r}, expected {FORMAT}")
        ledger: dict[str, Stamp] = {}
        for uid, record in document["stamps"].items():
            if not isinstance(record, list):
                raise ValueError(f"{uid}: not a [content, published, sequence] record")
            content, published, sequence = record
            if published not in instants:
                instants[published] = dt.datetime.strptime(published, _INSTANT).replace(tzinfo=UTC)
            if not (isinstance(content, str) and _HEX64.match(content)):
                raise ValueError(f"{uid}: content is not a sha256")
            if type(sequence) is not int or sequence < 0:
                raise ValueError(f"{uid}: sequence is not a whole number >= 0")
            ledger[uid] = Stamp(content, instants[published], sequence)
    except (KeyError, TypeError, AttributeError, RecursionError, UnicodeDecodeError) as error:
        raise ValueError(f"not a ledger ({type(error).__name__}: {error})") from None
    return MappingProxyType(ledger)


def read_ledger(out_dir: Path) -> Ledger:
    """The publish root's ledger; empty when missing, and (with a warning) when unreadable."""
    path = out_dir / LEDGER_FILE
    try:
        return parse_ledger(path.read_bytes())
    except (FileNotFoundError, NotADirectoryError):  # no publish root yet: publish says why
        return EMPTY_LEDGER
    except (OSError, ValueError) as error:
        # Not fatal: every event is stamped anew with --now, and the build rewrites the file.
        click.echo(f"warning: {display_path(path)} is unreadable ({error}); every event's "
                   "DTSTAMP/LAST-MODIFIED restarts at --now", err=True)
        return EMPTY_LEDGER
