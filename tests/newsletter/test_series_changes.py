"""The newsletter and the add-to-calendar links of a series with moved and cancelled dates."""

from __future__ import annotations

import datetime as dt
import shutil
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from conftest import PINNED_NOW, ROOT

from pipeline.calendar.feeds import render_calendars
from pipeline.model import Event, Issue
from pipeline.newsletter.content import issue_content
from pipeline.newsletter.issues import render_issue_files
from pipeline.sources.events import load_events

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
    - occurrence: 2025-04-10
      start: "2025-04-17 17:00"
    - occurrence: 2025-05-08
      status: cancelled
"""
MOVED = """\
title: Meetup
kind: meetup
start: 2025-05-15 18:00
duration: 2h
timezone: Europe/Paris
moved_from: 2025-05-01 18:00
"""


@pytest.fixture
def events(write_yaml, in_tmp, settings) -> tuple[Event, ...]:
    shutil.copytree(ROOT / "templates", in_tmp / "templates")
    write_yaml("events/call.yaml", SERIES)
    write_yaml("events/meetup.yaml", MOVED)
    return load_events(in_tmp / "events", settings)


def _issue(day: dt.date, first: dt.date = dt.date(2025, 1, 1)) -> Issue:
    return Issue(id="issue", title="Issue", date=day, period_start=first,
                 period_end=day - dt.timedelta(days=1), source="newsletters/issue.yaml")


def _text(events, issue, settings) -> str:
    return render_issue_files(events, issue, settings, PINNED_NOW)[
        f"newsletter/{issue.id}/index.txt"].decode()


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def test_looking_ahead_shows_the_moved_date_and_lists_the_cancelled_one(events, settings):
    text = _text(events, _issue(dt.date(2025, 4, 1), dt.date(2025, 3, 1)), settings)
    # CLDR's English (thin spaces around the en dash); the text wraps at 78 columns.
    assert ("Community call\nThu, April 17, 2025, 17:00\u2009\u2013\u200918:00 (Europe/Paris) · "
            "Repeats monthly\n"
            "Moved: Thu, April 17, 2025, 17:00\u2009\u2013\u200918:00 (Europe/Paris), instead of "
            "April 10,\n2025\n"
            "Cancelled: Thu, May 8, 2025, 18:00\u2009\u2013\u200919:00 (Europe/Paris)\n") in text
    assert "Meetup\nThu, May 15, 2025, 18:00\u2009\u2013\u200920:00 (Europe/Paris)\n" \
           "Moved from Thu, May 1, 2025, 18:00 (Europe/Paris)\n" in text


def test_a_cancelled_next_date_is_listed_and_the_card_shows_the_next_held_one(events,
                                                                              settings):
    text = _text(events, _issue(dt.date(2025, 5, 1), dt.date(2025, 4, 20)), settings)
    assert ("Community call\nThu, June 12, 2025, 18:00\u2009\u2013\u200919:00 (Europe/Paris) · "
            "Repeats monthly\nCancelled: Thu, May 8, 2025, 18:00\u2009\u2013\u200919:00 "
            "(Europe/Paris)\n") in text
    assert "Moved:" not in text  # April's moved call is over by then


def test_past_recap_of_the_series_lists_its_moved_and_cancelled_dates(events, settings):
    text = _text(events, _issue(dt.date(2025, 9, 1)), settings)
    recap = text[text.index("Community call"):]
    assert recap.startswith(
        "Community call\n--------------\nThu, January 9, 2025, 18:00\u2009\u2013\u200919:00 "
        "(Europe/Paris) · Repeats monthly\n"
        "Moved: Thu, April 17, 2025, 17:00\u2009\u2013\u200918:00 (Europe/Paris), instead of "
        "April 10,\n2025\n"
        "Cancelled: Thu, May 8, 2025, 18:00\u2009\u2013\u200919:00 (Europe/Paris)\n")


@pytest.mark.parametrize("day", [dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 4, 1),
                                 dt.date(2025, 5, 1), dt.date(2025, 8, 1)])
def test_every_link_of_a_series_matches_its_card(events, settings, day):
    content = issue_content(events, _issue(day), settings, for_email=True)
    (card,) = [c for c in content.upcoming if c.title == "Community call"]
    (series,) = [e for e in events if e.id == "call"]
    shown = series.next_occurrence(dt.datetime.combine(day, dt.time(), dt.UTC), cancelled=False)
    assert card.when.startswith(f"{shown.start:%a}, {shown.start:%B} {shown.start.day}, "
                                f"{shown.start:%Y}, {shown.start:%H:%M}")
    start_utc = shown.start.astimezone(dt.UTC)
    # Outlook.com cannot carry a rule: it adds the card's date, and the label says so.
    outlook = _query(card.calendar.outlook)
    assert outlook["startdt"] == f"{start_utc:%Y-%m-%dT%H:%M:%SZ}" and card.calendar.outlook_one_date
    # Google gets the series: its expansion holds the card's date and none of the dropped ones.
    google = _query(card.calendar.google)
    # Google reads `dates` (UTC) as wall-clock times of `ctz` and expands the rule there.
    first, last = (dt.datetime.strptime(d, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC).astimezone(
        ZoneInfo(google["ctz"])) for d in google["dates"].split("/"))
    zone = f"TZID={google['ctz']}"
    vevent = (f"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:g\r\nDTSTART;{zone}:{first:%Y%m%dT%H%M%S}"
              f"\r\nDTEND;{zone}:{last:%Y%m%dT%H%M%S}\r\n"
              + "".join(f"{line}\r\n" for line in google["recur"].split("\n"))
              + "END:VEVENT\r\nEND:VCALENDAR\r\n")
    google_starts = {o.start.astimezone(dt.UTC) for o in recurring_ical_events.of(
        icalendar.Calendar.from_ical(vevent)).between(dt.datetime(2025, 1, 1), dt.datetime(2026, 1, 1))}
    assert start_utc in google_starts
    held = {o.start.astimezone(dt.UTC) for o in series.occurrences() if not o.cancelled}
    assert google_starts == held
    # The .ics is the whole series: the card's occurrence is in it, at the same instant.
    ics = render_calendars(events, settings, PINNED_NOW)["calendar/events/call.ics"]
    assert card.calendar.ics.endswith("calendar/events/call.ics")
    from_ics = {o.start.astimezone(dt.UTC) for o in recurring_ical_events.of(
        icalendar.Calendar.from_ical(ics)).between(dt.datetime(2025, 1, 1), dt.datetime(2026, 1, 1))
        if o.get("STATUS") != "CANCELLED"}
    assert from_ics == held


def test_html_says_the_same(events, settings):
    files = render_issue_files(events, _issue(dt.date(2025, 4, 1), dt.date(2025, 3, 1)),
                               settings, PINNED_NOW)
    html = files["newsletter/issue/index.html"].decode()
    assert "Cancelled: Thu, May 8, 2025, 18:00\u2009\u2013\u200919:00 (Europe/Paris)" in html
    assert "Moved from Thu, May 1, 2025, 18:00 (Europe/Paris)" in html
    assert "Outlook.com (this date only)</a>" in html


def test_a_date_moved_within_its_day_says_the_time_it_was_at(write_yaml, in_tmp, settings):
    """Bug: "Moved: Thu, Feb 4, 19:00 - 21:00, instead of February 4" read as no move."""
    shutil.copytree(ROOT / "templates", in_tmp / "templates")
    write_yaml("events/talks.yaml", """\
        title: Talks
        kind: meetup
        start: 2027-01-07 18:30
        duration: 2h
        timezone: Europe/Berlin
        recurrence:
          rule: FREQ=MONTHLY;BYDAY=1TH;COUNT=3
          changes:
            - occurrence: 2027-02-04
              start: "2027-02-04 19:00"
        """)
    events = load_events(in_tmp / "events", settings)
    text = _text(events, _issue(dt.date(2027, 1, 20), dt.date(2027, 1, 1)), settings)
    assert ("Moved: Thu, February 4, 2027, 19:00\u2009\u2013\u200921:00 (Europe/Berlin), "
            "instead of 18:30\n") in text
