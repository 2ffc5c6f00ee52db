"""Event files (`events/**/*.yaml`) become validated, frozen `Event`s, or a list of problems."""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import Callable, Iterable
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any

from dateutil.rrule import rrulestr
from icalendar.prop import vRecur

from pipeline.errors import InvalidInput, Problem, display_path
from pipeline.fields import SLUG, Fields, parse_wall_clock, read_fields, suggest, type_name, url_problem
from pipeline.model import Event, Image, Link, Location, Recurrence, Status
from pipeline.settings import Settings, parse_duration
from pipeline.yamlsource import Mapping, Sequence

EVENT_KEYS = ("id", "title", "kind", "start", "end", "duration", "timezone", "status",
              "location", "url", "summary", "description", "image", "highlights", "links",
              "hosts", "tags", "recurrence")
LOCATION_KEYS = ("name", "address", "city", "country", "url", "online")
# A bounded series may have this many occurrences; 'except' items must be among the first ones.
MAX_OCCURRENCES = 10_000
LoadFiles = Callable[[list[Path], Settings, list[Problem]], list[Event | None]]


def yaml_files(folder: Path) -> list[Path]:
    """Every `*.yaml` / `*.yml` below `folder`, in a stable order; dot-folders skipped."""
    # os.walk, not two rglob passes plus relative_to per file: 2x faster on 10k files.
    found: list[tuple[str, Path]] = []
    for directory, folders, files in os.walk(folder):  # symlinked folders are not entered
        folders[:] = [name for name in folders if not name.startswith(".")]
        relative = Path(directory).relative_to(folder).as_posix()
        for name in files:
            if (name.endswith((".yaml", ".yml")) and not name.startswith(".")
                    and os.path.isfile(os.path.join(directory, name))):
                found.append((name if relative == "." else f"{relative}/{name}",
                              Path(directory, name)))
    return [path for _, path in sorted(found)]


def load_files(paths: list[Path], settings: Settings, problems: list[Problem],
               ) -> list[Event | None]:
    """`load_event` of each path, in order (the build's cache swaps in a cached version)."""
    return [load_event(path, settings, problems) for path in paths]


def load_events(folder: Path, settings: Settings, load: LoadFiles = load_files,
                ) -> tuple[Event, ...]:
    """Load and validate every event file; raise InvalidInput listing every problem of every file."""
    if not folder.is_dir():
        raise InvalidInput([Problem(display_path(folder), 0, "events folder not found; create "
                                    "it or pass --events DIR")])
    problems: list[Problem] = []
    events: list[Event] = []
    first_file: dict[str, tuple[str, int]] = {}
    for event in load(yaml_files(folder), settings, problems):
        if event is None:
            continue
        if event.id in first_file:
            other, other_line = first_file[event.id]
            problems.append(Problem(event.source, event.id_line, f"id '{event.id}' is already "
                                    f"used by {other}:{other_line}; ids must be unique, give "
                                    "this event another id"))
            continue
        first_file[event.id] = (event.source, event.id_line)
        events.append(event)
    if problems:
        raise InvalidInput(problems)
    return sort_events(events)


def sort_events(events: Iterable[Event]) -> tuple[Event, ...]:
    """Chronological order, ties broken by id, so file order never changes the output."""
    return tuple(sorted(events, key=lambda e: (e.instant(e.start), e.id)))


def load_event(path: Path, settings: Settings, problems: list[Problem],
               shown: str | None = None) -> Event | None:
    """One event file as an Event; its problems are appended to `problems`.

    `shown` is display_path(path) when the caller has it already (the build's cache).
    """
    before = len(problems)
    fields = read_fields(path, shown or display_path(path), "event", problems)
    event = _event_from(fields, path.stem, settings) if fields else None
    return event if len(problems) == before else None


