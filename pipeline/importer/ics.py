"""An .ics file read with icalendar: syntax checked line by line, VEVENTs grouped by UID."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

from icalendar import Calendar, Component
from icalendar.parser import Contentline

from pipeline.errors import Problem
from pipeline.importer.draft import Draft
from pipeline.importer.report import Note
from pipeline.importer.vevent import Context, Skip, draft_from
from pipeline.importer.zones import Zones

NOT_EVENTS = {
    "VTODO": "a task, not an event: the pipeline publishes events only",
    "VJOURNAL": "a journal entry, not an event: the pipeline publishes events only",
    "VFREEBUSY": "free/busy time, not an event",
    "VAVAILABILITY": "availability, not an event",
}


@dataclass(frozen=True, slots=True)
class Options:
    """What the command line adds: a zone for floating times and the kinds."""

    timezone: str | None = None
    kinds: tuple[str, ...] = ("meetup",)
    default_kind: str = "meetup"


def syntax_problems(text: str, origin: str) -> list[Problem]:
    """Every line icalendar cannot read, and unbalanced BEGIN/END, as path:line problems."""
    problems: list[Problem] = []
    stack: list[tuple[str, int]] = []
    logical = logical_lines(text)
    for number, line in logical:
        try:
            name, _, value = Contentline(line, strict=False).parts()
        except ValueError:
            problems.append(Problem(origin, number, f"{line[:40]!r} is not an iCalendar content "
                                    "line (NAME;PARAM=...:VALUE); fix or remove it"))
            continue
        if name.upper() == "BEGIN":
            stack.append((value.upper(), number))
        elif name.upper() == "END":
            if not stack or stack[-1][0] != value.upper():
                problems.append(Problem(origin, number, f"END:{value} closes nothing open here "
                                        f"(open: {stack[-1][0] if stack else 'none'})"))
            else:
                stack.pop()
    problems += [Problem(origin, number, f"BEGIN:{what} is never closed; add END:{what}")
                 for what, number in stack]
    if not any(line.upper() == "BEGIN:VCALENDAR" for _, line in logical[:1]) and not problems:
        problems.append(Problem(origin, 1, "not an iCalendar file: it must start with "
                                "BEGIN:VCALENDAR"))
    return problems


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Content lines unfolded, each with the number of its first physical line."""
    logical: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line[:1] in (" ", "\t") and logical:  # folded: continues the previous line
            logical[-1] = (logical[-1][0], logical[-1][1] + line[1:])
        elif line.strip():
            logical.append((number, line))
    return logical


_ZONED_UTC = re.compile(r"^(DTSTART|DTEND|RECURRENCE-ID|EXDATE)[;:][^:]*TZID=[^:]*:.*\dZ$", re.I)


def _zoned_utc_notes(text: str, path: str) -> list[Note]:
    """Times written with both a TZID and a UTC 'Z': ambiguous, read as icalendar reads them."""
    return [Note(f"{path}:{number}", line.split(";", 1)[0].split(":", 1)[0].upper(),
                 "has both a TZID and a UTC 'Z': read as wall-clock time in the TZID (as "
                 "icalendar and most calendar apps do); check the time")
            for number, line in logical_lines(text) if _ZONED_UTC.match(line)]


def _begin_lines(text: str, name: str) -> list[int]:
    """Line numbers of each BEGIN:name, in file order (icalendar keeps no positions)."""
    return [n for n, line in enumerate(text.splitlines(), 1) if line.strip().upper() == f"BEGIN:{name}"]


