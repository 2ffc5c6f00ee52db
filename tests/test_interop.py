"""Every produced feed, read by four independent parsers, gives every occurrence at the same UTC time."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import icalendar
import pytest
import recurring_ical_events
import vobject
import vobject.icalendar
from conftest import PINNED_NOW, ROOT, require, require_executable
from ical.calendar_stream import IcsCalendarStream

from pipeline.calendar.feeds import render_calendars
from pipeline.model import Event
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
Occurrences = dict[str, list[list[str]]]  # UID -> [[start, end], ...]


def _show(value: dt.date) -> str:
    if isinstance(value, dt.datetime):
        assert value.tzinfo is not None, f"floating time {value}: the TZID was not resolved"
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def _expected(event: Event) -> list[list[str]]:
    """The model's own occurrences: what the event file says."""
    return [[_show(o.start), _show(o.end)]
            for o in event.occurrences(before=UNTIL)]


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


def _check(produced: dict, read: Callable[[Path, bytes], Occurrences]) -> None:
    assert len(produced) > 20
    for path, (data, by_uid) in produced.items():
        parsed = read(path, data)
        uids = {str(e["UID"]) for e in icalendar.Calendar.from_ical(data).walk("VEVENT")}
        assert set(parsed) == uids, path
        for uid, occurrences in parsed.items():
            assert occurrences == _expected(by_uid[uid]), f"{path}: {uid}"


def test_icalendar_and_recurring_ical_events(produced: dict) -> None:
    def read(path: Path, data: bytes) -> Occurrences:
        found: Occurrences = {str(e["UID"]): [] for e in
                              icalendar.Calendar.from_ical(data).walk("VEVENT")}
        calendar = icalendar.Calendar.from_ical(data)
        for occurrence in recurring_ical_events.of(calendar).between(
                dt.datetime(1970, 1, 1, tzinfo=dt.UTC), UNTIL):
            found[str(occurrence["UID"])].append([_show(occurrence.start), _show(occurrence.end)])
        return {uid: sorted(o) for uid, o in found.items()}

    _check(produced, read)


def test_vobject(produced: dict) -> None:
    registry = vobject.icalendar.__dict__["__tzidMap"]

    def read(path: Path, data: bytes) -> Occurrences:
        text = data.decode("utf-8")
        # vobject keeps the first VTIMEZONE it saw per TZID for the whole process: forget them,
        # so that each file is read with its own.
        for zone in icalendar.Calendar.from_ical(data).walk("VTIMEZONE"):
            registry.pop(str(zone["TZID"]), None)
        found: Occurrences = {}
        for vevent in getattr(vobject.readOne(text), "vevent_list", []):  # an empty feed has none
            start, end = vevent.dtstart.value, vevent.dtend.value
            starts = vevent.getrruleset(addRDate=True) if vevent.rruleset else [start]
            occurrences = []
            for begin in starts:
                day = begin if isinstance(begin, dt.datetime) else dt.datetime.combine(
                    begin, dt.time(), dt.UTC)
                if day.astimezone(dt.UTC) >= UNTIL:
                    break
                if not isinstance(start, dt.datetime):  # vobject expands dates as datetimes
                    begin = begin.date() if isinstance(begin, dt.datetime) else begin
                occurrences.append([_show(begin), _show(begin + (end - start))])
            found[vevent.uid.value] = occurrences
        return found

    _check(produced, read)


def test_ical_home_assistant(produced: dict) -> None:
    def read(path: Path, data: bytes) -> Occurrences:
        calendar = IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))
        found: Occurrences = {event.uid: [] for event in calendar.events}
        for event in calendar.timeline_tz(dt.UTC):
            begin = event.start if isinstance(event.start, dt.datetime) else dt.datetime.combine(
                event.start, dt.time(), dt.UTC)
            if begin >= UNTIL:
                break
            found[event.uid].append([_show(event.start), _show(event.end)])
        return found

    _check(produced, read)


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

    _check(produced, read)
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
        occurrences = read[f"{event.id}@{SETTINGS.uid_host}"]["occurrences"]
        expected = [[_show(o.start), _show(o.end)] for o in event.occurrences()]
        assert len(expected) == 1100 and occurrences == expected, event.timezone
