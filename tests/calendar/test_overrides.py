"""Changed occurrences of a series in the feeds: one VEVENT each, the series' UID, RECURRENCE-ID."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from pipeline.calendar.feeds import render_calendars, render_calendars_and_ledger
from pipeline.model import OccurrenceChange, Status
from pipeline.sources.events import load_events

UTC = dt.UTC
PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2025, 1, 1, tzinfo=UTC)
SERIES = """\
title: Community call
kind: meeting
start: 2025-01-09 18:00
duration: 1h
timezone: Europe/Paris
recurrence:
  rule: FREQ=MONTHLY;BYDAY=2TH;COUNT=6
  except: [2025-03-13]
  changes:
    - occurrence: 2025-04-10
      start: "2025-04-17 17:00"
      title: Community call (moved)
      location: Station F, Paris
    - occurrence: 2025-05-08
      status: cancelled
"""


def _load(write_yaml, in_tmp, settings, text=SERIES):
    write_yaml("events/call.yaml", text)
    return load_events(in_tmp / "events", settings)


def _vevents(data: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(data).walk("VEVENT"))


def test_each_change_is_a_vevent_with_the_series_uid_and_recurrence_id(write_yaml, in_tmp,
                                                                       settings):
    files = render_calendars(_load(write_yaml, in_tmp, settings), settings, NOW)
    for path in ("calendar/events/call.ics", "calendar/upcoming.ics"):
        series, moved, cancelled = _vevents(files[path])
        assert {str(v["UID"]) for v in (series, moved, cancelled)} == {"call@events.example.org"}
        assert "RECURRENCE-ID" not in series and str(series["STATUS"]) == "CONFIRMED"
        # RECURRENCE-ID: the original start, in the series' zone (TZID), like DTSTART.
        assert moved["RECURRENCE-ID"].params["TZID"] == "Europe/Paris"
        assert moved["RECURRENCE-ID"].dt == dt.datetime(2025, 4, 10, 18, tzinfo=PARIS)
        assert moved["DTSTART"].dt == dt.datetime(2025, 4, 17, 17, tzinfo=PARIS)
        assert moved["DTEND"].dt == dt.datetime(2025, 4, 17, 18, tzinfo=PARIS)
        assert str(moved["SUMMARY"]) == "Community call (moved)"
        assert str(moved["LOCATION"]) == "Station F, Paris"
        assert cancelled["RECURRENCE-ID"].dt == dt.datetime(2025, 5, 8, 18, tzinfo=PARIS)
        assert str(cancelled["STATUS"]) == "CANCELLED"
        assert str(cancelled["SUMMARY"]) == "Community call"


def test_a_client_shows_the_moved_and_the_cancelled_occurrence(write_yaml, in_tmp, settings):
    files = render_calendars(_load(write_yaml, in_tmp, settings), settings, NOW)
    calendar = icalendar.Calendar.from_ical(files["calendar/events/call.ics"])
    shown = [(f"{o.start:%m-%d %H:%M}", str(o["SUMMARY"]), str(o.get("STATUS")))
             for o in recurring_ical_events.of(calendar).between(NOW, dt.datetime(2026, 1, 1))]
    assert shown == [("01-09 18:00", "Community call", "CONFIRMED"),
                     ("02-13 18:00", "Community call", "CONFIRMED"),
                     ("04-17 17:00", "Community call (moved)", "CONFIRMED"),
                     ("05-08 18:00", "Community call", "CANCELLED"),
                     ("06-12 18:00", "Community call", "CONFIRMED")]


def test_all_day_recurrence_id_is_a_date(write_yaml, in_tmp, settings):
    events = _load(write_yaml, in_tmp, settings, "title: Sprint\nkind: hackathon\n"
                   "start: 2025-03-01\nrecurrence:\n  rule: FREQ=WEEKLY;COUNT=3\n  changes:\n"
                   "    - {occurrence: 2025-03-08, start: 2025-03-09}\n")
    _, moved = _vevents(render_calendars(events, settings, NOW)["calendar/events/call.ics"])
    assert moved["RECURRENCE-ID"].params.get("VALUE") == "DATE"
    assert moved["RECURRENCE-ID"].dt == dt.date(2025, 3, 8)
    assert (moved["DTSTART"].dt, moved["DTEND"].dt) == (dt.date(2025, 3, 9), dt.date(2025, 3, 10))


def test_a_changed_override_raises_the_sequence_of_the_whole_series(write_yaml, in_tmp,
                                                                    settings):
    (event,) = _load(write_yaml, in_tmp, settings)
    _, ledger = render_calendars_and_ledger((event,), settings, NOW)
    later = NOW + dt.timedelta(days=3)
    again, ledger = render_calendars_and_ledger((event,), settings, later, ledger=ledger)
    assert {int(v["SEQUENCE"]) for v in _vevents(again["calendar/events/call.ics"])} == {0}
    # The organisers call off June's call as well: every VEVENT of the UID says so, stamped later.
    changes = (*event.recurrence.changes,
               OccurrenceChange(dt.datetime(2025, 6, 12, 18, tzinfo=PARIS), status=Status.CANCELLED))
    edited = dataclasses.replace(event, recurrence=dataclasses.replace(event.recurrence,
                                                                       changes=changes))
    files, _ = render_calendars_and_ledger((edited,), settings, later, ledger=ledger)
    vevents = _vevents(files["calendar/events/call.ics"])
    assert len(vevents) == 4
    assert {(int(v["SEQUENCE"]), v["DTSTAMP"].dt) for v in vevents} == {(1, later)}


def test_every_vevent_of_a_publish_has_one_organizer(write_yaml, in_tmp, settings):
    # RFC 5546 3.2.1: METHOD:PUBLISH requires ORGANIZER; libical's iTIP check refused the files.
    settings = dataclasses.replace(settings, site_name='Test "Community", Paris; \\ x')
    files = render_calendars(_load(write_yaml, in_tmp, settings), settings, NOW)
    for data in files.values():
        assert b"METHOD:PUBLISH\r\n" in data
        for vevent in _vevents(data):
            (organizer,) = [v for k, v in vevent.property_items() if k == "ORGANIZER"]
            assert str(organizer) == "mailto:news@example.org"
            assert organizer.params["CN"] == 'Test "Community", Paris; \\ x'
            assert organizer.params["DIR"] == "https://events.example.org/"
