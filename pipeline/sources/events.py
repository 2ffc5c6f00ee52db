"""Event files (`events/**/*.yaml`) become validated, frozen `Event`s, or a list of problems."""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from pipeline.errors import InvalidInput, Problem, display_path
from pipeline.model import Event, EventFacts, Image, Link, Location, Status
from pipeline.sources.fields import (
    MAX_SLUG,
    SLUG,
    Fields,
    localize,
    parse_wall_clock,
    read_fields,
    suggest,
    type_name,
    url_problem,
)
from pipeline.sources.recurrence import read_recurrence
from pipeline.sources.settings import Settings, parse_duration
from pipeline.sources.yamlsource import Mapping, Sequence, excerpt

EVENT_KEYS = ("id", "title", "kind", "start", "end", "duration", "timezone", "status",
              "location", "url", "summary", "description", "image", "highlights", "links",
              "hosts", "tags", "recurrence", "moved_from", "source_uid")
LOCATION_KEYS = ("name", "address", "city", "country", "url", "online")
LoadFiles = Callable[[list[Path], Settings, list[Problem]], list[Event | None]]
LoadFacts = Callable[[list[Path], Settings, list[Problem]], list[EventFacts | None]]
# A timed event's `duration`: longer is a typo (99999999h) and would overflow the calendar.
MAX_DURATION = dt.timedelta(days=366)


def yaml_files(folder: Path) -> list[Path]:
    """Every `*.yaml` / `*.yml` below `folder`, in a stable order; dot-folders skipped."""
    return [path for path, _ in yaml_entries(folder)]


def yaml_entries(folder: Path) -> list[tuple[Path, bool]]:
    """yaml_files, each with whether it is a symbolic link (from the folder's listing).

    os.scandir: a regular file's type comes with its name, so 10k files cost no stat each.
    """
    found: list[tuple[str, Path, bool]] = []
    folders = [(os.fspath(folder), "")]
    while folders:
        directory, relative = folders.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):  # symlinked folders are not entered
                folders.append((entry.path, f"{relative}{entry.name}/"))
            elif entry.name.endswith((".yaml", ".yml")) and entry.is_file():
                found.append((relative + entry.name, Path(entry.path), entry.is_symlink()))
    return [(path, link) for _, path, link in sorted(found)]


def regular_files(entries: list[tuple[Path, bool]], what: str, problems: list[Problem],
                  ) -> list[Path]:
    """The paths of `entries` (path, is a symlink: yaml_entries) without the symlinks, each
    of those reported.

    A symlinked input file is refused, wherever it points: following it would read (and an
    error would quote) whatever it names, such as a private key (docs/deployment.md).
    """
    kept = []
    for path, link in entries:
        if link:
            problems.append(Problem(display_path(path), 1, f"the file is a symbolic link; {what} "
                                    "files must be regular files (copy the file here instead "
                                    "of linking it)"))
        else:
            kept.append(path)
    return kept


def load_files(paths: list[Path], settings: Settings, problems: list[Problem],
               ) -> list[Event | None]:
    """`load_event` of each path, in order (the build's cache swaps in a cached version)."""
    return [load_event(path, settings, problems) for path in paths]


def load_events(folder: Path, settings: Settings, load: LoadFiles = load_files,
                ) -> tuple[Event, ...]:
    """Load and validate every event file; raise InvalidInput listing every problem of every file."""
    return sort_events(_unique(folder, settings, load))


def load_event_facts(folder: Path, settings: Settings, load: LoadFacts) -> tuple[EventFacts, ...]:
    """load_events for a loader that gives facts (the build cache's), in the same order."""
    return tuple(sorted(_unique(folder, settings, load), key=lambda e: (e.starts_at, e.id)))


Loaded = TypeVar("Loaded", Event, EventFacts)


