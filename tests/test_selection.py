"""Selection: what is upcoming, what an issue recaps, what it looks ahead to."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from pipeline.model import Event, Issue, Recurrence
from pipeline.selection import (
    feed_membership,
    looking_ahead,
    matches,
    past_events,
    upcoming_events,
)
from pipeline.sources.settings import FeedSpec

SEOUL = ZoneInfo("Asia/Seoul")
UTC = dt.UTC


def day_event(event_id: str, start: dt.date, end: dt.date | None = None, **values) -> Event:
    return Event(id=event_id, title=event_id, kind=values.pop("kind", "meetup"), start=start,
                 end=end or start, **values)


def timed(event_id: str, start: dt.datetime, hours: int = 2, **values) -> Event:
    return Event(id=event_id, title=event_id, kind="meeting", start=start,
                 end=start + dt.timedelta(hours=hours), timezone="Asia/Seoul", **values)


ISSUE = Issue(id="recap", title="Recap", date=dt.date(2025, 1, 6),
              period_start=dt.date(2024, 1, 1), period_end=dt.date(2024, 12, 31))


def test_event_ending_exactly_now_is_not_upcoming():
    talk = timed("talk", dt.datetime(2024, 11, 30, 14, 0, tzinfo=SEOUL))
    end = talk.end.astimezone(UTC)
    assert upcoming_events([talk], end - dt.timedelta(seconds=1)) == (talk,)
    assert upcoming_events([talk], end) == ()


def test_running_event_and_series_with_an_occurrence_left_are_upcoming():
    series = timed("sig", dt.datetime(2024, 12, 4, 14, 0, tzinfo=SEOUL),
                   recurrence=Recurrence("FREQ=WEEKLY;COUNT=3"))
    over = day_event("over", dt.date(2024, 12, 1))
    later = day_event("later", dt.date(2025, 2, 1))
    now = dt.datetime(2024, 12, 12, tzinfo=UTC)  # between the 2nd and 3rd occurrence
    assert upcoming_events([later, over, series], now) == (later, series)  # input order kept
    assert upcoming_events([series], dt.datetime(2024, 12, 18, 7, 0, tzinfo=UTC)) == ()


def test_past_events_period_boundaries_are_inclusive():
    events = [day_event("before", dt.date(2023, 12, 31)), day_event("first", dt.date(2024, 1, 1)),
              day_event("last", dt.date(2024, 12, 31)), day_event("after", dt.date(2025, 1, 1))]
    assert [e.id for e in past_events(events, ISSUE)] == ["first", "last"]


def test_past_events_must_be_over_by_the_issue_date():
    issue = dataclasses.replace(ISSUE, period_end=dt.date(2025, 1, 31))
    events = [day_event("ended", dt.date(2025, 1, 5)),
              # Still going on the issue's date: not a past event yet.
              day_event("running", dt.date(2025, 1, 5), dt.date(2025, 1, 7)),
              day_event("future", dt.date(2025, 1, 20))]
    assert [e.id for e in past_events(events, issue)] == ["ended"]


def test_past_events_are_oldest_first_and_filtered_by_kind_and_tag():
    events = [day_event("b", dt.date(2024, 9, 18), kind="conference", tags=("usa",)),
              day_event("a", dt.date(2024, 5, 23), tags=("usa",)),
              day_event("c", dt.date(2024, 11, 30), tags=("korea",))]
    assert [e.id for e in past_events(events, ISSUE)] == ["a", "b", "c"]
    meetups = dataclasses.replace(ISSUE, kinds=("meetup",))
    assert [e.id for e in past_events(events, meetups)] == ["a", "c"]
    usa = dataclasses.replace(ISSUE, tags=("usa",))
    assert [e.id for e in past_events(events, usa)] == ["a", "b"]


def test_looking_ahead_is_soonest_next_occurrence_first():
    series = timed("sig", dt.datetime(2024, 12, 4, 14, 0, tzinfo=SEOUL),
                   recurrence=Recurrence("FREQ=WEEKLY"))
    events = [day_event("conf", dt.date(2025, 10, 22), dt.date(2025, 10, 23), kind="conference"),
              day_event("old", dt.date(2024, 12, 10)),
              day_event("feb", dt.date(2025, 2, 1)), series]
    # The series' next occurrence (8 Jan) comes before February's meetup.
    assert [e.id for e in looking_ahead(events, ISSUE)] == ["sig", "feb", "conf"]
    two = dataclasses.replace(ISSUE, looking_ahead=2)
    assert [e.id for e in looking_ahead(events, two)] == ["sig", "feb"]
    assert looking_ahead(events, dataclasses.replace(ISSUE, looking_ahead=0)) == ()
    conferences = dataclasses.replace(ISSUE, kinds=("conference",))
    assert [e.id for e in looking_ahead(events, conferences)] == ["conf"]


def test_ties_in_looking_ahead_are_broken_by_id():
    events = [day_event("b", dt.date(2025, 2, 1)), day_event("a", dt.date(2025, 2, 1))]
    assert [e.id for e in looking_ahead(events, ISSUE)] == ["a", "b"]


def test_matches_needs_a_kind_and_one_of_the_tags():
    event = day_event("a", dt.date(2025, 2, 1), tags=("korea", "online"))
    assert matches(event)
    assert matches(event, kinds=("meetup",), tags=("online", "usa"))
    assert not matches(event, kinds=("conference",))
    assert not matches(event, tags=("usa",))


def test_an_event_recapped_as_past_is_not_also_looked_ahead_to():
    # An event on the issue's own day was over by the end of it (past) but not at its start
    # (looking ahead), so the issue listed it in both sections.
    issue = dataclasses.replace(ISSUE, period_end=dt.date(2025, 1, 6))
    morning = timed("morning", dt.datetime(2025, 1, 6, 10, 0, tzinfo=SEOUL))
    later = timed("later", dt.datetime(2025, 1, 20, 10, 0, tzinfo=SEOUL))
    assert past_events([morning, later], issue) == (morning,)
    assert looking_ahead(iter([morning, later]), issue) == (later,)


def test_feed_membership_is_a_bit_per_feed_and_none_once_the_event_is_over():
    feeds = [FeedSpec("korea", "Korea", tags=("korea",)),
             FeedSpec("meetups", "Meetups", kinds=("meetup",)),
             FeedSpec("talks", "Talks", kinds=("talk",))]
    member = feed_membership(feeds)
    meetup = timed("meetup", dt.datetime(2024, 12, 4, 19, 0, tzinfo=SEOUL), tags=("korea",))
    meetup = dataclasses.replace(meetup, kind="meetup")
    before, after = meetup.start - dt.timedelta(days=1), meetup.end
    assert member(meetup.facts, before) == 0b0111  # upcoming, korea, meetups; not talks
    assert member(meetup.facts, after) == 0  # over: in no feed, not even the upcoming one
    assert feed_membership([])(meetup.facts, before) == 1
