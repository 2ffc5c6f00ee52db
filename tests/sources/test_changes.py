"""`recurrence.changes`: single occurrences moved, retitled or cancelled, and what is refused."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from pipeline.model import Location, OccurrenceChange, Status
from pipeline.sources.events import load_events
from pipeline.sources.settings import Settings

PARIS = ZoneInfo("Europe/Paris")
SERIES = """\
title: Community call
kind: meeting
start: 2025-01-09 18:00
duration: 1h
timezone: Europe/Paris
recurrence:
  rule: FREQ=MONTHLY;BYDAY=2TH;COUNT=8
  except: [2025-03-13]
  changes:
"""
ALL_DAY = """\
title: Sprint
kind: hackathon
start: 2025-03-01
end: 2025-03-02
recurrence:
  rule: FREQ=WEEKLY;COUNT=6
  changes:
"""


def _load(write_yaml, in_tmp, text: str):
    write_yaml("events/call.yaml", text)
    (event,) = load_events(in_tmp / "events", Settings())
    return event


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


def test_moved_retitled_and_cancelled_occurrences_are_read(write_yaml, in_tmp):
    event = _load(write_yaml, in_tmp, SERIES + """\
    - occurrence: 2025-05-08
      status: cancelled
    - occurrence: 2025-04-10
      start: "2025-04-17 17:00"
      duration: 2h
      title: Call (moved)
      location: {name: Station F, city: Paris}
""")
    assert event.recurrence.changes == (
        OccurrenceChange(paris(2025, 4, 10, 18), paris(2025, 4, 17, 17), paris(2025, 4, 17, 19),
                         "Call (moved)", None, Location(name="Station F", city="Paris")),
        OccurrenceChange(paris(2025, 5, 8, 18), status=Status.CANCELLED))


def test_model_occurrences_honour_moves_and_flag_cancelled_ones(write_yaml, in_tmp):
    event = _load(write_yaml, in_tmp, SERIES + """\
    - occurrence: 2025-04-10
      start: "2025-04-17 17:00"
    - occurrence: 2025-05-08
      status: cancelled
    - occurrence: 2025-02-13
      start: "2025-06-30 09:00"
""")
    shown = [(f"{o.start:%m-%d %H:%M}", f"{o.end:%H:%M}", o.cancelled) for o in event.occurrences()]
    assert shown == [("01-09 18:00", "19:00", False),  # March 13 skipped: gone
                     ("04-17 17:00", "18:00", False),  # moved, keeps the series' hour
                     ("05-08 18:00", "19:00", True),   # cancelled: still there, flagged
                     ("06-12 18:00", "19:00", False),
                     ("06-30 09:00", "10:00", False),  # February's, moved past June's: in order
                     ("07-10 18:00", "19:00", False),
                     ("08-14 18:00", "19:00", False)]
    assert event.ends_at == paris(2025, 8, 14, 19)
    at = paris(2025, 5, 1)
    assert event.next_occurrence(at).cancelled
    assert event.next_occurrence(at, cancelled=False).start == paris(2025, 6, 12, 18)


def test_all_day_change_moves_and_lengthens(write_yaml, in_tmp):
    event = _load(write_yaml, in_tmp, ALL_DAY + """\
    - occurrence: 2025-03-15
      start: 2025-03-18
      end: 2025-03-20
""")
    spans = [(o.start, o.end) for o in event.occurrences()][1:3]
    assert spans == [(dt.date(2025, 3, 8), dt.date(2025, 3, 10)),
                     (dt.date(2025, 3, 18), dt.date(2025, 3, 21))]  # exclusive end


def test_wrong_changes_are_all_reported_with_their_lines(write_yaml, check_problems):
    write_yaml("events/call.yaml", SERIES + """\
    - occurrence: 2025-04-11
      title: Not a Thursday
    - occurrence: 2025-05-08
      status: cancelled
      start: "2025-05-09 18:00"
    - occurrence: 2025-06-12
      start: "2025-07-10 18:00"
    - occurrence: 2025-04-10
      title: First
    - occurrence: 2025-04-10
      title: Twice
    - occurrence: 2025-03-13
      title: Skipped
    - occurrence: 2025-02-13
    - occurrence: 2025-02-13 18:00
      start: "2025-03-30 02:30"
""")
    assert check_problems() == [
        "events/call.yaml:10: 'occurrence' 2025-04-11 is not an occurrence of the series; the "
        "nearest are 2025-04-10 18:00 and 2025-05-08 18:00; write an original date of the series",
        "events/call.yaml:14: a cancelled occurrence is not moved; remove 'start' or the "
        "'status: cancelled'",
        "events/call.yaml:15: the change of 2025-06-12 18:00 moves it onto 2025-07-10, the day "
        "of another occurrence (2025-07-10 18:00); calendar apps would show both: move it to "
        "another day, or cancel or 'except' that one",
        "events/call.yaml:19: occurrence 2025-04-10 18:00 is already changed at line 17; merge "
        "the two items",
        "events/call.yaml:21: occurrence 2025-03-13 is skipped by 'except'; remove it from "
        "'except' to change it, or remove this change",
        "events/call.yaml:23: this change changes nothing; add 'start' (moved), 'status: "
        "cancelled', a 'title', 'summary' or 'location', or remove it",
        "events/call.yaml:25: 'recurrence.changes[].start' 2025-03-30 02:30 does not exist in "
        "Europe/Paris (the clocks jump forward then); pick a time outside the gap",
    ]


def test_moving_onto_a_day_freed_by_another_move_is_fine(write_yaml, in_tmp):
    event = _load(write_yaml, in_tmp, SERIES + """\
    - occurrence: 2025-06-12
      start: "2025-07-10 18:00"
    - occurrence: 2025-07-10
      start: "2025-07-17 18:00"
""")
    starts = [o.start for o in event.occurrences()]
    assert paris(2025, 7, 10, 18) in starts and paris(2025, 7, 17, 18) in starts


def test_all_day_change_with_a_time_is_refused(write_yaml, check_problems):
    write_yaml("events/call.yaml", ALL_DAY + """\
    - occurrence: 2025-03-08 10:00
      title: x
    - occurrence: 2025-03-15
      start: 2025-03-16 10:00
""")
    assert check_problems() == [
        "events/call.yaml:8: 'occurrence' 2025-03-08 10:00 has a time but the series is "
        "all-day; write the date only",
        "events/call.yaml:11: 'recurrence.changes[].start' has a time but the series is "
        "all-day; write the date only"]


def test_moved_from_is_read_and_refused_on_a_series(write_yaml, in_tmp, check_problems):
    write_yaml("events/talk.yaml", "title: Talk\nkind: meetup\nstart: 2025-05-15 18:00\n"
               "duration: 1h\ntimezone: Europe/Paris\nmoved_from: 2025-05-01 18:00\n")
    (event,) = load_events(in_tmp / "events", Settings())
    assert event.moved_from == paris(2025, 5, 1, 18)
    write_yaml("events/talk.yaml", SERIES.replace("  changes:\n", "") + "moved_from: 2025-01-02\n")
    assert check_problems() == [
        "events/talk.yaml:9: 'moved_from' is for a one-off event; move one occurrence of a "
        "series with 'recurrence.changes' instead"]
