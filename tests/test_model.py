"""The event model: occurrences across DST, EXDATE, and when an event has ended."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from pipeline.model import Event, Issue, Location, Occurrence, Recurrence

PARIS = ZoneInfo("Europe/Paris")
LA = ZoneInfo("America/Los_Angeles")
UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def event(**values) -> Event:
    values.setdefault("id", "e")
    values.setdefault("title", "E")
    values.setdefault("kind", "meetup")
    values.setdefault("end", values["start"])
    return Event(**values)


def weekly_paris(start: dt.datetime, rule: str = "FREQ=WEEKLY;COUNT=3", exceptions=()) -> Event:
    return event(start=start, end=start + dt.timedelta(hours=1), timezone="Europe/Paris",
                 recurrence=Recurrence(rule, exceptions))


@pytest.mark.parametrize(("first", "offsets"), [
    # Clocks go forward on the last Sunday of March (31 March 2024)...
    (dt.datetime(2024, 3, 20, 10, 0, tzinfo=PARIS), [1, 1, 2]),
    # ...and back on the last Sunday of October (27 October 2024).
    (dt.datetime(2024, 10, 16, 10, 0, tzinfo=PARIS), [2, 2, 1]),
])
def test_weekly_series_keeps_wall_clock_time_across_dst(first, offsets):
    occurrences = list(weekly_paris(first).occurrences())
    assert [o.start.strftime("%a %H:%M") for o in occurrences] == ["Wed 10:00"] * 3
    assert [o.end.strftime("%H:%M") for o in occurrences] == ["11:00"] * 3
    assert [o.start.utcoffset() for o in occurrences] == [dt.timedelta(hours=h) for h in offsets]
    # So the instant in UTC moves by an hour: 09:00Z then 08:00Z in spring.
    assert occurrences[2].start.astimezone(UTC).hour == 10 - offsets[2]


def test_except_dates_are_skipped():
    start = dt.datetime(2024, 3, 20, 10, 0, tzinfo=PARIS)
    skipped = dt.datetime(2024, 3, 27, 10, 0, tzinfo=PARIS)
    series = weekly_paris(start, exceptions=(skipped,))
    assert [o.start.day for o in series.occurrences()] == [20, 3]


def test_all_day_series_skips_except_dates_and_keeps_its_length():
    series = event(start=dt.date(2024, 12, 2), end=dt.date(2024, 12, 3),
                   recurrence=Recurrence("FREQ=WEEKLY;COUNT=3", (dt.date(2024, 12, 9),)))
    assert list(series.occurrences()) == [
        Occurrence(dt.date(2024, 12, 2), dt.date(2024, 12, 4)),
        Occurrence(dt.date(2024, 12, 16), dt.date(2024, 12, 18))]


def test_occurrences_between_two_instants_overlap_the_window():
    series = weekly_paris(dt.datetime(2024, 1, 3, 10, 0, tzinfo=PARIS), "FREQ=WEEKLY")
    # 10:30 Paris on 10 Jan is inside the 10 Jan occurrence: it overlaps, so it is included.
    window = list(series.occurrences(after=utc(2024, 1, 10, 9, 30), before=utc(2024, 1, 24, 9, 0)))
    assert [o.start.day for o in window] == [10, 17]


def test_all_day_event_ends_at_the_end_of_its_last_day_in_its_zone():
    conf = event(start=dt.date(2024, 9, 18), end=dt.date(2024, 9, 19),
                 timezone="America/Los_Angeles")
    # Midnight after 19 September in Los Angeles is 07:00 UTC on the 20th (PDT, UTC-7).
    assert conf.ends_at == dt.datetime(2024, 9, 20, tzinfo=LA)
    assert not conf.has_ended(utc(2024, 9, 20, 6, 59, 59))
    assert conf.has_ended(utc(2024, 9, 20, 7, 0))


def test_all_day_event_without_zone_ends_when_the_day_is_over_everywhere():
    # Documented rule: without a zone, the last day ends at midnight UTC-12.
    day = event(start=dt.date(2024, 11, 30))
    assert not day.has_ended(utc(2024, 12, 1, 11, 59))
    assert day.has_ended(utc(2024, 12, 1, 12, 0))


def test_timed_event_past_midnight_ends_at_its_end():
    party = event(start=dt.datetime(2024, 11, 22, 22, 0, tzinfo=PARIS),
                  end=dt.datetime(2024, 11, 23, 1, 0, tzinfo=PARIS), timezone="Europe/Paris")
    assert not party.has_ended(dt.datetime(2024, 11, 23, 0, 30, tzinfo=PARIS))
    assert party.has_ended(dt.datetime(2024, 11, 23, 1, 0, tzinfo=PARIS))
    assert party.has_ended(utc(2024, 11, 23, 0, 0))  # 01:00 Paris is 00:00 UTC


def test_bounded_series_ends_with_its_last_occurrence():
    series = weekly_paris(dt.datetime(2024, 3, 20, 10, 0, tzinfo=PARIS))
    assert series.ends_at == dt.datetime(2024, 4, 3, 11, 0, tzinfo=PARIS)
    assert not series.has_ended(utc(2024, 4, 3, 8, 59))
    assert series.has_ended(utc(2024, 4, 3, 9, 0))


def test_series_with_until_ends_with_its_last_occurrence():
    series = weekly_paris(dt.datetime(2024, 12, 4, 14, 0, tzinfo=PARIS),
                          "FREQ=WEEKLY;BYDAY=WE;UNTIL=20241218T235959Z")
    assert series.ends_at == dt.datetime(2024, 12, 18, 15, 0, tzinfo=PARIS)


def test_unbounded_series_never_ends():
    series = weekly_paris(dt.datetime(2024, 3, 20, 10, 0, tzinfo=PARIS), "FREQ=WEEKLY;BYDAY=WE")
    assert series.ends_at is None
    assert not series.has_ended(utc(2999, 1, 1))
    assert series.next_occurrence(utc(2030, 1, 1)).start == dt.datetime(2030, 1, 2, 10, 0,
                                                                       tzinfo=PARIS)


def test_next_occurrence_is_the_first_not_over():
    series = weekly_paris(dt.datetime(2024, 3, 20, 10, 0, tzinfo=PARIS))
    assert series.next_occurrence(utc(2024, 3, 20, 9, 30)).start.day == 20  # still running
    assert series.next_occurrence(utc(2024, 3, 20, 10, 0)).start.day == 27  # just over
    assert series.next_occurrence(utc(2024, 5, 1)) is None


def test_exclusive_end_and_all_day():
    day = event(start=dt.date(2024, 6, 4), end=dt.date(2024, 6, 20))
    assert day.all_day and day.exclusive_end == dt.date(2024, 6, 21)
    timed = weekly_paris(dt.datetime(2024, 3, 20, 10, 0, tzinfo=PARIS))
    assert not timed.all_day and timed.exclusive_end == timed.end


@pytest.mark.parametrize(("rule", "bounded"), [
    ("FREQ=WEEKLY", False), ("FREQ=WEEKLY;COUNT=3", True),
    ("FREQ=WEEKLY;UNTIL=20251231T235959Z", True), ("FREQ=MONTHLY;BYDAY=1MO", False)])
def test_recurrence_bounded(rule, bounded):
    assert Recurrence(rule).bounded is bounded


@pytest.mark.parametrize(("location", "label"), [
    (Location(name="Meta", city="Bellevue", country="USA"), "Meta, Bellevue, USA"),
    (Location(online=True), "Online"),
    (Location(name="Zoom", online=True), "Zoom"),
    (Location(), "")])
def test_location_label(location, label):
    assert location.label == label


def test_source_does_not_take_part_in_equality():
    assert event(start=dt.date(2024, 1, 1), source="a.yaml") == event(start=dt.date(2024, 1, 1),
                                                                     source="b.yaml")


def test_issue_subject_defaults_to_title():
    issue = Issue(id="i", title="Recap", date=dt.date(2025, 1, 6),
                  period_start=dt.date(2024, 1, 1), period_end=dt.date(2024, 12, 31))
    assert issue.email_subject == "Recap"
    assert dataclasses.replace(issue, subject="Hi").email_subject == "Hi"


def test_series_instances_last_the_exact_duration_of_the_first():
    # The first night spans the spring-forward change (22:00 -> 06:00 is 7 hours). Every
    # instance lasts 7 hours (RFC 5545: "the same exact duration"); subtracting datetimes of
    # one zone gave 8 wall-clock hours to the later ones, ending an hour after calendar apps.
    night = weekly_paris(dt.datetime(2024, 3, 30, 22, 0, tzinfo=PARIS), "FREQ=WEEKLY;COUNT=2")
    night = dataclasses.replace(night, end=dt.datetime(2024, 3, 31, 6, 0, tzinfo=PARIS))
    second = list(night.occurrences())[1]
    assert second.end == dt.datetime(2024, 4, 7, 5, 0, tzinfo=PARIS)
    assert second.end - second.start == dt.timedelta(hours=7)
