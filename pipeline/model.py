"""The typed model every generator reads: events, their parts and their occurrences."""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import NamedTuple
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

UTC = dt.UTC


class Status(StrEnum):
    """The event's iCalendar STATUS."""

    CONFIRMED = "confirmed"
    TENTATIVE = "tentative"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Location:
    """Where an event happens; `url` is the join link of an online event."""

    name: str | None = None
    address: str | None = None
    city: str | None = None
    country: str | None = None
    url: str | None = None
    online: bool = False

    @property
    def label(self) -> str:
        """One line for a calendar's LOCATION: name, address, city, country."""
        parts = [p for p in (self.name, self.address, self.city, self.country) if p]
        if not parts and self.online:
            parts = ["Online"]
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Image:
    """A picture of the event; `src` is absolute or relative to the site's base URL."""

    src: str
    alt: str


@dataclass(frozen=True, slots=True)
class Link:
    """A titled link: a recording, a playlist, slides, a community page."""

    title: str
    url: str


@dataclass(frozen=True, slots=True)
class OccurrenceChange:
    """One occurrence of a series moved, retitled or cancelled (an RFC 5545 RECURRENCE-ID).

    Dates for all-day series (`end` the last day, inclusive, as an event's), aware datetimes
    in the series' zone for timed ones. None: as the series says.
    """

    original_start: dt.date  # the start the rule gives it: its RECURRENCE-ID
    start: dt.date | None = None
    end: dt.date | None = None
    title: str | None = None
    summary: str | None = None
    location: Location | None = None
    status: Status | None = None

    @property
    def cancelled(self) -> bool:
        """True when the occurrence is called off (it stays in calendars, marked cancelled)."""
        return self.status is Status.CANCELLED

    @property
    def moved(self) -> bool:
        """True when the occurrence has another start or end than the rule gives it."""
        return self.start is not None or self.end is not None