def _unique(folder: Path, settings: Settings,
            load: Callable[[list[Path], Settings, list[Problem]], list[Loaded | None]],
            ) -> list[Loaded]:
    """What `load` gives for every event file, every id once; InvalidInput for any problem."""
    if not folder.is_dir():
        raise InvalidInput([Problem(display_path(folder), 0, "events folder not found; create "
                                    "it or pass --events DIR")])
    problems: list[Problem] = []
    events: list[Loaded] = []
    first_file: dict[str, tuple[str, int]] = {}
    for event in load(regular_files(yaml_entries(folder), "event", problems), settings, problems):
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
    return events


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
    elif SLUG.match(stem) and len(stem) <= MAX_SLUG:
        event_id = stem
    else:
        event_id = None
        problem = "is not a slug" if not SLUG.match(stem) else f"is over {MAX_SLUG} characters"
        f.error(None, f"the file name {excerpt(stem)} {problem}, so it cannot be the event's "
                "id; rename the file or add an 'id:' such as 'pytorch-conference-2025'", line=1)
    title = f.text("title", required=True, one_line=True)
    kind = f.choice("kind", settings.kinds, required=True)
    status = f.choice("status", [s.value for s in Status], default="confirmed")
    zone = _zone(f)
    start, end = _start_end(f, zone)
    recurrence = read_recurrence(f, start, zone, _location)
    values: dict[str, Any] = {
        "moved_from": _moved_from(f, start),
        "location": _location(f),
        "url": f.url("url"),
        "summary": _paragraph(f.text("summary")),
        "description": f.text("description"),
        "image": _image(f),
        "highlights": f.text_list("highlights"),
        "links": read_links(f, "links"),
        "hosts": f.text_list("hosts"),
        "tags": f.text_list("tags", lambda t, _: None if SLUG.match(t) else
                            f"tag {excerpt(t)} is not a slug; use lowercase letters, "
                            "digits and '-'"),
        "source_uid": f.text("source_uid", one_line=True),
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
    return f.parsed(key, parse_wall_clock, "a date or date-time", "write YYYY-MM-DD for an "
                    "all-day event or YYYY-MM-DD HH:MM for a timed one", required)


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
    # A problem of the end or duration leaves the start checked, as the all-day branch does:
    # the recurrence is still read against it, so its problems show in the same run.
    if end is not None and duration_text is not None:
        f.error("duration", "give either 'end' or 'duration', not both")
        return aware_start, None
    if end is None and duration_text is None:
        f.error("start", "a timed event needs 'end' (a date-time) or 'duration' (e.g. 90m, "
                "1h30m)")
        return aware_start, None
    if duration_text is not None:
        duration = parse_duration(duration_text)
        if duration is None:
            f.error("duration", f"'duration' {excerpt(duration_text)} is not a duration; "
                    "write e.g. 90m, 2h or 1h30m")
            return aware_start, None
        if duration > MAX_DURATION:
            f.error("duration", f"'duration' {duration_text} is longer than "
                    f"{MAX_DURATION.days} days; check it, or make it an all-day event with "
                    "'end' (its last day)")
            return aware_start, None
        if aware_start is None:  # in a DST gap or fold: reported by localize
            return None, None
        # Exact elapsed time: a 2h event across a DST change still lasts two hours.
        return aware_start, (aware_start.astimezone(dt.UTC) + duration).astimezone(zone)
    if not isinstance(end, dt.datetime):
        f.error("end", f"'end' must be a date-time (YYYY-MM-DD HH:MM) because 'start' has a "
                f"time; e.g. '{end} 18:00'")
        return aware_start, None
    aware_end = localize(f, "end", end, zone)
    if aware_start is None or aware_end is None:
        return aware_start, None
    if aware_end <= aware_start:
        f.error("end", f"'end' {end:%Y-%m-%d %H:%M} is not after 'start' "
                f"{start:%Y-%m-%d %H:%M}")
        return aware_start, None
    return aware_start, aware_end


def _moved_from(f: Fields, start: dt.date | None) -> dt.date | None:
    """`moved_from`: where a rescheduled one-off event was before (a date, or a date-time)."""
    value = _wall_clock(f, "moved_from")
    if value is None or start is None:
        return None
    if f.data.get("recurrence") is not None:
        f.error("moved_from", "'moved_from' is for a one-off event; move one occurrence of a "
                "series with 'recurrence.changes' instead")
        return None
    if isinstance(value, dt.datetime):
        if not isinstance(start, dt.datetime):
            f.error("moved_from", "'moved_from' has a time but the event is all-day; write the "
                    "date only")
            return None
        value = localize(f, "moved_from", value, start.tzinfo)  # type: ignore[arg-type]
    if value == start:
        f.error("moved_from", "'moved_from' is the event's own 'start'; write the date it was "
                "on before it moved, or remove the key")
        return None
    return value


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
    loc = Fields(value, f.path, f.problems, f"{f.where}location.")
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
    img = f.mapping("image", "{src: images/photo.jpg, alt: what it shows}")
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
        img.error("src", f"'image.src' {excerpt(src)} is not a usable path; write a path under the "
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
