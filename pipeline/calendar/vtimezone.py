"""VTIMEZONEs in RRULE form, derived from zoneinfo's transitions, that every client reads alike."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

UTC = dt.UTC
DAY = dt.timedelta(days=1)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
SCAN_FROM_YEAR = 1970  # tzdata before 1970 is not reliable; earlier spans scan from their year
SCAN_BEYOND_YEARS = 2  # a run still going this long after the span is the zone's current rule
SCAN_AT_LEAST_TO_YEAR = 2040  # so that a span ending soon still sees scheduled rule changes


@dataclass(frozen=True, slots=True)
class Transition:
    """A change of UTC offset or name; `at` is the UTC instant, `offset_from` the offset before."""

    at: dt.datetime
    offset_from: dt.timedelta
    offset_to: dt.timedelta
    name: str
    daylight: bool

    @property
    def local(self) -> dt.datetime:
        """The wall-clock time of the change as read before it (VTIMEZONE's DTSTART)."""
        return (self.at + self.offset_from).replace(tzinfo=None)

    @property
    def shape(self) -> tuple:
        """What must stay equal, year after year, for transitions to form one yearly RRULE."""
        local = self.local
        return (self.offset_from, self.offset_to, self.name, self.daylight, local.month,
                local.weekday(), local.time())

    @property
    def ordinals(self) -> frozenset[int]:
        """The BYDAY ordinals that name this day: its week in the month, and -1 in the last week."""
        local = self.local
        found = {(local.day - 1) // 7 + 1}
        if local.day > calendar.monthrange(local.year, local.month)[1] - 7:
            found.add(-1)
        return frozenset(found)


@dataclass(frozen=True, slots=True)
class Run:
    """Consecutive yearly transitions of one shape: one STANDARD/DAYLIGHT component."""

    onsets: tuple[Transition, ...]
    ordinals: frozenset[int]  # every ordinal all onsets share
    ends_at: dt.datetime | None  # the first later transition that is not ours; None: still in force
    open_ended: bool  # the zone's current rule: RRULE without UNTIL


def _state(zone: ZoneInfo, instant: dt.datetime) -> tuple[dt.timedelta, str, dt.timedelta]:
    local = instant.astimezone(zone)
    return local.utcoffset(), local.tzname() or "", local.dst()  # type: ignore[return-value]


def _daylight(dst_before: dt.timedelta, dst_after: dt.timedelta) -> bool:
    """DAYLIGHT or STANDARD as clients expect it: the summer half is DAYLIGHT.

    tzdata gives Europe/Dublin a negative DST in winter; clients (dateutil among them)
    assume DAYLIGHT is the later clock, so leaving a negative DST counts as daylight.
    """
    return dst_after > dt.timedelta(0) or (dst_after == dt.timedelta(0) and dst_before < dst_after)


def transitions(zone: ZoneInfo, start: dt.datetime, end: dt.datetime) -> list[Transition]:
    """Every change of the zone's offset, name or DST flag in [start, end), to the second."""
    found = []
    before = _state(zone, start)
    cursor = start
    # One probe a day, then bisection: zones never change twice within a day.
    while cursor < end:
        probe = cursor + DAY
        after = _state(zone, probe)
        if after != before:
            low, high = cursor, probe
            while high - low > dt.timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if middle <= low:
                    break
                low, high = (middle, high) if _state(zone, middle) == before else (low, middle)
            found.append(Transition(high, before[0], after[0], after[1],
                                    _daylight(before[2], after[2])))
            before = after
        cursor = probe
    return found


def _runs(found: list[Transition], scan_end_year: int) -> list[Run]:
    """Group transitions into yearly runs, in order of their first onset."""
    groups: list[tuple[list[Transition], frozenset[int]]] = []
    open_group: dict[tuple, int] = {}  # shape -> index in groups of the run it could extend
    for transition in found:
        index = open_group.get(transition.shape)
        if index is not None:
            onsets, ordinals = groups[index]
            shared = ordinals & transition.ordinals
            if onsets[-1].local.year == transition.local.year - 1 and shared:
                onsets.append(transition)
                groups[index] = (onsets, shared)
                continue
        open_group[transition.shape] = len(groups)
        groups.append(([transition], transition.ordinals))
    runs = []
    for onsets, ordinals in groups:
        last = onsets[-1]
        later = (t.at for t in found if t.at > last.at)
        runs.append(Run(tuple(onsets), ordinals, next(later, None),
                        len(onsets) > 1 and last.local.year >= scan_end_year - 1))
    return runs


@cache
def _zone_runs(name: str, first_year: int, last_year: int) -> tuple[Run, ...]:
    zone = ZoneInfo(name)
    start = dt.datetime(first_year, 1, 1, tzinfo=UTC)
    found = transitions(zone, start, dt.datetime(last_year + 1, 1, 1, tzinfo=UTC))
    # What holds at the scan's start is an onset too, so that nothing before the first change
    # is left uncovered (zones without DST have no change at all).
    offset, tzname, dst = _state(zone, start)
    initial = Transition(start, offset, offset, tzname, dst > dt.timedelta(0))
    return (Run((initial,), frozenset(), found[0].at if found else None, False),
            *_runs(found, last_year + 1))


def vtimezone(name: str, first: dt.datetime, last: dt.datetime | None) -> Timezone:
    """The zone's VTIMEZONE for instants in [first, last] (None: an endless series).

    Each STANDARD/DAYLIGHT starts at its rule's first onset in tzdata rather than at `first`,
    so that the bytes do not change when events are added, and only rules in force at some
    instant of the span are written.
    """
    span_end_year = max((last or first).year + (0 if last else 10), SCAN_AT_LEAST_TO_YEAR)
    runs = _zone_runs(name, min(SCAN_FROM_YEAR, first.year - 1), span_end_year + SCAN_BEYOND_YEARS)
    chosen = [run for run in runs if run.onsets[0].at <= (last or dt.datetime.max.replace(tzinfo=UTC))
              and (run.ends_at is None or run.ends_at > first)]
    timezone = Timezone()
    timezone.add("TZID", name)
    for run in sorted(chosen, key=lambda r: r.onsets[0].at):
        timezone.add_component(_observance(run, first))
    return timezone


def _observance(run: Run, first: dt.datetime) -> TimezoneStandard | TimezoneDaylight:
    onsets = run.onsets
    if onsets[-1].at <= first and not run.open_ended:
        onsets = onsets[-1:]  # a rule that ended before the span: only its last onset matters
    head = onsets[0]
    component = TimezoneDaylight() if head.daylight else TimezoneStandard()
    component.add("DTSTART", head.local)
    component.add("TZOFFSETFROM", head.offset_from)
    component.add("TZOFFSETTO", head.offset_to)
    if head.name:
        component.add("TZNAME", head.name)
    if len(onsets) > 1:
        ordinal = -1 if -1 in run.ordinals else min(run.ordinals)
        rule: dict = {"FREQ": "YEARLY", "BYMONTH": head.local.month,
                      "BYDAY": f"{ordinal}{WEEKDAYS[head.local.weekday()]}"}
        if not run.open_ended:
            # UNTIL is UTC (RFC 5545), but some parsers compare it with the local DTSTART as
            # if both were wall clocks and drop the last onset; a day later suits both readings
            # and is still a year before the next onset the rule would make.
            rule["UNTIL"] = onsets[-1].at + DAY
        component.add("RRULE", rule)
    return component