@dataclass(frozen=True, slots=True)
class Recurrence:
    """An RFC 5545 RRULE, the occurrences to skip (dates for all-day, aware datetimes) and changes."""

    rule: str
    exceptions: tuple[dt.date, ...] = ()
    changes: tuple[OccurrenceChange, ...] = ()  # sorted by original_start, one per occurrence

    @property
    def bounded(self) -> bool:
        """True when the rule ends (COUNT or UNTIL); an unbounded series never ends."""
        parts = {part.split("=", 1)[0] for part in self.rule.upper().split(";")}
        return bool(parts & {"COUNT", "UNTIL"})


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One instance of an event. All-day: dates with an exclusive end; timed: aware datetimes.

    `original` is the start the series' rule gives it (None for a one-off event); `change` is
    what the event file changed about it (moved, retitled, cancelled), if anything.
    """

    start: dt.date
    end: dt.date
    original: dt.date | None = field(default=None, compare=False)  # follows from the others
    change: OccurrenceChange | None = None

    @property
    def cancelled(self) -> bool:
        """True when this occurrence of a series is called off."""
        return self.change is not None and self.change.cancelled

    @property
    def moved(self) -> bool:
        """True when this occurrence of a series is not where its rule puts it."""
        return self.change is not None and self.change.moved


class EventFacts(NamedTuple):
    """What choosing and ordering an event needs, without its text: ids, kinds, instants.

    Feeds, listings and newsletters pick and sort events by these alone, so the build cache
    gives them for unchanged events without decoding the events (Event.facts). A NamedTuple,
    not a frozen dataclass: a rebuild makes one per event, and a frozen dataclass's
    __init__ (a setattr per field) made 10k of them cost 50 ms.
    """

    id: str
    source: str  # path of the file, for messages
    id_line: int
    kind: str
    tags: tuple[str, ...]
    timezone: str | None
    starts_at: dt.datetime  # the start as an instant: the order of feeds and issues
    first_day: dt.date  # the day it starts, in its own zone
    zone_from: dt.datetime  # the earliest start of an occurrence, moved ones too (UTC)
    ends_at: dt.datetime | None  # when it is over (Event.ends_at); None: an endless series

    def has_ended(self, at: dt.datetime) -> bool:
        """True when nothing of the event is left at instant `at` (Event.has_ended)."""
        return self.ends_at is not None and self.ends_at <= at


@dataclass(frozen=True)
class Event:
    """One event file, parsed and validated.

    All-day events keep `start` and `end` as dates, `end` being the LAST day (inclusive,
    as written). Timed events keep aware datetimes in `timezone`.
    """

    id: str
    title: str
    kind: str
    start: dt.date
    end: dt.date
    timezone: str | None = None
    status: Status = Status.CONFIRMED
    location: Location | None = None
    url: str | None = None
    summary: str | None = None
    description: str | None = None
    image: Image | None = None
    highlights: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    hosts: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    recurrence: Recurrence | None = None
    moved_from: dt.date | None = None  # a rescheduled one-off: its earlier start (date or aware)
    source_uid: str | None = None  # the UID of the calendar it was imported from (`pipeline import`)
    source: str = field(default="", compare=False)  # path of the file, for messages
    id_line: int = field(default=1, compare=False)  # line of `id:` (1 when it is the stem)

    @property
    def all_day(self) -> bool:
        """True when the event spans whole days (no time of day)."""
        return not isinstance(self.start, dt.datetime)

    @property
    def zone(self) -> dt.tzinfo | None:
        """The event's IANA zone, or None (an all-day event without one)."""
        return ZoneInfo(self.timezone) if self.timezone else None

    @property
    def exclusive_end(self) -> dt.date:
        """End as iCalendar's DTEND wants it: the day after the last day, or the end instant."""
        return self.end + dt.timedelta(days=1) if self.all_day else self.end

    @cached_property
    def _rule(self) -> rrule | None:
        if self.recurrence is None:
            return None
        start = dt.datetime.combine(self.start, dt.time()) if self.all_day else self.start
        return rrulestr(self.recurrence.rule, dtstart=start, forceset=False)  # type: ignore[return-value]

    def _starts(self) -> Iterator[dt.date]:
        """Every start the rule gives, in order, minus `except` (infinite for unbounded series)."""
        if self._rule is None:
            yield self.start
            return
        skipped = set(self.recurrence.exceptions) if self.recurrence else set()
        for start in self._rule:
            value: dt.date = start.date() if self.all_day else start
            if value not in skipped:
                yield value

    def _length(self) -> dt.timedelta:
        # All-day: whole days. Timed: the exact elapsed time, as RFC 5545 gives every instance of
        # a series with DTEND (subtracting two datetimes of one zone would give wall-clock time).
        return (self.exclusive_end - self.start if self.all_day else
                self.exclusive_end.astimezone(UTC) - self.start.astimezone(UTC))  # type: ignore[union-attr]

    def _after(self, start: dt.date, length: dt.timedelta) -> dt.date:
        return (start + length if self.all_day
                else (start.astimezone(UTC) + length).astimezone(start.tzinfo))  # type: ignore[attr-defined]

    def changed(self, change: OccurrenceChange) -> Occurrence:
        """The occurrence `change` makes of the rule's occurrence at its original start."""
        start = change.start if change.start is not None else change.original_start
        if change.end is not None:
            end = change.end + dt.timedelta(days=1) if self.all_day else change.end
        else:
            end = self._after(start, self._length())
        return Occurrence(start, end, change.original_start, change)

    def _all(self) -> Iterator[Occurrence]:
        """Every occurrence, changes applied, in order of start (stable for equal starts)."""
        length = self._length()
        changes = {c.original_start: c for c in self.recurrence.changes} if self.recurrence else {}
        series = self.recurrence is not None
        plain = (Occurrence(start, self._after(start, length), start if series else None)
                 for start in self._starts() if start not in changes)
        if not changes:
            yield from plain
            return
        # The rule's starts are in order; the (few) changed ones are merged in where they now fall.
        changed = sorted((self.changed(c) for c in changes.values()),
                         key=lambda o: self.instant(o.start))
        yield from heapq.merge(plain, changed, key=lambda o: self.instant(o.start))

    def occurrences(self, after: dt.datetime | None = None,
                    before: dt.datetime | None = None) -> Iterator[Occurrence]:
        """Occurrences that overlap [after, before), in order; wall-clock time kept across DST.

        Moved occurrences are where they were moved to; cancelled ones are included, flagged.
        """
        for occurrence in self._all():
            if before is not None and self.instant(occurrence.start) >= before:
                return
            if after is None or self.instant(occurrence.end) > after:
                yield occurrence

    def instant(self, value: dt.date) -> dt.datetime:
        """A start or exclusive end as an aware instant (all-day: midnight in the event's zone)."""
        if isinstance(value, dt.datetime):
            return value
        # An all-day event without a zone ends when the day is over everywhere (UTC-12),
        # so that nobody sees it vanish from "upcoming" while it is still that day for them.
        zone = self.zone or dt.timezone(dt.timedelta(hours=-12))
        return dt.datetime.combine(value, dt.time(), zone)

    @cached_property
    def ends_at(self) -> dt.datetime | None:
        """The instant the event (or its last occurrence) is over; None for an endless series."""
        if self.recurrence is not None and not self.recurrence.bounded:
            return None
        # The latest end, not the last one's: a moved occurrence may end after a later one.
        ends = [self.instant(o.end) for o in self.occurrences()]
        return max(ends) if ends else self.instant(self.exclusive_end)

    def has_ended(self, at: dt.datetime) -> bool:
        """True when nothing of the event is left at instant `at`."""
        end = self.ends_at
        return end is not None and end <= at

    @cached_property
    def facts(self) -> EventFacts:
        """Its EventFacts."""
        starts_at = self.instant(self.start)
        zone_from = starts_at.astimezone(UTC)
        for change in self.recurrence.changes if self.recurrence else ():
            if change.start is not None:  # an occurrence moved before the series' start
                zone_from = min(zone_from, self.instant(change.start).astimezone(UTC))
        first_day = self.start.date() if isinstance(self.start, dt.datetime) else self.start
        return EventFacts(self.id, self.source, self.id_line, self.kind, self.tags,
                          self.timezone, starts_at, first_day, zone_from, self.ends_at)

    def next_occurrence(self, at: dt.datetime, cancelled: bool = True) -> Occurrence | None:
        """The first occurrence not yet over at `at` (`cancelled=False`: the first one held)."""
        return next((o for o in self.occurrences(after=at) if cancelled or not o.cancelled),
                    None)


@dataclass(frozen=True, slots=True)
class Section:
    """An editorial section of a newsletter issue."""

    title: str
    body: str | None = None
    links: tuple[Link, ...] = ()


@dataclass(frozen=True, slots=True)
class Issue:
    """One newsletter issue: the past events of `period`, plus editorial text."""

    id: str
    title: str
    date: dt.date
    period_start: dt.date
    period_end: dt.date
    subject: str = ""  # empty: the title
    preheader: str | None = None
    kinds: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    intro: str | None = None
    outro: str | None = None
    sections: tuple[Section, ...] = ()
    looking_ahead: int | None = None  # None: every upcoming event; 0: no section
    lang: str | None = None  # BCP 47; None: the site's `locale`
    source: str = field(default="", compare=False)
    id_line: int = field(default=1, compare=False)  # line of `id:` (1 when it is the stem)

    @property
    def email_subject(self) -> str:
        """The Subject header."""
        return self.subject or self.title