def read_ics(data: bytes, path: str, options: Options) -> tuple[list[Draft], list[Note], list[Problem]]:
    """Drafts of an .ics file's events, notes on what they leave out, or problems (nothing read)."""
    text = data.decode("utf-8-sig", errors="replace")
    problems = syntax_problems(text, path)
    if problems:
        return [], [], problems
    try:
        with warnings.catch_warnings():  # a vendor-prefixed TZID: zones.py resolves it itself
            warnings.simplefilter("ignore")
            calendar = Calendar.from_ical(text)
    except ValueError as error:
        return [], [], [Problem(path, 1, f"icalendar cannot read this file: {error}")]
    context, problems = _context(calendar, path, options)
    if problems:
        return [], [], problems
    notes: list[Note] = _zoned_utc_notes(text, path)
    for name, reason in NOT_EVENTS.items():
        for line, component in zip(_begin_lines(text, name), calendar.walk(name), strict=False):
            notes.append(Note(f"{path}:{line}", f"{name} {_title(component)}", f"not imported: {reason}"))
    events = list(zip(_begin_lines(text, "VEVENT"), calendar.walk("VEVENT"), strict=True))
    masters: dict[str, tuple[int, Component]] = {}
    overrides: dict[str, list[tuple[int, Component]]] = {}
    for line, event in events:
        for _, message in event.errors:
            problems.append(Problem(f"{path}", line, f"VEVENT {_title(event)}: {message}"))
        uid = str(event.get("UID", "")).strip() or f"{path}:{line}"
        if "RECURRENCE-ID" in event:
            overrides.setdefault(uid, []).append((line, event))
        elif uid in masters:
            notes.append(Note(f"{path}:{line}", f"VEVENT {_title(event)}", f"not imported: UID "
                              f"{uid} is already used by the VEVENT at line {masters[uid][0]}"))
        else:
            masters[uid] = (line, event)
    if problems:
        return [], [], problems
    drafts: list[Draft] = []
    for uid, (line, event) in masters.items():
        origin = f"{path}:{line}"
        try:
            drafts.append(draft_from(event, [o for _, o in overrides.pop(uid, [])], context,
                                     origin, None if uid.startswith(path + ":") else uid))
        except Skip as skip:
            if skip.problem:
                problems.append(Problem(path, line, f"VEVENT {_title(event)}: {skip.reason}"))
            else:
                notes.append(Note(origin, f"VEVENT {_title(event)}", f"not imported: {skip.reason}"))
    for uid, lone in overrides.items():  # occurrences of a series this file does not have
        for line, event in lone:
            origin = f"{path}:{line}"
            try:
                # Its own identity: several changed occurrences of one absent series are
                # several files, each found again by the next import.
                own = f"{uid};RECURRENCE-ID={event['RECURRENCE-ID'].to_ical().decode()}"
                drafts.append(draft_from(event, [], context, origin, own, lone_occurrence=True))
            except Skip as skip:
                target = problems if skip.problem else None
                if target is not None:
                    target.append(Problem(path, line, f"VEVENT {_title(event)}: {skip.reason}"))
                else:
                    notes.append(Note(origin, f"VEVENT {_title(event)}", f"not imported: {skip.reason}"))
    return (drafts, notes, []) if not problems else ([], [], problems)


def _context(calendar: Calendar, path: str, options: Options) -> tuple[Context, list[Problem]]:
    zones = Zones(calendar)
    calendar_zone = None
    problems = []
    declared = str(calendar.get("X-WR-TIMEZONE", "")).strip()
    if declared:
        starts = [e.decoded("DTSTART") for e in calendar.walk("VEVENT") if "DTSTART" in e]
        year = min((s.year for s in starts), default=2025)  # rules are compared from then on
        calendar_zone, _ = zones.resolve(declared, year)
        if calendar_zone is None:
            problems.append(Problem(path, 1, f"X-WR-TIMEZONE '{declared}' is not a time zone this "
                                    "import knows; fix it or pass --timezone"))
    return Context(zones=zones, calendar_zone=calendar_zone,
                   floating_zone=options.timezone or calendar_zone, kinds=options.kinds,
                   default_kind=options.default_kind), problems


def _title(component: Component) -> str:
    summary = " ".join(str(component.get("SUMMARY", "")).split())
    return f"'{summary[:60]}'" if summary else "(no SUMMARY)"