def _event_from(f: Fields, stem: str, settings: Settings) -> Event | None:
    f.reject_unknown(EVENT_KEYS)
    if f.data.get("id") is not None:  # `id:` left empty means the default, like a missing key
        event_id = f.slug("id")
    elif SLUG.match(stem):
        event_id = stem
    else:
        event_id = None
        f.error(None, f"the file name '{stem}' is not a slug, so it cannot be the event's id; "
                "rename the file or add an 'id:' such as 'pytorch-conference-2025'", line=1)
    title = f.text("title", required=True, one_line=True)
    kind = f.choice("kind", settings.kinds, required=True)
    status = f.choice("status", [s.value for s in Status], default="confirmed")
    zone = _zone(f)
    start, end = _start_end(f, zone)
    recurrence = _recurrence(f, start, zone)
    values: dict[str, Any] = {
        "location": _location(f),
        "url": f.url("url"),
        "summary": _paragraph(f.text("summary")),
        "description": f.text("description"),
        "image": _image(f),
        "highlights": f.text_list("highlights"),
        "links": read_links(f, "links"),
        "hosts": f.text_list("hosts"),
        "tags": f.text_list("tags", lambda t, _: None if SLUG.match(t) else
                            f"tag {t!r} is not a slug; use lowercase letters, digits and '-'"),
    }
    if None in (event_id, title, kind, status, start, end):
        return None
    return Event(id=event_id, title=title, kind=kind, start=start, end=end,  # type: ignore[arg-type]
                 timezone=str(zone) if zone else None, status=Status(status),
                 recurrence=recurrence, source=f.path, id_line=f.data.key_lines.get("id", 1),
                 **values)


@cache
def _zone_names() -> frozenset[str]:
    # Not places: `localtime` is whatever the build machine is set to (output would depend on
    # the server), `Factory`/`posixrules` are tzdata internals no calendar app knows.
    return frozenset(zoneinfo.available_timezones() - {"localtime", "posixrules", "Factory"})


def _zone(f: Fields) -> zoneinfo.ZoneInfo | None:
    name = f.text("timezone", one_line=True)
    if name is None:
        return None
    if name not in _zone_names():
        hint = suggest(name, _zone_names()) or "; use a name such as 'Europe/Paris' (see the tz database)"
        f.error("timezone", f"timezone '{name}' is not an IANA time zone{hint}")
        return None
    return zoneinfo.ZoneInfo(name)


def _wall_clock(f: Fields, key: str, required: bool = False) -> dt.date | None:
    value = f.text(key, required, one_line=True)
    if value is None:
        return None
    parsed = parse_wall_clock(value)
    if parsed is None:
        f.error(key, f"'{key}' {value!r} is not a date or date-time; write YYYY-MM-DD for an "
                "all-day event or YYYY-MM-DD HH:MM for a timed one")
    return parsed


