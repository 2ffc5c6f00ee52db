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
from pipeline.sources.fields import Fields, parse_wall_clock

# A bounded series may have this many occurrences; 'except' items must be among the first ones.
MAX_OCCURRENCES = 10_000


def read_recurrence(f: Fields, start: Any, zone: zoneinfo.ZoneInfo | None,
                    read_location: ReadLocation) -> Recurrence | None:
    """The event's `recurrence:` as a Recurrence checked against its start, or None."""
    rec = f.mapping("recurrence")
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
            problem = f"rule {rule!r} is not a valid RRULE: {error}"
    if problem:
        rec.error("rule", problem)
        return None
    first = next(iter(parsed), None)  # type: ignore[call-overload]
    if first is None:
        rec.error("rule", f"rule {rule!r} has no occurrence from 'start' on; check its UNTIL, "
                  "COUNT and BY... parts")
        return None
    if first != dtstart:
        shown = f"{first:%Y-%m-%d}" if all_day else f"{first:%Y-%m-%d %H:%M}"
        rec.error("rule", f"'start' is not an occurrence of rule {rule!r}; calendar apps "
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
        rec.error("rule", f"rule {rule!r} has more than {MAX_OCCURRENCES:,} occurrences; use a "
                  "nearer UNTIL or a smaller COUNT, or leave the series open-ended")
        return None
    exceptions = []
    for item, line in rec.items("except"):
        value = parse_wall_clock(str(item)) if isinstance(item, str) else None
        if value is None:
            rec.error("except", f"'except' item {item!r} is not a date or date-time", line)
            continue
        if all_day and isinstance(value, dt.datetime):
            rec.error("except", f"'except' item {item!r} has a time but the series is all-day; "
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
            rec.error("except", f"'except' item {item!r} is " + (
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


def rrule_problem(rule: str, all_day: bool) -> str | None:
    """Why `rule` cannot go into a feed as this event's RRULE, or None."""
    parts = dict(part.partition("=")[::2] for part in rule.split(";") if part)
    if "FREQ" not in parts:
        return f"rule {rule!r} has no FREQ; write e.g. FREQ=WEEKLY;BYDAY=WE"
    if "DTSTART" in parts or any(c in rule for c in ":\r\n\\\""):
        return f"rule {rule!r} must hold RRULE parts only (FREQ=...;BYDAY=...)"
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
        return (f"rule {rule!r} repeats within the hour or the day; events repeat at most daily "
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
        return f"rule {rule!r} is not a valid RRULE: {error}"
    return None
