"""An event's `recurrence:` (an RRULE, `except` dates, `changes`), checked as clients will read it."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from dateutil.rrule import rrulestr
from icalendar.prop import vRecur

from pipeline.model import Recurrence
from pipeline.sources.changes import ChangeReader, ReadLocation, Walk
from pipeline.sources.dstcheck import dst_clashes
from pipeline.sources.fields import YEARS, Fields, parse_wall_clock, suggest
from pipeline.sources.yamlsource import excerpt

# A bounded series may have this many occurrences; 'except' items must be among the first ones.
MAX_OCCURRENCES = 10_000
LONGEST_MONTHS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # in a leap year


def read_recurrence(f: Fields, start: Any, zone: zoneinfo.ZoneInfo | None,
                    read_location: ReadLocation) -> Recurrence | None:
    """The event's `recurrence:` as a Recurrence checked against its start, or None."""
    rec = f.mapping("recurrence", "{rule: FREQ=WEEKLY;BYDAY=TH}")
    if rec is None or start is None:
        return None
    rec.reject_unknown(("rule", "except", "changes"))
    rule = rec.text("rule", required=True, one_line=True)
    if rule is None:
        return None
    rule = rule.removeprefix("RRULE:").upper()
    all_day = not isinstance(start, dt.datetime)
    problem = rrule_problem(rule, all_day)
    if problem is None:
        dtstart = dt.datetime.combine(start, dt.time()) if all_day else start
        try:
            parsed = rrulestr(rule, dtstart=dtstart)
        except (ValueError, TypeError) as error:
            problem = f"rule {excerpt(rule)} is not a valid RRULE: {error}"
    if problem:
        rec.error("rule", problem)
        return None
    first = first_occurrence(parsed, dtstart)
    if first is None:
        rec.error("rule", f"this rule has no occurrence: no date ever matches {excerpt(rule)}; "
                  "check its BYMONTH, BYMONTHDAY and BYDAY parts")
        return None
    if first == dtstart:  # then UNTIL (or COUNT) decides whether 'start' is in the series
        first = next(iter(parsed), None)  # type: ignore[call-overload]
    if first is None:
        rec.error("rule", f"rule {excerpt(rule)} has no occurrence from 'start' on; check its "
                  "UNTIL, COUNT and BY... parts")
        return None
    if first != dtstart:
        shown = f"{first:%Y-%m-%d}" if all_day else f"{first:%Y-%m-%d %H:%M}"
        rec.error("rule", f"'start' is not an occurrence of rule {excerpt(rule)}; calendar apps "
                  "disagree on such series: move 'start' to the first occurrence"
                  + (f" ({shown})" if first else ""))
        return None
    bounded = Recurrence(rule).bounded
    # Walks of the series are linear in its length: bound it, and look for 'except' items
    # among its first occurrences only (an unbounded rule would be walked forever).
    window = Walk(parsed, MAX_OCCURRENCES + 1)
    if bounded:
        window.until(None)
    if bounded and len(window.seen) > MAX_OCCURRENCES:
        rec.error("rule", f"rule {excerpt(rule)} has more than {MAX_OCCURRENCES:,} occurrences; use a "
                  "nearer UNTIL or a smaller COUNT, or leave the series open-ended")
        return None
    if bounded and window.last is not None and window.last.year > YEARS[1]:
        rec.error("rule", f"rule {excerpt(rule)} ends in the year {window.last.year}, after "
                  f"{YEARS[1]}; end it earlier (UNTIL, COUNT) or leave it open-ended")
        return None
    exceptions = []
    for item, line in rec.items("except"):
        value = parse_wall_clock(str(item)) if isinstance(item, str) else None
        if value is None:
            rec.error("except", f"'except' item {excerpt(item)} is not a date or date-time", line)
            continue
        if all_day and isinstance(value, dt.datetime):
            rec.error("except", f"'except' item {excerpt(item)} has a time but the series is all-day; "
                      "write the date only", line)
            continue
        if not all_day:
            naive = value if isinstance(value, dt.datetime) else dt.datetime.combine(
                value, start.time())
            value = naive.replace(tzinfo=zone)
        probe = value if not all_day else dt.datetime.combine(value, dt.time())
        window.until(probe)
        if probe not in window.seen:
            beyond = not bounded and window.done and probe > window.last
            rec.error("except", f"'except' item {excerpt(item)} is " + (
                f"beyond the series' first {MAX_OCCURRENCES:,} occurrences; end the series "
                "before it (UNTIL)" if beyond else
                "not an occurrence of the series; remove it or fix the date"), line)
            continue
        exceptions.append(value)
    skipped = {dt.datetime.combine(v, dt.time()) if all_day else v for v in exceptions}
    # Stops at the first kept occurrence: at most len(except) + 1 steps, even for endless rules.
    if exceptions and next((o for o in parsed if o not in skipped), None) is None:
        rec.error("except", "'except' skips every occurrence of the series; remove the event "
                  "instead (a series with no occurrence cannot be published)")
        return None
    if not all_day and zone is not None:
        clashes = dst_clashes(window, start, zone, rule, skipped)
        if clashes:
            # Clients disagree on such occurrences (dropped, shifted an hour, zero-length):
            # refused like a 'start' in a gap or fold.
            shown = ", ".join(f"{naive:%Y-%m-%d %H:%M} {why}" for naive, why in clashes)
            more = " (and maybe more)" if len(clashes) >= 5 else ""
            rec.error("rule", f"rule {rule!r} puts occurrences where the clocks change in "
                      f"{zone}: {shown}{more}; add those dates to 'except' or move the series "
                      "to another time of day (calendar apps disagree on such occurrences)")
            return None
    changes = ChangeReader(rec, window, start, zone, skipped, read_location).read()
    return Recurrence(rule, tuple(sorted(set(exceptions))), changes)