def localize(f: Fields, key: str, naive: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """Attach `zone`, refusing wall-clock times that do not exist or happen twice (DST)."""
    aware = naive.replace(tzinfo=zone)
    round_trip = aware.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip != naive:
        f.error(key, f"'{key}' {naive:%Y-%m-%d %H:%M} does not exist in {zone} (the clocks "
                "jump forward then); pick a time outside the gap")
        return None
    if aware.utcoffset() != naive.replace(tzinfo=zone, fold=1).utcoffset():
        f.error(key, f"'{key}' {naive:%Y-%m-%d %H:%M} happens twice in {zone} (the clocks go "
                "back then); pick a time outside that hour")
        return None
    return aware


def _start_end(f: Fields, zone: zoneinfo.ZoneInfo | None) -> tuple[Any, Any]:
    start = _wall_clock(f, "start", required=True)
    end = _wall_clock(f, "end")
    duration_text = f.text("duration", one_line=True)
    if start is None:
        return None, None
    if not isinstance(start, dt.datetime):  # all-day
        if duration_text is not None:
            f.error("duration", "'duration' is for timed events; an all-day event uses 'end' "
                    "(its last day)")
        if isinstance(end, dt.datetime):
            f.error("end", "'end' must be a date (the last day) because 'start' is a date; or "
                    "give 'start' a time too")
            return start, None
        end = end or start
        if end < start:
            f.error("end", f"'end' {end} is before 'start' {start}; 'end' is the last day, "
                    "inclusive")
            return start, None
        return start, end
    if zone is None:
        if f.data.get("timezone") is None:  # an invalid zone was reported by _zone
            f.error("start", "a timed event needs 'timezone' (an IANA name such as "
                    "'America/Los_Angeles'); times are never guessed")
        return None, None
    aware_start = localize(f, "start", start, zone)
    if end is not None and duration_text is not None:
        f.error("duration", "give either 'end' or 'duration', not both")
        return None, None
    if end is None and duration_text is None:
        f.error("start", "a timed event needs 'end' (a date-time) or 'duration' (e.g. 90m, "
                "1h30m)")
        return None, None
    if duration_text is not None:
        duration = parse_duration(duration_text)
        if duration is None:
            f.error("duration", f"'duration' {duration_text!r} is not a duration; write e.g. "
                    "90m, 2h or 1h30m")
            return None, None
        if aware_start is None:
            return None, None
        # Exact elapsed time: a 2h event across a DST change still lasts two hours.
        return aware_start, (aware_start.astimezone(dt.UTC) + duration).astimezone(zone)
    if not isinstance(end, dt.datetime):
        f.error("end", f"'end' must be a date-time (YYYY-MM-DD HH:MM) because 'start' has a "
                f"time; e.g. '{end} 18:00'")
        return None, None
    aware_end = localize(f, "end", end, zone)
    if aware_start is None or aware_end is None:
        return None, None
    if aware_end <= aware_start:
        f.error("end", f"'end' {end:%Y-%m-%d %H:%M} is not after 'start' "
                f"{start:%Y-%m-%d %H:%M}")
        return None, None
    return aware_start, aware_end


def _paragraph(text: str | None) -> str | None:
    """Plain text folded to one paragraph (YAML block scalars keep line breaks)."""
    return " ".join(text.split()) if text else text


def _location(f: Fields) -> Location | None:
    value = f.data.get("location")
    if value is None:
        return None
    if isinstance(value, Sequence | bool):  # f.text would say "must be text", hiding the mapping form
        f.error("location", f"'location' must be text or a mapping of {', '.join(LOCATION_KEYS)}, "
                f"not {type_name(value)}")
        return None
    if not isinstance(value, Mapping):
        name = f.text("location", one_line=True)
        return Location(name=name) if name else None
    loc = Fields(value, f.path, f.problems, "location.")
    loc.reject_unknown(LOCATION_KEYS)
    location = Location(name=loc.text("name", one_line=True),
                        address=loc.text("address", one_line=True),
                        city=loc.text("city", one_line=True),
                        country=loc.text("country", one_line=True),
                        url=loc.url("url"),
                        online=loc.boolean("online", False))
    if not location.label and not location.url:
        loc.error(None, "'location' is empty; give a name, a city or 'online: true'")
    return location


def _image(f: Fields) -> Image | None:
    img = f.mapping("image")
    if img is None:
        return None
    img.reject_unknown(("src", "alt"))
    src = img.text("src", required=True, one_line=True)
    alt = img.text("alt", one_line=True)
    if alt is None and img.data.get("alt") is None:
        img.error(None, "an image needs 'alt': describe what it shows for people who cannot "
                  "see it")
    if src is not None and ("://" in src or src.startswith("//") or ":" in src.split("/")[0]):
        problem = url_problem(src)
        if problem:
            img.error("src", f"'image.src' {problem}")
            return None
    elif src is not None and (any(c.isspace() or c in '<>"\\' for c in src) or ".." in src):
        img.error("src", f"'image.src' {src!r} is not a usable path; write a path under the "
                  "site's base URL (e.g. assets/images/photo.jpg) or a full https:// URL")
        return None
    return Image(src, alt) if src and alt else None


def read_links(f: Fields, key: str) -> tuple[Link, ...]:
    """A list of `{title, url}`."""
    links = []
    complaint = f"each item of '{f.name(key)}' must be a mapping with 'title' and 'url'"
    for link in f.mappings(key, ("title", "url"), complaint):
        title = link.text("title", required=True, one_line=True)
        url = link.url("url", required=True)
        if title and url:
            links.append(Link(title, url))
    return tuple(links)


def _recurrence(f: Fields, start: Any, zone: zoneinfo.ZoneInfo | None) -> Recurrence | None:
    rec = f.mapping("recurrence")
    if rec is None or start is None:
        return None
    rec.reject_unknown(("rule", "except"))
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
    window = _Walk(parsed)
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
    return Recurrence(rule, tuple(sorted(set(exceptions))))


class _Walk:
    """A series' first MAX_OCCURRENCES + 1 occurrences, walked only as far as asked.

    An open-ended series with an 'except' item used to be walked 10,001 steps: 5 s of
    validation for a hundred such events.
    """

    def __init__(self, rule: Any) -> None:
        self._occurrences = islice(rule, MAX_OCCURRENCES + 1)
        self.seen: set[dt.datetime] = set()
        self.last: dt.datetime | None = None
        self.done = False  # every occurrence of the window has been seen

    def until(self, probe: dt.datetime | None) -> None:
        """Walk on to the first occurrence at or after `probe` (None: to the window's end)."""
        while not self.done and (probe is None or self.last is None or self.last < probe):
            occurrence = next(self._occurrences, None)
            if occurrence is None:
                self.done = True
            else:
                self.seen.add(occurrence)
                self.last = occurrence


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
