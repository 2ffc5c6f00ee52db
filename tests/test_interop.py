"""Every produced feed, read by six independent parsers, gives every occurrence at the same UTC time.

icalendar + recurring-ical-events, vobject, Home Assistant's `ical`, ical.js (Thunderbird),
libical (Evolution; a small C reader) and KCalendarCore (KDE; a small C++ reader), each
compared with the model: start, end and whether the occurrence is cancelled. A reader that
is wrong by the RFC keeps its bug here as a named exception (KNOWN_BUGS), checked to still
happen, never skipped.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
import vobject
import vobject.icalendar
from conftest import PINNED_NOW, ROOT, require, require_executable
from ical.calendar_stream import IcsCalendarStream

from pipeline.calendar.feeds import render_calendars
from pipeline.model import Event, Status
from pipeline.sources.events import load_events
from pipeline.sources.settings import FeedSpec, Settings

pytestmark = pytest.mark.interop

UNTIL = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)  # endless series are compared up to here
FIXTURES = Path(__file__).parent / "fixtures" / "calendar" / "events"
SETTINGS = Settings(site_name="PyTorch community, Korea; \\ friends", base_url="https://pytorch.org/",
                    uid_domain="pytorch.org",
                    feeds=(FeedSpec("conferences", "Conferences", kinds=("conference",)),
                           FeedSpec("korea", "Korea", tags=("korea",)),
                           FeedSpec("paris", "Paris", tags=("paris",))))
Occurrences = dict[str, list[list]]  # UID -> [[start, end, cancelled], ...]
INTEROP = Path(__file__).parent / "interop"


def _show(value: dt.date) -> str:
    if isinstance(value, dt.datetime):
        assert value.tzinfo is not None, f"floating time {value}: the TZID was not resolved"
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def _expected(event: Event) -> list[list]:
    """The model's own occurrences: what the event file says."""
    return sorted([_show(o.start), _show(o.end), o.cancelled or event.status is Status.CANCELLED]
                  for o in event.occurrences(before=UNTIL))


def _wall_clock_end(event: Event) -> list[list]:
    """recurring-ical-events' known bug: an instance's end is its start plus the series'
    wall-clock length (DTEND - DTSTART read on the clock), where RFC 5545 3.8.5.3 says the
    length is exact; the two differ when an instance spans a DST change. Overrides, which
    carry their own DTEND, are read right."""
    if event.all_day or event.recurrence is None:
        return _expected(event)
    wall = event.end.replace(tzinfo=None) - event.start.replace(tzinfo=None)  # type: ignore[union-attr]
    return sorted([_show(o.start), _show(o.end if o.change and o.change.moved else (
        o.start.replace(tzinfo=None) + wall).replace(tzinfo=ZoneInfo(event.timezone))),  # type: ignore[union-attr]
        o.cancelled or event.status is Status.CANCELLED] for o in event.occurrences(before=UNTIL))


# Reader -> (how its known bug changes what it reads, where that is documented).
KNOWN_BUGS: dict[str, Callable[[Event], list[list]]] = {
    # https://github.com/niccokunzmann/python-recurring-ical-events: end = start + (DTEND -
    # DTSTART) in wall-clock time; our overnight fixtures across DST show it.
    "recurring-ical-events": _wall_clock_end,
    # Home Assistant's `ical` (timeline) and ical.js (Thunderbird's getOccurrenceDetails)
    # do the same: the Paris overnight session of 29-30 March ends at 06:00 local (7 hours)
    # instead of 07:00 (8 hours). libical and KCalendarCore keep the exact length.
    "ical": _wall_clock_end,
    "ical.js": _wall_clock_end,
}


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, tuple[bytes, dict[str, Event]]]:
    """The bundled data's files at the pinned now, and the DST fixtures' files before they start."""
    out = tmp_path_factory.mktemp("feeds")
    files = {}
    for label, folder, now in (("bundled", ROOT / "events", PINNED_NOW),
                               ("fixtures", FIXTURES, dt.datetime(2025, 1, 1, tzinfo=dt.UTC))):
        events = load_events(folder, SETTINGS)
        by_uid = {f"{e.id}@{SETTINGS.uid_host}": e for e in events}
        for path, data in render_calendars(events, SETTINGS, now).items():
            target = out / label / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            files[target] = (data, by_uid)
    return files


