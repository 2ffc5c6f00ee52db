"""One VEVENT series (its master and its RECURRENCE-ID overrides) as a Draft, with notes."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from dateutil.rrule import rrulestr
from icalendar import Component
from icalendar.prop import vRecur

from pipeline.importer.draft import Change, Draft, slugify
from pipeline.importer.text import description_text, one_line
from pipeline.importer.zones import Zones
from pipeline.sources.fields import url_problem
from pipeline.sources.recurrence import rrule_problem

DROPPED = {  # property -> why the event file does not keep it
    "ATTENDEE": "attendees are not kept: the feeds are public and list no people",
    "ORGANIZER": "the organizer is not kept (the site's settings name one for every event)",
    "ATTACH": "attachments are not kept; add them as 'links' if they matter",
}


class Skip(Exception):
    """The VEVENT cannot become an event file; `problem`: the input is wrong (exit 1)."""

    def __init__(self, reason: str, problem: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.problem = problem


@dataclass(frozen=True)
class Context:
    """What every VEVENT of one calendar is read with."""

    zones: Zones
    calendar_zone: str | None  # X-WR-TIMEZONE, resolved
    floating_zone: str | None  # --timezone, else X-WR-TIMEZONE
    kinds: tuple[str, ...]
    default_kind: str


def _values(event: Component, name: str) -> list[Any]:
    value = event.get(name)
    return [] if value is None else value if isinstance(value, list) else [value]


def draft_from(event: Component, overrides: list[Component], ctx: Context, origin: str,
               uid: str | None, lone_occurrence: bool = False) -> Draft:
    """The event file of a VEVENT and its overrides; Skip when it cannot be one."""
    notes: list[str] = []
    if "DTSTART" not in event:
        raise Skip("it has no DTSTART (an event without a start cannot be placed)")
    raw = event["DTSTART"].dt
    rules = _values(event, "RRULE")
    zone = _zone_of(event, raw, ctx, bool(rules), notes)
    all_day = not isinstance(raw, dt.datetime)
    start = raw if all_day else wall(raw, zone)  # type: ignore[arg-type]
    end, duration = _end(event, start, zone, all_day, notes)
    title = one_line(str(event.get("SUMMARY", "")))
    if not title:
        title = "Untitled event"
        notes.append("it has no SUMMARY: titled 'Untitled event'")
    kind, tags, kind_named = _kind_and_tags(event, ctx)
    summary, description = _texts(event)
    url = str(event.get("URL", "")).strip() or None
    if url and url_problem(url):
        notes.append(f"URL {url!r} is not an http(s) address: not kept")
        url = None
    status = str(event.get("STATUS", "")).strip().lower()
    status = status if status in ("cancelled", "tentative") else None
    rule, exceptions, changes = None, (), ()
    if lone_occurrence:
        notes.append("it is one changed occurrence of a series this file does not have: "
                     "imported as a single event")
    if rules:
        if len(rules) > 1:
            notes.append(f"{len(rules)} RRULEs: only the first is kept (the pipeline takes one)")
        rule = _rule(rules[0], zone, all_day)
        problem = rrule_problem(rule, all_day)
        if problem:
            raise Skip(f"its RRULE cannot be published: {problem}")
        exceptions, changes = _exceptions_and_changes(event, overrides, rule, start, end, zone,
                                                      all_day, notes)
    elif overrides:
        notes.append(f"{len(overrides)} RECURRENCE-ID VEVENT(s) change a VEVENT without RRULE: ignored")
    _notes_on_the_rest(event, notes)
    return Draft(source_uid=uid, title=title, kind=kind, start=start, end=end, duration=duration,
                 timezone=zone, status=status, location=_place(event),
                 url=url, summary=summary, description=description, tags=tags, rule=rule,
                 exceptions=exceptions, changes=changes, origin=origin, notes=tuple(notes),
                 kind_named=kind_named)


def wall(value: dt.date, zone: str | None) -> dt.date:
    """A DATE-TIME as the wall-clock time in `zone` (naive); floating times are taken as they are."""
    if not isinstance(value, dt.datetime) or value.tzinfo is None or zone is None:
        return value
    return value.astimezone(zoneinfo.ZoneInfo(zone)).replace(tzinfo=None)


def _zone_of(event: Component, raw: dt.date, ctx: Context, recurring: bool,
             notes: list[str]) -> str | None:
    """The IANA zone the event file will carry (never guessed: see docs/import.md)."""
    if not isinstance(raw, dt.datetime):
        return ctx.calendar_zone  # all-day: when its last day is over, if the calendar says
    tzid = event["DTSTART"].params.get("TZID")
    if tzid:
        zone, note = ctx.zones.resolve(str(tzid), raw.year)
        if zone is None:
            raise Skip(note or f"time zone '{tzid}' is unknown")
        if note:
            notes.append(note)
        return zone
    if raw.tzinfo is None:  # floating: the same wall clock everywhere
        if ctx.floating_zone is None:
            raise Skip("its times are floating (no TZID, no Z) and the calendar names no "
                       "X-WR-TIMEZONE: pass --timezone ZONE to say where they are", problem=True)
        return ctx.floating_zone
    if ctx.calendar_zone:  # UTC, as Google writes when X-WR-TIMEZONE names the local zone
        return ctx.calendar_zone
    if ctx.floating_zone and not recurring:
        return ctx.floating_zone  # the same instant; a series would move across DST
    notes.append("its times are in UTC and the calendar names no zone: kept as 'timezone: UTC'"
                 + (" (the series stays at the same UTC time across DST, as in the source)"
                    if recurring else "; set the local zone and its wall-clock times if you like"))
    return "UTC"


def _end(event: Component, start: dt.date, zone: str | None, all_day: bool,
         notes: list[str]) -> tuple[dt.date | None, str | None]:
    """(inclusive last day or wall-clock end, or None; a duration text, or None)."""
    if "DTEND" in event:
        raw_end = event["DTEND"].dt
        if all_day:
            day = raw_end.date() if isinstance(raw_end, dt.datetime) else raw_end
            last = max(day - dt.timedelta(days=1), start)  # DTEND is exclusive, 'end' inclusive
            return (last, None) if last != start else (None, None)
        end = wall(raw_end, zone) if isinstance(raw_end, dt.datetime) else None
        if end is not None and end > start:  # type: ignore[operator]
            return end, None
        notes.append("its DTEND is not after DTSTART: written with 'duration: 1h'; check it")
        return None, "1h"
    if "DURATION" in event:
        length = event["DURATION"].dt
        if all_day:
            days = max(length.days, 1)
            return (start + dt.timedelta(days=days - 1), None) if days > 1 else (None, None)
        if length > dt.timedelta(0):
            return None, _duration_text(length, notes)
    if all_day:
        return None, None
    notes.append("it has no end (a zero-length event); the pipeline needs one: written with "
                 "'duration: 1h', check it")
    return None, "1h"


def _duration_text(length: dt.timedelta, notes: list[str]) -> str:
    minutes, seconds = divmod(int(length.total_seconds()), 60)
    if seconds:
        notes.append(f"its DURATION has {seconds} s more than whole minutes: rounded down")
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return "".join(f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n)


def _kind_and_tags(event: Component, ctx: Context) -> tuple[str, tuple[str, ...], bool]:
    """The first CATEGORY that is a kind is the kind (else --kind's: False); the others
    become tags (slugs)."""
    names: list[str] = []
    for value in _values(event, "CATEGORIES"):
        names += [str(c) for c in getattr(value, "cats", [value])]
    named = next((n.lower() for n in names if n.lower() in ctx.kinds), None)
    kind = named or ctx.default_kind
    tags = [slugify(n) for n in names if n.lower() != kind]
    return kind, tuple(dict.fromkeys(t for t in tags if t)), named is not None


def _texts(event: Component) -> tuple[str | None, str | None]:
    """(summary, description): one plain paragraph is a summary, anything richer a description."""
    html = next((_unescape(str(v)) for v in _values(event, "X-ALT-DESC")
                 if str(getattr(v, "params", {}).get("FMTTYPE", "")).lower() == "text/html"), None)
    plain = str(event.get("DESCRIPTION", "")) or None
    text = description_text(plain, html)
    if text is None:
        return None, None
    # This pipeline's own feeds append the page and join links, kept as 'url' and 'location'.
    url, conference = str(event.get("URL", "")), str(event.get("CONFERENCE", ""))
    paragraphs = [p for p in text.split("\n\n") if p not in (
        f"Event page: {url}", f"Join online: {conference}", url)]
    text = "\n\n".join(paragraphs).strip()
    if not text:
        return None, None
    if "\n" not in text and html is None and not (plain and text != plain.strip()):
        return text, None
    return None, text


def _unescape(value: str) -> str:
    """TEXT escapes (RFC 5545 3.3.11) that icalendar leaves in X- properties such as X-ALT-DESC."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


def _rule(recur: vRecur, zone: str | None, all_day: bool) -> str:
    """The RRULE as the loader wants it: UNTIL a date (all-day) or a UTC date-time (timed)."""
    parts = dict(recur)
    until = parts.get("UNTIL")
    if until:
        value = until[0]
        if all_day and isinstance(value, dt.datetime):
            value = wall(value, zone).date() if value.tzinfo else value.date()  # type: ignore[union-attr]
        elif not all_day:
            local = zoneinfo.ZoneInfo(zone or "UTC")
            if not isinstance(value, dt.datetime):  # a date: that whole day, as RFC 5545 allows
                value = dt.datetime.combine(value, dt.time(23, 59, 59), local)
            elif value.tzinfo is None:
                value = value.replace(tzinfo=local)
            value = value.astimezone(dt.UTC)
        parts["UNTIL"] = [value]
    return vRecur(parts).to_ical().decode()


def _occurs(rule: str, start: dt.date, zone: str | None, all_day: bool, moment: dt.date) -> bool:
    """True when `moment` (date, or naive wall clock in zone) is an occurrence of the series."""
    if all_day:
        first, probe = dt.datetime.combine(start, dt.time()), dt.datetime.combine(moment, dt.time())
    else:
        local = zoneinfo.ZoneInfo(zone or "UTC")
        first, probe = start.replace(tzinfo=local), moment.replace(tzinfo=local)  # type: ignore[call-arg]
    series = rrulestr(rule, dtstart=first)
    return probe == first or series.before(probe, inc=True) == probe  # type: ignore[union-attr]


def _moment(value: dt.date, zone: str | None, all_day: bool) -> dt.date:
    if all_day:
        return value.date() if isinstance(value, dt.datetime) else value
    if not isinstance(value, dt.datetime):
        return value  # a date in a timed series: that day's occurrence (the loader's rule)
    return wall(value, zone)


def _exceptions_and_changes(event: Component, overrides: list[Component], rule: str,
                            start: dt.date, end: dt.date | None, zone: str | None, all_day: bool,
                            notes: list[str]) -> tuple[tuple, tuple]:
    exceptions: set[dt.date] = set()
    for prop in _values(event, "EXDATE"):
        for item in prop.dts:
            moment = _moment(item.dt, zone, all_day)
            if not isinstance(moment, dt.datetime) and not all_day:
                moment = dt.datetime.combine(moment, start.time())  # type: ignore[attr-defined]
            if _occurs(rule, start, zone, all_day, moment):
                exceptions.add(moment)
            else:
                notes.append(f"EXDATE {moment} is not an occurrence of the series: dropped "
                             "(it skipped nothing)")
    extra = [_moment(item.dt, zone, all_day) for prop in _values(event, "RDATE") for item in prop.dts]
    if extra:
        notes.append(f"RDATE adds {len(extra)} occurrence(s) outside the rule "
                     f"({', '.join(map(str, sorted(extra)[:5]))}): not representable (a series "
                     "here is one RRULE); add them as separate events if they matter")
    by_occurrence: dict[dt.date, Change] = {}
    # The highest SEQUENCE is the latest word on an occurrence; older copies are history.
    for override in sorted(overrides, key=lambda o: int(o.get("SEQUENCE", 0) or 0)):
        change = _change(override, event, rule, start, end, zone, all_day, notes)
        if change is None:
            continue
        if change.occurrence in exceptions:
            notes.append(f"occurrence {change.occurrence} is both in EXDATE and changed by a "
                         "RECURRENCE-ID VEVENT: EXDATE wins (it is skipped)")
            continue
        by_occurrence[change.occurrence] = change
    changes = list(by_occurrence.values())
    return tuple(sorted(exceptions, key=str)), tuple(sorted(changes, key=lambda c: str(c.occurrence)))


def _change(override: Component, master: Component, rule: str, start: dt.date,
            end: dt.date | None, zone: str | None, all_day: bool, notes: list[str]) -> Change | None:
    """What a RECURRENCE-ID VEVENT changes of its occurrence, or None when nothing."""
    recurrence_id = override["RECURRENCE-ID"]
    original = _moment(recurrence_id.dt, zone, all_day)
    if not all_day and not isinstance(original, dt.datetime):  # a date: that day's occurrence
        original = dt.datetime.combine(original, start.time())  # type: ignore[attr-defined]
    if str(recurrence_id.params.get("RANGE", "")).upper() == "THISANDFUTURE":
        notes.append(f"the change of {original} applies to all later occurrences (RANGE="
                     "THISANDFUTURE): not representable; split the series into two events")
        return None
    if not _occurs(rule, start, zone, all_day, original):
        notes.append(f"a RECURRENCE-ID VEVENT changes {original}, which is not an occurrence of "
                     "the series: ignored")
        return None
    new_start = _moment(override["DTSTART"].dt, zone, all_day) if "DTSTART" in override else original
    length = ((end or start) - start + (dt.timedelta(days=1) if all_day else dt.timedelta())
              if end is not None or all_day else None)
    new_end = None
    if "DTEND" in override:
        raw = override["DTEND"].dt
        new_end = (raw - dt.timedelta(days=1)) if all_day and not isinstance(raw, dt.datetime) \
            else _moment(raw, zone, all_day)
    elif "DURATION" in override:
        new_end = new_start + override["DURATION"].dt
    usual_end = (new_start + length - (dt.timedelta(days=1) if all_day else dt.timedelta())
                 if length is not None else None)
    status = "cancelled" if str(override.get("STATUS", "")).upper() == "CANCELLED" else None
    title = one_line(str(override.get("SUMMARY", ""))) or None
    location = _place(override)
    summary, description = _texts(override)
    change = Change(
        occurrence=original,
        start=new_start if new_start != original else None,
        end=new_end if new_end is not None and new_end != usual_end else None,  # else: series' length
        title=title if title and title != one_line(str(master.get("SUMMARY", ""))) else None,
        summary=(summary or description) if (summary, description) != _texts(master) else None,
        location=location if location and location != _place(master) else None,
        status=status)
    return None if change == Change(original) else change


def _place(event: Component) -> str | None:
    """LOCATION on one line; Apple writes the venue and address lines with line breaks."""
    lines = [one_line(line) for line in str(event.get("LOCATION", "")).splitlines()]
    return ", ".join(line for line in lines if line) or None


def _notes_on_the_rest(event: Component, notes: list[str]) -> None:
    for name, why in DROPPED.items():
        count = len(_values(event, name))
        if count:
            notes.append(f"{name} ({count}): {why}")
    alarms = sum(1 for c in event.subcomponents if c.name == "VALARM")
    if alarms:
        notes.append(f"{alarms} alarm(s) (VALARM) not kept: subscribers set their own reminders")
    privacy = str(event.get("CLASS", "")).upper()
    if privacy in ("PRIVATE", "CONFIDENTIAL"):
        notes.append(f"it was CLASS:{privacy} in the source; the published feeds are public")
