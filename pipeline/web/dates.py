"""Dates and times as the pages write them, in the site's locale (Babel's CLDR formats)."""

from __future__ import annotations

import datetime as dt

from pipeline.locales import Localizer, first_localizer
from pipeline.model import Event, Occurrence


def utc_offset(moment: dt.datetime) -> str:
    """`UTC+9`, `UTC-3:30`, `UTC+0` for the offset of an aware datetime."""
    offset = moment.utcoffset() or dt.timedelta()
    minutes = int(offset.total_seconds()) // 60
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'-' if minutes < 0 else '+'}{hours}" + (f":{rest:02d}" if rest else "")


def format_when(event: Event, occurrence: Occurrence, words: Localizer | None = None) -> str:
    """The occurrence's days; or weekday, day and times in the event's zone with its UTC offset."""
    span = (words or first_localizer()).span(occurrence.start, occurrence.end)
    if event.all_day:
        return span
    start, end = occurrence.start, occurrence.end
    assert isinstance(start, dt.datetime) and isinstance(end, dt.datetime)
    # Across a DST change the end has another offset: both are given, never guessed.
    offsets = utc_offset(start) if start.utcoffset() == end.utcoffset() else \
        f"{utc_offset(start)} \u2013 {utc_offset(end)}"
    return f"{span} ({event.timezone}, {offsets})"


def format_moment(event: Event, value: dt.date, words: Localizer | None = None) -> str:
    """One start: a day, or a day and time with its offset (the zone is the event's)."""
    words = words or first_localizer()
    if not isinstance(value, dt.datetime):
        return words.day(value)
    return f"{words.moment(value)} {utc_offset(value)}"


def iso(value: dt.date) -> str:
    """ISO 8601 as schema.org and <time datetime> want it: a date, or a time with its offset."""
    return value.isoformat()


def last_day(event: Event, occurrence: Occurrence) -> dt.date:
    """An occurrence's end as people write it: the last day (all-day), else the end instant."""
    return occurrence.end - dt.timedelta(days=1) if event.all_day else occurrence.end
