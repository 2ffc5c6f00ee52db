"""VTIMEZONEs in RRULE form give zoneinfo's UTC offset at every hour of the span they cover."""

from __future__ import annotations

import bisect
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from dateutil.tz import tzical
from icalendar import Calendar

from pipeline.calendar.vtimezone import vtimezone

UTC = dt.UTC
FIRST = dt.datetime(2012, 1, 1, tzinfo=UTC)
LAST = dt.datetime(2030, 1, 1, tzinfo=UTC)


def _wrap(name: str, first: dt.datetime = FIRST, last: dt.datetime | None = LAST) -> bytes:
    return (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
            + vtimezone(name, first, last).to_ical() + b"END:VCALENDAR\r\n")


def _onsets(raw: bytes) -> list[tuple[dt.datetime, dt.timedelta]]:
    """RFC 5545's reading: every onset in UTC with the offset it starts, sorted."""
    onsets = []
    zone = Calendar.from_ical(raw).walk("VTIMEZONE")[0]
    for part in zone.subcomponents:
        start = part["DTSTART"].dt
        before, after = part["TZOFFSETFROM"].td, part["TZOFFSETTO"].td
        starts, until = [start], None
        if "RRULE" in part:
            rule = part["RRULE"]
            until = rule.get("UNTIL", [None])[0]
            text = rule.to_ical().decode()
            text = ";".join(p for p in text.split(";") if not p.startswith("UNTIL="))
            starts = rrulestr(text, dtstart=start)
        for local in starts:
            instant = (local - before).replace(tzinfo=UTC)
            if (until is not None and instant > until) or instant > LAST + dt.timedelta(days=400):
                break
            onsets.append((instant, after))
    return sorted(onsets)


ZONES = ["Europe/Paris", "America/Los_Angeles", "Asia/Seoul", "Australia/Sydney",
         "Australia/Lord_Howe", "America/Santiago", "Europe/Dublin", "Asia/Jerusalem",
         "Africa/Casablanca", "Europe/Moscow", "America/Nuuk", "Asia/Kolkata", "Etc/UTC",
         "America/St_Johns", "Pacific/Chatham"]


@pytest.mark.parametrize("name", ZONES)
def test_every_hour_of_the_span_has_zoneinfos_offset(name: str) -> None:
    onsets = _onsets(_wrap(name))
    instants = [instant for instant, _ in onsets]
    zone = ZoneInfo(name)
    assert instants[0] <= FIRST, "nothing covers the start of the span"
    for probe in _probes(instants, FIRST, LAST):
        offset = onsets[bisect.bisect_right(instants, probe) - 1][1]
        assert offset == probe.astimezone(zone).utcoffset(), f"{name} at {probe}"


def _probes(instants: list[dt.datetime], first: dt.datetime, last: dt.datetime) -> list[dt.datetime]:
    """Noon of every day (a change left out), every 15 minutes around each onset (one misplaced)."""
    probes = [first + dt.timedelta(days=d, hours=12) for d in range((last - first).days)]
    for instant in instants:
        probes += [instant + dt.timedelta(minutes=15 * q) for q in range(-100, 100)]
    return sorted(p for p in probes if first <= p < last)


@pytest.mark.parametrize("name", ["Europe/Paris", "America/Los_Angeles", "Asia/Seoul", "Europe/Dublin"])
def test_dateutil_reads_the_same_wall_clock(name: str) -> None:
    # dateutil takes DAYLIGHT for the later clock: Dublin's negative DST must not confuse it.
    first, last = dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC)
    raw = _wrap(name, first, last)
    parsed = tzical(io.StringIO(raw.decode())).get(name)
    zone = ZoneInfo(name)
    for probe in _probes([instant for instant, _ in _onsets(raw)], first, last):
        assert probe.astimezone(parsed).replace(tzinfo=None) == \
            probe.astimezone(zone).replace(tzinfo=None), f"{name} at {probe}"


def test_dst_zones_are_two_yearly_rules_without_rdate() -> None:
    # The RDATE list icalendar writes is read as its first date only by ical.js and vobject.
    for name, daylight, standard in (
            ("Europe/Paris", "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
             "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"),
            ("America/Los_Angeles", "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3",
             "RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11")):
        text = vtimezone(name, dt.datetime(2024, 3, 1, tzinfo=UTC),
                         dt.datetime(2026, 1, 1, tzinfo=UTC)).to_ical().decode()
        assert "RDATE" not in text
        parts = text.split("BEGIN:")[2:]
        assert [p.split("\r\n")[0] for p in parts] == ["DAYLIGHT", "STANDARD"]
        assert daylight in parts[0] and standard in parts[1]
        assert "UNTIL" not in text  # the current rule goes on


def test_a_zone_without_dst_is_one_standard() -> None:
    text = vtimezone("Asia/Seoul", dt.datetime(2024, 12, 4, tzinfo=UTC),
                     dt.datetime(2025, 12, 31, tzinfo=UTC)).to_ical().decode()
    assert text.count("BEGIN:STANDARD") == 1
    assert "DAYLIGHT" not in text and "RRULE" not in text and "RDATE" not in text
    assert "TZOFFSETTO:+0900" in text


def test_an_endless_series_is_covered_past_2037() -> None:
    onsets = _onsets(_wrap("America/Los_Angeles", FIRST, None))
    assert any(instant.year == 2030 for instant, _ in onsets)
    text = _wrap("America/Los_Angeles", FIRST, None).decode()
    assert "UNTIL" not in text


def test_bytes_do_not_depend_on_the_span_inside_one_rule() -> None:
    # Adding an event a year earlier or later must not rewrite every file of that zone.
    narrow = vtimezone("Europe/Paris", dt.datetime(2025, 3, 1, tzinfo=UTC),
                       dt.datetime(2025, 4, 1, tzinfo=UTC)).to_ical()
    wide = vtimezone("Europe/Paris", dt.datetime(2019, 1, 1, tzinfo=UTC),
                     dt.datetime(2031, 1, 1, tzinfo=UTC)).to_ical()
    assert narrow == wide


def test_rules_that_ended_are_bounded_by_until() -> None:
    # Los Angeles before 2007: first Sunday of April; the span crosses the 2007 change.
    text = vtimezone("America/Los_Angeles", dt.datetime(2005, 1, 1, tzinfo=UTC),
                     dt.datetime(2008, 1, 1, tzinfo=UTC)).to_ical().decode()
    assert "BYDAY=1SU;BYMONTH=4" in text and "UNTIL=2006" in text
    assert "BYDAY=2SU;BYMONTH=3" in text
