"""The calendar files: what subscribers' apps receive, property by property."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import os
import re
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from conftest import PINNED_NOW, ROOT
from hypothesis import given
from hypothesis import settings as settings_profile
from hypothesis import strategies as st

from pipeline.calendar.feeds import calendar_ledger, render_calendars
from pipeline.calendar.folds import mend_folds
from pipeline.model import Event, Location, Status
from pipeline.sources.events import load_events
from pipeline.sources.settings import FeedSpec, Settings

UTC = dt.UTC
FIXTURES = Path(__file__).parents[1] / "fixtures" / "calendar" / "events"
BEFORE_ALL = dt.datetime(2025, 1, 1, tzinfo=UTC)  # every fixture event is still to come
HOSTILE = 'Commas, semicolons; back\\slash\nBEGIN:VEVENT\nUID:evil\r\nEND:VCALENDAR "quoted"'


@pytest.fixture
def fixture_events(settings: Settings) -> tuple[Event, ...]:
    return load_events(FIXTURES, settings)


def _parse(data: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(data)


def _vevent(data: bytes, uid_start: str) -> icalendar.Event:
    (found,) = [e for e in _parse(data).walk("VEVENT") if str(e["UID"]).startswith(uid_start)]
    return found


def _block(data: bytes, uid: str) -> bytes:
    """The bytes of one VEVENT, as written."""
    return re.search(rb"BEGIN:VEVENT\r\n(?:(?!END:VEVENT).)*UID:" + re.escape(uid.encode())
                     + rb"\r\n.*?END:VEVENT\r\n", data, re.S).group(0)


def _occurrences(data: bytes, uid_start: str) -> list[tuple]:
    calendar = _parse(data)
    return [(o.start, o.end) for o in recurring_ical_events.of(calendar).between(
        dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2028, 1, 1, tzinfo=UTC))
        if str(o["UID"]).startswith(uid_start)]


def test_paths_upcoming_feeds_and_one_file_per_event(fixture_events, settings) -> None:
    settings = dataclasses.replace(settings, feeds=(FeedSpec("paris", "Paris", tags=("paris",)),))
    files = render_calendars(fixture_events, settings, dt.datetime(2025, 6, 1, tzinfo=UTC))
    assert sorted(files) == sorted(["calendar/upcoming.ics", "calendar/paris.ics",
                                    *(f"calendar/events/{e.id}.ics" for e in fixture_events)])
    paris = [str(e["UID"]) for e in _parse(files["calendar/paris.ics"]).walk("VEVENT")]
    # paris-weekly ended in April; the endless monthly series is still on.
    assert paris == ["paris-monthly@events.example.org"]


def test_weekly_series_across_dst_keeps_the_wall_clock(fixture_events, settings) -> None:
    data = render_calendars(fixture_events, settings, BEFORE_ALL)["calendar/upcoming.ics"]
    paris = _occurrences(data, "paris-weekly@")
    starts = [s.astimezone(UTC).strftime("%m-%d %H:%M") for s, _ in paris]
    # 18:30 in Paris is 17:30 UTC before 30 March and 16:30 after; 18 March is an EXDATE.
    assert starts == ["03-04 17:30", "03-11 17:30", "03-25 17:30", "04-01 16:30",
                      "04-08 16:30", "04-15 16:30", "04-22 16:30"]
    los_angeles = _occurrences(data, "los-angeles-weekly@")
    assert [s.astimezone(UTC).strftime("%m-%d %H:%M") for s, _ in los_angeles] == [
        "10-22 00:00", "10-29 00:00", "11-05 01:00", "11-12 01:00", "11-19 01:00"]
    block = _block(data, "paris-weekly@events.example.org").decode()
    assert "DTSTART;TZID=Europe/Paris:20250304T183000\r\n" in block
    assert "RRULE:FREQ=WEEKLY;COUNT=8;BYDAY=TU\r\n" in block
    assert "EXDATE;TZID=Europe/Paris:20250318T183000\r\n" in block


def test_a_zone_without_dst_keeps_the_same_utc_time(fixture_events, settings) -> None:
    data = render_calendars(fixture_events, settings, BEFORE_ALL)["calendar/events/seoul-weekly.ics"]
    starts = {s.astimezone(UTC).time() for s, _ in _occurrences(data, "seoul-weekly@")}
    assert starts == {dt.time(10, 0)}
    assert data.count(b"BEGIN:STANDARD") == 1 and b"DAYLIGHT" not in data


def test_every_tzid_has_its_vtimezone_in_the_same_file(fixture_events, settings) -> None:
    for path, data in render_calendars(fixture_events, settings, BEFORE_ALL).items():
        used = set(re.findall(rb";TZID=([^:;]+)", data))
        defined = set(re.findall(rb"\r\nTZID:([^\r]+)", data))
        assert used == defined, path
        assert b"RDATE" not in data, path


def test_vtimezones_made_in_workers_are_the_bytes_of_one_at_a_time(
        fixture_events, settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # Scanning tzdata costs 30 to 85 ms a zone, in the build's serial part: the fixture's
    # five VTIMEZONEs (its Etc/UTC event is written in UTC) are made in forked workers,
    # to the same bytes.
    import pipeline.calendar.feeds as feeds_module
    monkeypatch.setattr(feeds_module, "ZONES_PARALLEL_FROM", 100)
    one_at_a_time = render_calendars(fixture_events, settings, BEFORE_ALL)
    monkeypatch.setattr(feeds_module, "ZONES_PARALLEL_FROM", 3)
    asked: list[int] = []
    fork_map = feeds_module.fork_map
    monkeypatch.setattr(feeds_module, "fork_map", lambda function, items, parallel_from: (
        asked.append(len(items)), fork_map(function, items, parallel_from))[1])
    in_workers = render_calendars(fixture_events, settings, BEFORE_ALL)
    assert asked == [5]
    assert in_workers == one_at_a_time


def test_all_day_events_are_dates_with_an_exclusive_end(fixture_events, settings) -> None:
    files = render_calendars(fixture_events, settings, BEFORE_ALL)
    block = _block(files["calendar/upcoming.ics"], "two-day-conference@events.example.org")
    assert b"DTSTART;VALUE=DATE:20250918\r\n" in block
    assert b"DTEND;VALUE=DATE:20250920\r\n" in block  # 18 and 19 September, both whole
    assert b"TZID" not in block
    docathon = _occurrences(files["calendar/events/yearly-docathon.ics"], "yearly-docathon@")
    assert docathon == [(dt.date(2025, 6, 3), dt.date(2025, 6, 6)),
                        (dt.date(2027, 6, 3), dt.date(2027, 6, 6))]  # 2026 is an EXDATE
    assert b"EXDATE;VALUE=DATE:20260603\r\n" in files["calendar/events/yearly-docathon.ics"]


def test_a_timed_event_past_midnight_ends_the_next_day(fixture_events, settings) -> None:
    data = render_calendars(fixture_events, settings, BEFORE_ALL)["calendar/events/late-night.ics"]
    event = _vevent(data, "late-night@")
    zone = ZoneInfo("America/New_York")
    assert event["DTSTART"].dt == dt.datetime(2025, 6, 20, 22, 0, tzinfo=zone)
    assert event["DTEND"].dt == dt.datetime(2025, 6, 21, 1, 30, tzinfo=zone)


def test_event_properties(fixture_events, settings) -> None:
    files = render_calendars(fixture_events, settings, BEFORE_ALL)
    conference = _vevent(files["calendar/upcoming.ics"], "two-day-conference@")
    assert str(conference["UID"]) == "two-day-conference@events.example.org"
    assert str(conference["SUMMARY"]) == "Two-day conference"
    assert str(conference["LOCATION"]) == "Moscone Center, San Francisco, USA"
    assert str(conference["URL"]) == "https://conf.example.org/2025/"
    assert str(conference["IMAGE"]) == "https://events.example.org/assets/images/conference.jpg"
    assert conference["IMAGE"].params["VALUE"] == "URI"
    assert conference["CATEGORIES"].cats == ["conference"]  # kind and tag, once
    assert str(conference["DESCRIPTION"]) == "Event page: https://conf.example.org/2025/"
    assert str(conference["STATUS"]) == "CONFIRMED"
    online = _vevent(files["calendar/upcoming.ics"], "los-angeles-weekly@")
    join = "https://meet.example.org/la-office-hours?pwd=a,b;c"
    assert str(online["CONFERENCE"]) == join and online["CONFERENCE"].params["VALUE"] == "URI"
    assert str(online["DESCRIPTION"]) == f"Join online: {join}"
    assert online["CATEGORIES"].cats == ["meeting", "online"]


def test_tentative_and_cancelled_are_marked(fixture_events, settings) -> None:
    data = render_calendars(fixture_events, settings, BEFORE_ALL)["calendar/upcoming.ics"]
    assert str(_vevent(data, "paris-weekly@")["STATUS"]) == "TENTATIVE"
    assert str(_vevent(data, "cancelled-meetup@")["STATUS"]) == "CANCELLED"


def test_cancelled_events_stay_listed_until_they_end(fixture_events, settings) -> None:
    end = dt.datetime(2025, 5, 15, 20, 0, tzinfo=ZoneInfo("Europe/Paris"))

    def listed(now: dt.datetime) -> bool:
        data = render_calendars(fixture_events, settings, now)["calendar/upcoming.ics"]
        return b"UID:cancelled-meetup@" in data

    assert listed(end - dt.timedelta(seconds=1))
    assert not listed(end)
    assert b"STATUS:CANCELLED" in render_calendars(fixture_events, settings, end)[
        "calendar/events/cancelled-meetup.ics"]  # its own file stays


def test_upcoming_boundaries_of_a_series_and_an_all_day_event(fixture_events, settings) -> None:
    last_end = dt.datetime(2025, 4, 22, 20, 0, tzinfo=ZoneInfo("Europe/Paris"))
    # The all-day conference with a zone ends at midnight after its last day, in that zone.
    conference_end = dt.datetime(2025, 9, 20, tzinfo=ZoneInfo("America/Los_Angeles"))
    for uid, end in (("paris-weekly@", last_end), ("two-day-conference@", conference_end)):
        before = render_calendars(fixture_events, settings, end - dt.timedelta(seconds=1))
        after = render_calendars(fixture_events, settings, end)
        assert uid.encode() in before["calendar/upcoming.ics"]
        assert uid.encode() not in after["calendar/upcoming.ics"]
    far = render_calendars(fixture_events, settings, dt.datetime(2040, 1, 1, tzinfo=UTC))
    uids = re.findall(rb"UID:([^\r]+)", far["calendar/upcoming.ics"])
    assert uids == [b"paris-monthly@events.example.org"]  # an endless series never ends


def test_feed_metadata(fixture_events, settings) -> None:
    settings = dataclasses.replace(settings, calendar_color="crimson",
                                   refresh_interval=dt.timedelta(hours=6),
                                   feeds=(FeedSpec("korea", "Korea", "Events in Korea",
                                                   tags=("korea",)),))
    files = render_calendars(fixture_events, settings, BEFORE_ALL)
    text = files["calendar/korea.ics"].decode()
    for line in ("METHOD:PUBLISH", "NAME:Korea", "X-WR-CALNAME:Korea",
                 "DESCRIPTION:Events in Korea", "X-WR-CALDESC:Events in Korea",
                 "REFRESH-INTERVAL;VALUE=DURATION:PT6H", "X-PUBLISHED-TTL:PT6H", "COLOR:crimson",
                 "SOURCE;VALUE=URI:https://events.example.org/calendar/korea.ics",
                 "URL;VALUE=URI:https://events.example.org/", "VERSION:2.0"):
        assert f"\r\n{line}\r\n" in text
    assert "PRODID:" in text and "REQUEST" not in text
    upcoming = files["calendar/upcoming.ics"].decode()
    assert "\r\nX-WR-CALNAME:Test Community\r\n" in upcoming
    assert "\r\nX-WR-CALDESC:Upcoming events of Test Community\r\n" in upcoming
    # An event's own file is for "add to calendar": it must not create or rename a calendar.
    single = files["calendar/events/seoul-weekly.ics"].decode()
    assert "METHOD:PUBLISH" in single and "X-WR-CALNAME" not in single
    assert "\r\nNAME:" not in single and "REFRESH-INTERVAL" not in single


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def _hostile_event() -> Event:
    return Event(id="hostile", title=HOSTILE, kind="meetup", start=dt.date(2030, 1, 1),
                 end=dt.date(2030, 1, 1), summary=HOSTILE, url="https://example.org/a,b;c",
                 location=Location(name=HOSTILE, city="Paris; France", url=None),
                 tags=("a-b",), status=Status.CONFIRMED)


def test_text_is_escaped_in_every_property_including_the_calendar_name(settings) -> None:
    settings = dataclasses.replace(settings, calendar_name=HOSTILE, calendar_description=HOSTILE,
                                   calendar_color=HOSTILE,
                                   feeds=(FeedSpec("odd", HOSTILE, HOSTILE, kinds=("meetup",)),))
    files = render_calendars((_hostile_event(),), settings, BEFORE_ALL)
    for path in ("calendar/upcoming.ics", "calendar/odd.ics", "calendar/events/hostile.ics"):
        data = files[path]
        # Nothing hostile became a line of its own: one event, one UID, one end.
        lines = data.split(b"\r\n")
        assert lines.count(b"BEGIN:VEVENT") == 1, path
        assert [line for line in lines if line.startswith(b"UID:")] == [b"UID:hostile@events.example.org"]
        assert lines.count(b"END:VCALENDAR") == 1 and lines[-2:] == [b"END:VCALENDAR", b""], path
        calendar = _parse(data)
        event = calendar.walk("VEVENT")[0]
        assert str(event["SUMMARY"]) == HOSTILE.replace("\r\n", "\n")
        assert str(event["LOCATION"]) == f"{HOSTILE}, Paris; France".replace("\r\n", "\n")
        assert str(event["DESCRIPTION"]).startswith(HOSTILE.replace("\r\n", "\n"))
        if path != "calendar/events/hostile.ics":
            for key in ("NAME", "X-WR-CALNAME", "DESCRIPTION", "X-WR-CALDESC", "COLOR"):
                # icalendar parses NAME as an unknown property: read its text by RFC 5545 rules.
                assert _unescape(calendar[key].to_ical().decode()) == HOSTILE.replace("\r\n", "\n")
    assert b"\r\nX-WR-CALNAME:Commas\\, semicolons\\; back\\\\slash\\nBEGIN:VEVENT" in files[
        "calendar/odd.ics"]


def test_lines_are_crlf_folded_at_75_octets_without_splitting_a_character(settings) -> None:
    event = dataclasses.replace(_hostile_event(), title="é日本" * 40, summary="🙂x" * 60)
    data = render_calendars((event,), settings, BEFORE_ALL)["calendar/upcoming.ics"]
    assert b"\n" not in data.replace(b"\r\n", b"") and b"\r" not in data.replace(b"\r\n", b"")
    for line in data.split(b"\r\n"):
        assert len(line) <= 75
        line.decode("utf-8")  # a character cut in two would not decode on its own
    assert str(_vevent(data, "hostile@")["SUMMARY"]) == "é日本" * 40


@pytest.mark.parametrize("width", range(60, 80))
def test_folding_never_splits_an_escape(width: int, settings) -> None:
    # icalendar 7.3 splits `\\` when the fold falls right after it; mend_folds re-folds.
    title = "x" * width + "\\n" + "y" * 100
    event = dataclasses.replace(_hostile_event(), title=title)
    data = render_calendars((event,), settings, BEFORE_ALL)["calendar/upcoming.ics"]
    lines = data.split(b"\r\n")
    for line, following in itertools.pairwise(lines):
        if following.startswith(b" "):
            trailing = len(line) - len(line.rstrip(b"\\"))
            assert trailing % 2 == 0, (line, following)
    assert str(_vevent(data, "hostile@")["SUMMARY"]) == title


def test_mend_folds_changes_only_lines_with_a_split_escape() -> None:
    # As icalendar 7.3 writes `x...x\\ny...`: the fold falls inside the escaped backslash.
    split = b"SUMMARY:" + b"x" * 64 + b"\\\r\n \\n" + b"y" * 80 + b"\r\nUID:a\r\n"
    mended = mend_folds(split)
    lines = mended.split(b"\r\n")
    assert [len(line) for line in lines] == [75, 75, 7, 5, 0]
    assert lines[0].endswith(b"x\\\\n")  # the escape stays whole on the first line
    assert mended.replace(b"\r\n ", b"") == split.replace(b"\r\n ", b"")  # same content
    whole = b"SUMMARY:" + b"x" * 66 + b"\r\n \\\\nyy\r\nUID:a\r\n"
    assert mend_folds(whole) == whole


def test_first_publication_stamps_every_event_with_now(fixture_events, settings) -> None:
    # Without a ledger every event is new: first published now, SEQUENCE 0.
    files = render_calendars(fixture_events, settings, BEFORE_ALL + dt.timedelta(microseconds=7))
    for path, data in files.items():
        for event in _parse(data).walk("VEVENT"):
            assert event["DTSTAMP"].dt == event["LAST-MODIFIED"].dt == BEFORE_ALL, path
            assert event["SEQUENCE"] == 0, path
    block = _block(files["calendar/upcoming.ics"], "paris-weekly@events.example.org")
    assert b"\r\nDTSTAMP:20250101T000000Z\r\nSEQUENCE:0\r\nLAST-MODIFIED:20250101T000000Z\r\n" in block


def test_each_vevent_is_the_same_bytes_in_every_file(fixture_events, settings) -> None:
    settings = dataclasses.replace(settings, feeds=(FeedSpec("paris", "Paris", tags=("paris",)),))
    files = render_calendars(fixture_events, settings, BEFORE_ALL)
    uid = "paris-weekly@events.example.org"
    own = _block(files["calendar/events/paris-weekly.ics"], uid)
    assert own == _block(files["calendar/upcoming.ics"], uid) == _block(files["calendar/paris.ics"], uid)


def test_same_bytes_twice_and_whatever_the_input_order(fixture_events, settings) -> None:
    once = render_calendars(fixture_events, settings, BEFORE_ALL)
    assert once == render_calendars(fixture_events, settings, BEFORE_ALL)
    assert once == render_calendars(tuple(reversed(fixture_events)), settings, BEFORE_ALL)


def test_same_bytes_whatever_the_hash_seed(settings) -> None:
    script = (
        "import datetime as dt, hashlib, pathlib, sys\n"
        "from pipeline.calendar.feeds import render_calendars\n"
        "from pipeline.sources.events import load_events\n"
        "from pipeline.sources.settings import Settings\n"
        "s = Settings(base_url='https://events.example.org/')\n"
        "files = render_calendars(load_events(pathlib.Path(sys.argv[1]), s), s,\n"
        "                         dt.datetime(2025, 1, 1, tzinfo=dt.UTC))\n"
        "print(hashlib.sha256(b''.join(k.encode() + v for k, v in sorted(files.items())))"
        ".hexdigest())\n")
    digests = set()
    for seed in ("1", "2", "3"):
        run = subprocess.run([sys.executable, "-c", script, str(FIXTURES)], capture_output=True,
                             text=True, check=True, cwd=ROOT,
                             env={**os.environ, "PYTHONHASHSEED": seed})
        digests.add(run.stdout)
    assert len(digests) == 1


def test_bundled_feeds_match_their_golden_files(golden) -> None:
    settings = Settings(site_name="PyTorch Community Events", base_url="https://pytorch.org/",
                        uid_domain="pytorch.org", calendar_color="#ee4c2c",
                        feeds=(FeedSpec("conferences", "PyTorch conferences", kinds=("conference",)),
                               FeedSpec("korea", "PyTorch Korea", "PyTorch Korea User Group events",
                                        tags=("korea",))))
    events = load_events(ROOT / "events", settings)
    for path, data in sorted(render_calendars(events, settings, PINNED_NOW).items()):
        golden(path, data)


TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\x7f",
                             codec="utf-8").filter(lambda c: c == "\n" or c.isprintable()),
               min_size=1, max_size=200)


@settings_profile(max_examples=150, deadline=None)
@given(title=TEXT, summary=TEXT, place=TEXT, name=TEXT)
def test_any_text_reads_back_the_same_and_stays_one_event(title, summary, place, name) -> None:
    site = Settings(base_url="https://events.example.org/", calendar_name=name)
    event = dataclasses.replace(_hostile_event(), title=title, summary=summary,
                                location=Location(name=place))
    data = render_calendars((event,), site, BEFORE_ALL)["calendar/upcoming.ics"]
    lines = data.split(b"\r\n")
    assert lines.count(b"BEGIN:VEVENT") == 1 and lines[-2:] == [b"END:VCALENDAR", b""]
    assert all(len(line) <= 75 for line in lines)
    parsed = _parse(data)
    vevent = parsed.walk("VEVENT")[0]
    assert str(vevent["SUMMARY"]) == title
    assert str(vevent["LOCATION"]) == place
    assert str(vevent["DESCRIPTION"]) == f"{summary}\n\nEvent page: https://example.org/a,b;c"
    assert _unescape(parsed["X-WR-CALNAME"].to_ical().decode()) == name


def test_a_later_rebuild_of_unchanged_input_is_byte_identical() -> None:
    # A cron job's next run, with the ledger the first published: nothing ended in between,
    # so not one byte may change.
    settings = Settings(base_url="https://pytorch.org/", feeds=(
        FeedSpec("korea", "Korea", tags=("korea",)),))
    events = load_events(ROOT / "events", settings)
    ledger = calendar_ledger(events, settings, PINNED_NOW)
    assert render_calendars(events, settings, PINNED_NOW) == render_calendars(
        events, settings, PINNED_NOW + dt.timedelta(days=1, hours=7, seconds=13), ledger=ledger)


def test_a_feed_without_description_gets_the_documented_default(fixture_events, settings) -> None:
    settings = dataclasses.replace(settings, feeds=(FeedSpec("korea", "Korea", tags=("korea",)),))
    text = render_calendars(fixture_events, settings, BEFORE_ALL)["calendar/korea.ics"].decode()
    assert "\r\nX-WR-CALDESC:Korea: upcoming events of Test Community\r\n" in text
    assert "\r\nDESCRIPTION:Korea: upcoming events of Test Community\r\n" in text
    formats = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    assert "| `description` | text | `<name>: upcoming events of <site_name>` |" in formats


def test_a_written_backslash_n_stays_two_characters_not_a_line_break() -> None:
    # Bug: icalendar 7.3 escapes TEXT after turning a literal `\N` into a newline, so a title
    # "C:\New" (or a calendar named `\N`) reached subscribers as "C:" and "ew" on two lines.
    site = Settings(base_url="https://events.example.org/", calendar_name="\\N")
    event = dataclasses.replace(_hostile_event(), title="C:\\New", summary="a\\Nb",
                                location=Location(name="\\\\N"))
    data = render_calendars((event,), site, BEFORE_ALL)["calendar/upcoming.ics"]
    assert b"SUMMARY:C:\\\\New\r\n" in data and b"X-WR-CALNAME:\\\\N\r\n" in data
    vevent = _parse(data).walk("VEVENT")[0]
    assert str(vevent["SUMMARY"]) == "C:\\New"
    assert str(vevent["LOCATION"]) == "\\\\N"
    assert str(vevent["DESCRIPTION"]).startswith("a\\Nb\n\n")
