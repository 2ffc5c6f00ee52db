"""Occurrences of a timed series whose wall-clock time falls in a DST gap or fold."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import lru_cache
from typing import Any

UTC = dt.UTC
# A series is checked over its first 40 years (and first occurrences): zones follow a yearly
# rule from 2037 on, so a series that meets a gap meets one within a 28-year calendar cycle.
SCAN_YEARS = 40
# Offsets are compared a week apart (then the change is found to the second): no zone has
# changed its offset and back within a week since 1970. A daily step cost 0.8 s a zone.
STEP = dt.timedelta(days=7)


@lru_cache(maxsize=4096)
def _windows(zone: zoneinfo.ZoneInfo, year: int) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    """The wall-clock spans [from, to) of `year` that do not exist or happen twice in `zone`."""
    found = []
    day = dt.datetime(year, 1, 1, tzinfo=UTC) - dt.timedelta(days=1)
    stop = dt.datetime(year + 1, 1, 1, tzinfo=UTC) - dt.timedelta(days=1)
    offset = day.astimezone(zone).utcoffset()
    while day < stop:
        following = min(day + STEP, stop)
        after = following.astimezone(zone).utcoffset()
        if after != offset:
            low, high = day, following  # the change happens in (low, high]: halve to the second
            while high - low > dt.timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            at = high.replace(microsecond=0).replace(tzinfo=None)
            assert offset is not None and after is not None
            # Forward: the local times between the two offsets never happen; back: twice.
            found.append((at + min(offset, after), at + max(offset, after)))
            offset = after
        day = following
    return tuple(found)


def dst_clashes(walk: Any, start: dt.datetime, zone: zoneinfo.ZoneInfo, rule: str,
                skipped: set[dt.datetime], limit: int = 5) -> list[tuple[dt.datetime, str]]:
    """Up to `limit` occurrences of the series (not skipped) in a gap or fold, with why.

    Only the wall-clock times the rule can produce (the start's, or its BYHOUR hours at the
    start's minute) are tried in the zone's gaps and folds, so a series at 18:00 costs a
    cached scan of the zone and nothing more.
    """
    parts = dict(part.partition("=")[::2] for part in rule.split(";") if part)
    hours = [int(h) for h in parts["BYHOUR"].split(",")] if "BYHOUR" in parts else [start.hour]
    times = [start.time().replace(hour=hour) for hour in hours]
    last_year = min(walk.last.year if walk.done and walk.last is not None else 9998,
                    start.year + SCAN_YEARS)
    clashes: list[tuple[dt.datetime, str]] = []
    for year in range(start.year, last_year + 1):
        for low, high in _windows(zone, year):
            for day in sorted({low.date(), high.date()}):
                for time in times:
                    naive = dt.datetime.combine(day, time)
                    if not low <= naive < high:
                        continue
                    probe = naive.replace(tzinfo=zone)
                    if probe < start or probe in skipped:
                        continue
                    walk.until(probe)
                    if probe in walk.seen:
                        gap = probe.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive
                        clashes.append((naive, "does not exist" if gap else "happens twice"))
                        if len(clashes) >= limit:
                            return clashes
        if walk.done and walk.last is not None and walk.last.year < year:
            break
    return clashes