def first_occurrence(parsed: Any, dtstart: dt.datetime) -> dt.datetime | None:
    """The first occurrence of `parsed` without its COUNT/UNTIL, or None when none exists.

    dateutil looks for a match up to the year 9999 (6 s for FREQ=YEARLY;BYMONTH=2;
    BYMONTHDAY=30, 26 s for FREQ=DAILY). The Gregorian calendar, weekdays included, repeats
    every 400 years, and a shift of 400 * INTERVAL years keeps the rule's phase: searching from
    the same date moved near the year 9999 ends after one such cycle, and finds the same
    occurrence moved by the same number of years.
    """
    # dateutil keeps the parts it read only in private attributes.
    months, days = parsed._bymonth or range(1, 13), parsed._bymonthday
    if days and not parsed._bynmonthday and all(
            day > LONGEST_MONTHS[month - 1] for month in months for day in days):
        return None  # e.g. BYMONTH=2;BYMONTHDAY=30: known at once, without a search
    cycle = 400 * parsed._interval
    naive = dtstart.replace(tzinfo=None)
    # The search starts between one and two cycles before the year 9999.
    shift = cycle * max(0, (dt.MAXYEAR - cycle - naive.year) // cycle)
    probe = parsed.replace(dtstart=naive.replace(year=naive.year + shift), until=None, count=None)
    found = next(iter(probe), None)
    if found is None:
        return None
    return found.replace(year=found.year - shift, tzinfo=dtstart.tzinfo)


# RFC 5545's frequencies; the sub-daily ones are then refused with a reason of their own.
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY", "MINUTELY", "SECONDLY")


def rrule_problem(rule: str, all_day: bool) -> str | None:
    """Why `rule` cannot go into a feed as this event's RRULE, or None."""
    parts = dict(part.partition("=")[::2] for part in rule.split(";") if part)
    if "FREQ" not in parts:
        return f"rule {excerpt(rule)} has no FREQ; write e.g. FREQ=WEEKLY;BYDAY=WE"
    if parts["FREQ"] not in FREQUENCIES:
        hint = suggest(parts["FREQ"], FREQUENCIES) or "; write DAILY, WEEKLY, MONTHLY or YEARLY"
        return f"FREQ={excerpt(parts['FREQ'])} is not a frequency{hint}"
    if "DTSTART" in parts or any(c in rule for c in ":\r\n\\\""):
        return f"rule {excerpt(rule)} must hold RRULE parts only (FREQ=...;BYDAY=...)"
    until = parts.get("UNTIL")
    if until is not None:
        if all_day and "T" in until:
            return (f"UNTIL={until} has a time but the series is all-day; write the last date, "
                    f"e.g. UNTIL={until[:8]}")
        if not all_day and not until.endswith("Z"):
            return (f"UNTIL={until} must be a UTC date-time in a timed series (RFC 5545); "
                    f"write e.g. UNTIL={until[:8]}T235959Z")
    # Sub-daily rules make every walk of a series (has it ended? what is next?) millions of
    # steps long; a community calendar repeats events at most daily.
    if parts["FREQ"] in ("SECONDLY", "MINUTELY", "HOURLY") or {"BYMINUTE", "BYSECOND"} & set(parts):
        return (f"rule {excerpt(rule)} repeats within the hour or the day; events repeat at most daily "
                "(FREQ=DAILY, WEEKLY, MONTHLY or YEARLY): write one event per time of day")
    for name in ("COUNT", "INTERVAL"):
        # INTERVAL=0 makes dateutil repeat 'start' forever: every later walk would hang.
        if name in parts and not (parts[name].isdigit() and int(parts[name]) >= 1):
            return f"{name}={parts[name]} must be a whole number of at least 1"
    if "COUNT" in parts and "UNTIL" in parts:
        return "a rule takes COUNT or UNTIL, not both"
    try:
        vRecur.from_ical(rule)
    except ValueError as error:
        return f"rule {excerpt(rule)} is not a valid RRULE: {error}"
    return None
