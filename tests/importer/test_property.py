"""Property: any VEVENT series of the kinds the loader takes imports to the same occurrences."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ical_occurrences import of_files, of_source

from pipeline.cli import cli

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Seoul", "Australia/Sydney", "UTC"]
RULES = ["FREQ=WEEKLY;COUNT=8", "FREQ=MONTHLY;BYDAY=2TH;COUNT=6", "FREQ=DAILY;INTERVAL=3;COUNT=10",
         "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20251130T230000Z", None]


@st.composite
def calendars(draw: st.DrawFn) -> bytes:
    zone = draw(st.sampled_from(ZONES))
    day = dt.date(2025, 1, 6) + dt.timedelta(days=draw(st.integers(0, 600)))
    hour, minute = draw(st.integers(7, 21)), draw(st.sampled_from([0, 15, 30]))
    all_day = draw(st.booleans())
    rule = draw(st.sampled_from(RULES))
    if rule and rule.startswith("FREQ=MONTHLY"):  # DTSTART must be a second Thursday
        day = day.replace(day=1)
        day += dt.timedelta(days=(3 - day.weekday()) % 7 + 7)
    if rule and "BYDAY=MO,WE" in rule:
        day = dt.date(2025, 3, 3) + dt.timedelta(weeks=draw(st.integers(0, 20)))
    if all_day:
        rule = rule and rule.replace("UNTIL=20251130T230000Z", "UNTIL=20251130")
        start = f"DTSTART;VALUE=DATE:{day:%Y%m%d}"
        end = f"DTEND;VALUE=DATE:{day + dt.timedelta(days=draw(st.integers(1, 3))):%Y%m%d}"
    else:
        when = dt.datetime.combine(day, dt.time(hour, minute))
        until = when + dt.timedelta(minutes=draw(st.integers(30, 300)))
        prefix = "" if zone == "UTC" else f";TZID={zone}"
        suffix = "Z" if zone == "UTC" else ""
        start = f"DTSTART{prefix}:{when:%Y%m%dT%H%M%S}{suffix}"
        end = f"DTEND{prefix}:{until:%Y%m%dT%H%M%S}{suffix}"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//property//EN", "BEGIN:VEVENT",
             "UID:prop-1@example.org", "DTSTAMP:20250101T000000Z", start, end, "SUMMARY:Prop"]
    if rule:
        lines.append(f"RRULE:{rule}")
    lines += ["END:VEVENT", "END:VCALENDAR", ""]
    return "\r\n".join(lines).encode()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=calendars())
def test_imported_series_have_the_source_occurrences(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("prop")
    source = Path(folder, "in.ics")
    source.write_bytes(data)
    result = CliRunner().invoke(cli, ["import", str(source), "--events", str(folder / "events")])
    assert result.exit_code == 0, result.output
    assert set(of_files(folder / "events")) == set(of_source(data))
