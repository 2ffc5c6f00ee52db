"""Occurrences, in UTC, of a source calendar (icalendar + recurring-ical-events) and of event files."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

import icalendar
import recurring_ical_events

from pipeline.model import Status
from pipeline.sources.events import load_events
from pipeline.sources.settings import Settings

PINNED = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)
UNTIL = PINNED.replace(year=2027)  # two years on

# (start, end, cancelled): all-day as dates (exclusive end), timed as UTC datetimes.
Key = tuple[dt.date, dt.date, bool]


def _utc(value: dt.date, floating: str | None) -> dt.date:
    if not isinstance(value, dt.datetime):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=zoneinfo.ZoneInfo(floating or "UTC"))
    return value.astimezone(dt.UTC)


def of_source(data: bytes, floating: str | None = None) -> dict[Key, str]:
    """Each occurrence of the calendar's VEVENTs -> its wall-clock start date as written there."""
    calendar = icalendar.Calendar.from_ical(data)
    found: dict[Key, str] = {}
    for component in recurring_ical_events.of(calendar).between(PINNED, UNTIL):
        start = component["DTSTART"].dt
        end = component["DTEND"].dt if "DTEND" in component else (
            start + component["DURATION"].dt if "DURATION" in component else
            start + dt.timedelta(days=1) if not isinstance(start, dt.datetime) else start)
        cancelled = str(component.get("STATUS", "")).upper() == "CANCELLED"
        found[(_utc(start, floating), _utc(end, floating), cancelled)] = f"{start:%Y-%m-%d}"
    return found


def of_files(folder: Path) -> dict[Key, str]:
    """Each occurrence of the event files (as `pipeline check` reads them) -> its start date."""
    found: dict[Key, str] = {}
    for event in load_events(folder, Settings()):
        for occurrence in event.occurrences(after=PINNED, before=UNTIL):
            cancelled = event.status is Status.CANCELLED or bool(
                getattr(occurrence, "change", None) and occurrence.change.cancelled)
            key = (_utc(occurrence.start, None), _utc(occurrence.end, None), cancelled)
            found[key] = f"{occurrence.start:%Y-%m-%d}"
    return found