def _check(produced: dict, read: Callable[[Path, bytes], Occurrences], reader: str = "") -> None:
    assert len(produced) > 20
    bug = KNOWN_BUGS.get(reader)
    seen_bug = False
    for path, (data, by_uid) in produced.items():
        parsed = read(path, data)
        uids = {str(e["UID"]) for e in icalendar.Calendar.from_ical(data).walk("VEVENT")}
        assert set(parsed) == uids, path
        for uid, occurrences in parsed.items():
            expected = _expected(by_uid[uid])
            if bug is not None and bug(by_uid[uid]) != expected:
                seen_bug = True
                expected = bug(by_uid[uid])
            assert sorted(occurrences) == expected, f"{reader} {path}: {uid}"
    # A known bug that no longer shows must leave KNOWN_BUGS (or the fixtures lost the case).
    assert bug is None or seen_bug, f"{reader}'s known bug did not show: remove it or fix fixtures"


def test_the_fixtures_hold_moved_cancelled_skipped_and_overnight_dst_series(produced) -> None:
    events = {e.id: e for e in load_events(FIXTURES, SETTINGS)}
    for name in ("paris-weekly-changes", "berlin-monthly-changes", "all-day-sprint-changes"):
        series = events[name]
        assert series.recurrence.exceptions and any(o.moved for o in series.occurrences())
        assert any(o.cancelled for o in series.occurrences()), name
    assert _wall_clock_end(events["overnight-across-dst"]) != _expected(
        events["overnight-across-dst"])


def test_icalendar_and_recurring_ical_events(produced: dict) -> None:
    def read(path: Path, data: bytes) -> Occurrences:
        found: Occurrences = {str(e["UID"]): [] for e in
                              icalendar.Calendar.from_ical(data).walk("VEVENT")}
        calendar = icalendar.Calendar.from_ical(data)
        for occurrence in recurring_ical_events.of(calendar).between(
                dt.datetime(1970, 1, 1, tzinfo=dt.UTC), UNTIL):
            found[str(occurrence["UID"])].append([_show(occurrence.start), _show(occurrence.end),
                                                  occurrence.get("STATUS") == "CANCELLED"])
        return {uid: sorted(o) for uid, o in found.items()}

    _check(produced, read, "recurring-ical-events")


def test_vobject(produced: dict) -> None:
    registry = vobject.icalendar.__dict__["__tzidMap"]

    def read(path: Path, data: bytes) -> Occurrences:
        text = data.decode("utf-8")
        # vobject keeps the first VTIMEZONE it saw per TZID for the whole process: forget them,
        # so that each file is read with its own.
        for zone in icalendar.Calendar.from_ical(data).walk("VTIMEZONE"):
            registry.pop(str(zone["TZID"]), None)
        found: Occurrences = {}
        vevents = getattr(vobject.readOne(text), "vevent_list", [])  # an empty feed has none
        # vobject expands a rule but leaves overrides to its caller, as a client does:
        # the VEVENT whose RECURRENCE-ID is an instance's start replaces that instance.
        overrides = {(v.uid.value, _instant(v.recurrence_id.value)): v for v in vevents
                     if hasattr(v, "recurrence_id")}
        for vevent in vevents:
            if hasattr(vevent, "recurrence_id"):
                continue
            start, end = vevent.dtstart.value, vevent.dtend.value
            starts = vevent.getrruleset(addRDate=True) if vevent.rruleset else [start]
            occurrences = []
            for begin in starts:
                if _instant(begin) >= UNTIL:
                    break
                if not isinstance(start, dt.datetime):  # vobject expands dates as datetimes
                    begin = begin.date() if isinstance(begin, dt.datetime) else begin
                instance = overrides.get((vevent.uid.value, _instant(begin)))
                if instance is not None:
                    first, last = instance.dtstart.value, instance.dtend.value
                elif isinstance(begin, dt.datetime):  # the exact length (RFC 5545 3.8.5.3)
                    first, last = begin, begin.astimezone(dt.UTC) + (
                        end.astimezone(dt.UTC) - start.astimezone(dt.UTC))
                else:
                    first, last = begin, begin + (end - start)
                status = (instance or vevent).contents.get("status")
                occurrences.append([_show(first), _show(last),
                                    bool(status) and status[0].value == "CANCELLED"])
            found[vevent.uid.value] = sorted(occurrences)
        return found

    _check(produced, read, "vobject")


