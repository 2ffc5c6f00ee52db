"""An event's `recurrence.changes`: single occurrences of a series moved, retitled or cancelled."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from pipeline.model import Location, OccurrenceChange, Status
from pipeline.sources.fields import Fields, localize, parse_wall_clock
from pipeline.sources.settings import parse_duration

CHANGE_KEYS = ("occurrence", "start", "end", "duration", "title", "summary", "location", "status")
MOVES = ("start", "end", "duration")
ReadLocation = Callable[[Fields], Location | None]


class Walk:
    """A series' first `limit` occurrences (naive for all-day), walked only as far as asked.

    An open-ended series with an 'except' item used to be walked 10,001 steps: 5 s of
    validation for a hundred such events.
    """

    def __init__(self, occurrences: Any, limit: int) -> None:
        self._occurrences = iter(occurrences)
        self._left = limit
        self.seen: set[dt.datetime] = set()
        self.order: list[dt.datetime] = []  # the same, in order (nearest dates, days)
        self.last: dt.datetime | None = None
        self.done = False  # every occurrence of the window has been seen

    def until(self, probe: dt.datetime | None) -> None:
        """Walk on to the first occurrence at or after `probe` (None: to the window's end)."""
        while not self.done and (probe is None or self.last is None or self.last < probe):
            occurrence = next(self._occurrences, None) if self._left > 0 else None
            if occurrence is None:
                self.done = True
            else:
                self._left -= 1
                self.seen.add(occurrence)
                self.order.append(occurrence)
                self.last = occurrence

    def within(self, first: dt.datetime, stop: dt.datetime) -> list[dt.datetime]:
        """The occurrences in [first, stop)."""
        self.until(stop)
        return self.order[bisect_left(self.order, first):bisect_left(self.order, stop)]

    def nearest(self, probe: dt.datetime) -> list[dt.datetime]:
        """The occurrences just before and just after `probe` (those that exist)."""
        self.until(probe)
        at = bisect_left(self.order, probe)
        return self.order[max(at - 1, 0):at + 1]


def shown(value: dt.date, all_day: bool) -> str:
    """A start as an event file writes it."""
    return f"{value:%Y-%m-%d}" if all_day else f"{value:%Y-%m-%d %H:%M}"


class ChangeReader:
    """Reads `recurrence.changes` of one series against its walk of occurrences."""

    def __init__(self, rec: Fields, walk: Walk, start: dt.date, zone: zoneinfo.ZoneInfo | None,
                 skipped: set[dt.datetime], read_location: ReadLocation) -> None:
        self.rec, self.walk, self.zone = rec, walk, zone
        self.all_day = not isinstance(start, dt.datetime)
        self.start_time = start.time() if isinstance(start, dt.datetime) else dt.time()
        self.skipped = skipped
        self.read_location = read_location

    def _day(self, day: dt.date) -> dt.datetime:
        """Midnight of `day` as the walk's occurrences are written (naive or in the zone)."""
        return dt.datetime.combine(day, dt.time(), None if self.all_day else self.zone)

    def read(self) -> tuple[OccurrenceChange, ...]:
        """Every valid change, sorted by the occurrence it changes; problems recorded."""
        complaint = ("each item of 'recurrence.changes' must be a mapping with 'occurrence' and "
                     "what changes (start, end, duration, title, summary, location, status)")
        changes: dict[dt.datetime, tuple[OccurrenceChange, int]] = {}
        for item in self.rec.mappings("changes", CHANGE_KEYS, complaint):
            line = item.line()
            probe = self._occurrence(item)
            if probe is None:
                continue
            if probe in changes:
                item.error("occurrence", f"occurrence {shown(probe, self.all_day)} is already "
                           f"changed at line {changes[probe][1]}; merge the two items")
                continue
            change = self._change(item, probe)
            if change is not None:
                changes[probe] = (change, line)
        self._check_landings(changes)
        return tuple(change for _, (change, _) in sorted(changes.items()))

    def _occurrence(self, item: Fields) -> dt.datetime | None:
        """The walk's occurrence that `occurrence:` names, or None (reported)."""
        value = item.parsed("occurrence", parse_wall_clock, "a date or date-time",
                            "write the occurrence's original date, e.g. 2025-04-10", required=True)
        if value is None:
            return None
        written = shown(value, not isinstance(value, dt.datetime))
        if self.all_day and isinstance(value, dt.datetime):
            item.error("occurrence", f"'occurrence' {written} has a time but the series is "
                       "all-day; write the date only")
            return None
        if isinstance(value, dt.datetime):
            probe: dt.datetime | None = value.replace(tzinfo=self.zone)
            found = [probe] if self.walk.within(probe, probe + dt.timedelta(seconds=1)) else []
        else:
            found = self.walk.within(self._day(value), self._day(value + dt.timedelta(days=1)))
            if len(found) > 1:
                item.error("occurrence", f"the series has {len(found)} occurrences on {written}; "
                           "write the one meant as a date-time, e.g. "
                           f"{shown(found[0], False)}")
                return None
        if not found:
            probe = value if isinstance(value, dt.datetime) else self._day(value)
            if isinstance(probe, dt.datetime) and probe.tzinfo is None and not self.all_day:
                probe = probe.replace(tzinfo=self.zone)
            near = " and ".join(shown(o, self.all_day) for o in self.walk.nearest(probe))
            beyond = self.walk.done and self.walk.last is not None and probe > self.walk.last
            item.error("occurrence", f"'occurrence' {written} is not an occurrence of the "
                       "series" + (f"; the nearest are {near}" if near and not beyond else
                                   f"; its last one (within the first occurrences read) is {near}"
                                   if near else "") + "; write an original date of the series")
            return None
        if found[0] in self.skipped:
            item.error("occurrence", f"occurrence {written} is skipped by 'except'; remove it "
                       "from 'except' to change it, or remove this change")
            return None
        return found[0]

    def _change(self, item: Fields, original: dt.datetime) -> OccurrenceChange | None:
        """One change of the occurrence at `original`, or None (reported)."""
        status = item.choice("status", [s.value for s in Status])
        title = item.text("title", one_line=True)
        summary = item.text("summary")
        location = self.read_location(item)
        start, end, ok = self._moved(item, original)
        moves = [key for key in MOVES if item.data.get(key) is not None]
        if status == Status.CANCELLED and moves:
            item.error(moves[0], "a cancelled occurrence is not moved; remove "
                       f"'{', '.join(moves)}' or the 'status: cancelled'")
            return None
        changes = (status, title, summary, location, *(item.data.get(k) for k in MOVES))
        if all(value is None for value in changes):
            item.error(None, "this change changes nothing; add 'start' (moved), 'status: "
                       "cancelled', a 'title', 'summary' or 'location', or remove it")
            return None
        if not ok:
            return None
        return OccurrenceChange(original.date() if self.all_day else original, start, end,
                                title, " ".join(summary.split()) if summary else None, location,
                                Status(status) if status else None)

    def _moved(self, item: Fields, original: dt.datetime,
               ) -> tuple[dt.date | None, dt.date | None, bool]:
        """The change's new start and end (None: unchanged) and whether they are valid."""
        fix = ("write YYYY-MM-DD (the series is all-day)" if self.all_day else
               "write YYYY-MM-DD HH:MM (the series has a time of day)")
        new_start = item.parsed("start", parse_wall_clock, "a date or date-time", fix)
        new_end = item.parsed("end", parse_wall_clock, "a date or date-time", fix)
        duration_text = item.text("duration", one_line=True)
        if self.all_day:
            if duration_text is not None:
                item.error("duration", "'duration' is for timed series; an all-day series "
                           "uses 'end' (the last day)")
                return None, None, False
            for key, value in (("start", new_start), ("end", new_end)):
                if isinstance(value, dt.datetime):
                    item.error(key, f"'{item.name(key)}' has a time but the series is all-day; "
                               "write the date only")
                    return None, None, False
            first = new_start or original.date()
            if new_end is not None and new_end < first:
                item.error("end", f"'end' {new_end} is before the start {first}; 'end' is the "
                           "last day, inclusive")
                return None, None, False
            return new_start, new_end, True
        assert self.zone is not None
        for key, value in (("start", new_start), ("end", new_end)):
            if value is not None and not isinstance(value, dt.datetime):
                item.error(key, f"'{item.name(key)}' must be a date-time because the series "
                           f"has a time of day; e.g. '{value} {self.start_time:%H:%M}'")
                return None, None, False
        if new_end is not None and duration_text is not None:
            item.error("duration", "give either 'end' or 'duration', not both")
            return None, None, False
        start = localize(item, "start", new_start, self.zone) if new_start else None
        if new_start is not None and start is None:
            return None, None, False
        first = start or original
        if duration_text is not None:
            duration = parse_duration(duration_text)
            if duration is None:
                item.error("duration", f"'duration' {duration_text!r} is not a duration; write "
                           "e.g. 90m, 2h or 1h30m")
                return None, None, False
            return start, (first.astimezone(dt.UTC) + duration).astimezone(self.zone), True
        end = localize(item, "end", new_end, self.zone) if new_end else None  # type: ignore[arg-type]
        if new_end is not None and end is None:
            return None, None, False
        if end is not None and end <= first:
            item.error("end", f"'end' {shown(end, False)} is not after the start "
                       f"{shown(first, False)}")
            return None, None, False
        return start, end, True

    def _check_landings(self, changes: dict[dt.datetime, tuple[OccurrenceChange, int]]) -> None:
        """Refuse (and drop) moves onto a day that another occurrence of the series holds."""
        moved_away = {original for original, (change, _) in changes.items()
                      if change.start is not None}
        landed: dict[dt.date, dt.datetime] = {}
        for original, (change, line) in sorted(changes.items()):
            if change.start is None:
                continue
            day = change.start if self.all_day else change.start.date()  # type: ignore[union-attr]
            others = [o for o in self.walk.within(self._day(day),
                                                  self._day(day + dt.timedelta(days=1)))
                      if o != original and o not in self.skipped and o not in moved_away]
            other = others[0] if others else landed.get(day)
            if other is not None:
                self.rec.error("changes", f"the change of {shown(original, self.all_day)} moves "
                               f"it onto {day}, the day of another occurrence "
                               f"({shown(other, self.all_day)}); calendar apps would show both: "
                               "move it to another day, or cancel or 'except' that one", line)
                del changes[original]
                continue
            landed[day] = original
