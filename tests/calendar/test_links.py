"""Add-to-calendar and subscribe links: what Google, Outlook and Apple are handed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from pipeline.calendar.feeds import render_calendars
from pipeline.calendar.links import UPCOMING_PATH, event_links, feed_ics_path, feed_links
from pipeline.sources.events import load_events
from pipeline.sources.settings import Settings

FIXTURES = Path(__file__).parents[1] / "fixtures" / "calendar" / "events"


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def _event(settings: Settings, event_id: str):
    (event,) = [e for e in load_events(FIXTURES, settings) if e.id == event_id]
    return event


def test_all_day_links_use_dates_with_the_exclusive_end(settings: Settings) -> None:
    links = event_links(_event(settings, "two-day-conference"), settings)
    google = _query(links.google)
    assert links.google.startswith("https://calendar.google.com/calendar/render?")
    assert google["action"] == "TEMPLATE" and google["text"] == "Two-day conference"
    assert google["dates"] == "20250918/20250920"  # 18 and 19 September
    assert google["location"] == "Moscone Center, San Francisco, USA"
    assert google["details"] == "https://conf.example.org/2025/"
    outlook = _query(links.outlook)
    assert outlook["startdt"] == "2025-09-18" and outlook["enddt"] == "2025-09-20"
    assert outlook["allday"] == "true" and outlook["subject"] == "Two-day conference"


def test_timed_links_are_utc_with_the_zone_and_rule(settings: Settings) -> None:
    links = event_links(_event(settings, "paris-weekly"), settings)
    google = _query(links.google)
    assert google["dates"] == "20250304T173000Z/20250304T190000Z"  # 18:30 in Paris, winter
    assert google["ctz"] == "Europe/Paris"
    # paris-weekly skips 18 March (except): Google gets it as an EXDATE in the zone.
    assert google["recur"] == ("RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=8\n"
                               "EXDATE;TZID=Europe/Paris:20250318T183000")
    outlook = _query(links.outlook)
    assert outlook["startdt"] == "2025-03-04T17:30:00Z" and "allday" not in outlook


def test_ics_link_points_at_the_file_the_calendar_writes(settings: Settings) -> None:
    event = _event(settings, "late-night")
    link = event_links(event, settings).ics
    assert link == "https://events.example.org/calendar/events/late-night.ics"
    files = render_calendars(load_events(FIXTURES, settings), settings,
                             dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    assert link.removeprefix(settings.base_url) in files


def test_feed_links_subscribe_by_https_webcal_and_google(settings: Settings) -> None:
    links = feed_links(UPCOMING_PATH, settings)
    assert links.https == "https://events.example.org/calendar/upcoming.ics"
    assert links.webcal == "webcal://events.example.org/calendar/upcoming.ics"
    assert _query(links.google) == {"cid": "webcal://events.example.org/calendar/upcoming.ics"}
    assert feed_links(feed_ics_path("korea"), settings).https.endswith("/calendar/korea.ics")