def _instant(value: dt.date) -> dt.datetime:
    """A start as an instant (a date: its midnight in UTC), to match RECURRENCE-IDs."""
    return value.astimezone(dt.UTC) if isinstance(value, dt.datetime) else dt.datetime.combine(
        value, dt.time(), dt.UTC)


def test_ical_home_assistant(produced: dict) -> None:
    def read(path: Path, data: bytes) -> Occurrences:
        calendar = IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))
        found: Occurrences = {event.uid: [] for event in calendar.events}
        for event in calendar.timeline_tz(dt.UTC):
            begin = event.start if isinstance(event.start, dt.datetime) else dt.datetime.combine(
                event.start, dt.time(), dt.UTC)
            if begin >= UNTIL:
                break
            found[event.uid].append([_show(event.start), _show(event.end),
                                     event.status == "CANCELLED"])
        return found

    _check(produced, read, "ical")


def test_icaljs_thunderbird(produced: dict) -> None:
    node = require_executable("node")
    require((ROOT / "node_modules" / "ical.js").is_dir(),
            "node_modules/ical.js is missing; run `npm ci` at the repository root")
    paths = sorted(produced)
    run = subprocess.run([node, str(Path(__file__).parent / "interop" / "occurrences.mjs"),
                          UNTIL.isoformat(), *map(str, paths)],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert run.returncode == 0, run.stderr
    parsed = json.loads(run.stdout)

    def read(path: Path, data: bytes) -> Occurrences:
        return {uid: e["occurrences"] for uid, e in parsed[str(path)]["events"].items()}

    _check(produced, read, "ical.js")
    # Text comes through unescaped and whole: the feed's name, titles, places.
    upcoming = parsed[str(next(p for p in paths if p.match("fixtures/calendar/upcoming.ics")))]
    # ical.js knows neither X-WR-CALNAME nor NAME, so it hands over the raw (escaped) value;
    # what matters is that the value stayed one whole property.
    raw_name = upcoming["name"]
    assert re.sub(r"\\(.)", r"\1", raw_name) == SETTINGS.site_name
    events = upcoming["events"]
    assert events["los-angeles-weekly@pytorch.org"]["description"] == (
        "Join online: https://meet.example.org/la-office-hours?pwd=a,b;c")
    assert events["paris-weekly@pytorch.org"]["location"] == "Station F, Paris, France"
    assert events["paris-weekly@pytorch.org"]["status"] == "TENTATIVE"


def _compile(tmp: Path, source: str, compiler: str, packages: tuple[str, ...],
             extra: tuple[str, ...] = ()) -> Path:
    """Compile tests/interop/<source> against pkg-config `packages` into `tmp`."""
    pkg_config = require_executable("pkg-config")
    found = subprocess.run([pkg_config, "--cflags", "--libs", *packages], capture_output=True,
                           text=True, check=False)
    require(found.returncode == 0, f"{' '.join(packages)} missing (Debian: libical-dev, "
            f"libkf5calendarcore-dev): {found.stderr.strip()}")
    target = tmp / Path(source).stem
    built = subprocess.run([compiler, *extra, "-o", str(target), str(INTEROP / source),
                            *found.stdout.split()], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr  # a reader that does not compile is our bug
    return target


@pytest.fixture(scope="session")
def native_readers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Callable[[], Path]]:
    """Builders of the libical (C) and KCalendarCore (C++) readers, compiled once when asked."""
    tmp = tmp_path_factory.mktemp("readers")
    built: dict[str, Path] = {}

    def libical() -> Path:
        if "libical" not in built:
            built["libical"] = _compile(tmp, "libical_occurrences.c",
                                        require_executable("gcc"), ("libical",), ("-O1",))
        return built["libical"]

    def kcalendarcore() -> Path:
        if "kcalendarcore" not in built:
            built["kcalendarcore"] = _compile(
                tmp, "kcalendarcore_occurrences.cpp", require_executable("g++"),
                ("KF5CalendarCore", "Qt5Core", "Qt5Gui"), ("-std=c++17", "-fPIC", "-O1"))
        return built["kcalendarcore"]

    return {"libical": libical, "kcalendarcore": kcalendarcore}


def _run_native(program: Path, until: str, paths: list[Path]) -> dict:
    run = subprocess.run([str(program), until, *map(str, paths)], capture_output=True,
                         text=True, check=False)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_libical_evolution(produced: dict, native_readers) -> None:
    paths = sorted(produced)
    parsed = _run_native(native_readers["libical"](), UNTIL.strftime("%Y%m%dT%H%M%SZ"), paths)

    def read(path: Path, data: bytes) -> Occurrences:
        return parsed[str(path)]["events"]

    _check(produced, read, "libical")
    # RFC 5546 3.2.1 as libical checks it: every file is a valid PUBLISH (ORGANIZER, ...).
    assert [p for p in paths if not parsed[str(p)]["restrictions_ok"]] == []


def test_kcalendarcore_kde(produced: dict, native_readers) -> None:
    paths = sorted(produced)
    parsed = _run_native(native_readers["kcalendarcore"](), UNTIL.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         paths)

    def read(path: Path, data: bytes) -> Occurrences:
        return parsed[str(path)]["events"]

    _check(produced, read, "kcalendarcore")


TRICKY_ZONES = ("Europe/Dublin", "Australia/Lord_Howe", "Africa/Casablanca", "Asia/Jerusalem",
                "America/Santiago", "Pacific/Chatham", "America/St_Johns", "Asia/Tehran",
                "America/Sao_Paulo", "Europe/Moscow")


def test_icaljs_reads_tricky_zones_day_by_day(write_yaml, tmp_path: Path) -> None:
    # Negative DST (Dublin), 30- and 45-minute offsets, Ramadan breaks (Casablanca), a Friday
    # rule (Jerusalem), the southern hemisphere, zones that dropped DST: a daily 10:00 for
    # three years in each, as Thunderbird reads our VTIMEZONEs.
    node = require_executable("node")
    require((ROOT / "node_modules" / "ical.js").is_dir(),
            "node_modules/ical.js is missing; run `npm ci` at the repository root")
    for zone in TRICKY_ZONES:
        write_yaml(f"events/{zone.lower().replace('/', '-').replace('_', '-')}.yaml", f"""
            title: Daily in {zone}
            kind: meeting
            start: "2024-01-03 10:00"
            duration: 1h
            timezone: {zone}
            recurrence:
              rule: FREQ=DAILY;COUNT=1100
            """)
    events = load_events(tmp_path / "events", SETTINGS)
    paths = []
    for path, data in render_calendars(events, SETTINGS, PINNED_NOW).items():
        if path.startswith("calendar/events/"):
            paths.append(tmp_path / path)
            paths[-1].parent.mkdir(parents=True, exist_ok=True)
            paths[-1].write_bytes(data)
    run = subprocess.run([node, str(Path(__file__).parent / "interop" / "occurrences.mjs"),
                          "2030-01-01", *map(str, paths)],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert run.returncode == 0, run.stderr
    parsed = json.loads(run.stdout)
    for event in events:
        read = parsed[str(tmp_path / f"calendar/events/{event.id}.ics")]["events"]
        occurrences = [o[:2] for o in read[f"{event.id}@{SETTINGS.uid_host}"]["occurrences"]]
        expected = [[_show(o.start), _show(o.end)] for o in event.occurrences()]
        assert len(expected) == 1100 and occurrences == expected, event.timezone
