"""Add-to-calendar and subscribe links, for the newsletter and the docs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from pipeline.model import Event
from pipeline.sources.settings import Settings

GOOGLE_TEMPLATE = "https://calendar.google.com/calendar/render"
GOOGLE_SUBSCRIBE = "https://calendar.google.com/calendar/render"
OUTLOOK_COMPOSE = "https://outlook.live.com/calendar/0/deeplink/compose"
OUTLOOK_SUBSCRIBE = "https://outlook.live.com/calendar/0/addfromweb"


@dataclass(frozen=True, slots=True)
class EventLinks:
    """Ways to put one event in a calendar."""

    ics: str  # the event's own .ics: Apple Calendar, Thunderbird, Outlook desktop
    google: str
    outlook: str


@dataclass(frozen=True, slots=True)
class FeedLinks:
    """Ways to subscribe to one feed."""

    https: str
    webcal: str
    google: str
    outlook: str = ""  # Outlook.com "add from web"


UPCOMING_PATH = "calendar/upcoming.ics"  # every upcoming event


def event_page_path(event: Event) -> str:
    """The folder of the event's web page under the publish root (pipeline/web/)."""
    return f"events/{event.id}/"


def event_page_url(event: Event, settings: Settings) -> str:
    """Where people read about the event: its own `url`, else its page on this site."""
    return event.url or settings.absolute_url(event_page_path(event))


def event_ics_path(event: Event) -> str:
    """The event's file under the publish root."""
    return f"calendar/events/{event.id}.ics"


def feed_ics_path(feed_id: str) -> str:
    """A configured feed's file under the publish root (settings' `feeds`)."""
    return f"calendar/{feed_id}.ics"


def event_links(event: Event, settings: Settings) -> EventLinks:
    """Google Calendar template, Outlook compose and .ics links for `event`."""
    details = "\n\n".join(p for p in (event.summary, event.url) if p)
    location = event.location.label if event.location else ""
    if event.all_day:
        google_dates = f"{event.start:%Y%m%d}/{event.exclusive_end:%Y%m%d}"
        outlook_times = {"startdt": event.start.isoformat(),
                         "enddt": event.exclusive_end.isoformat(), "allday": "true"}
    else:
        start = event.start.astimezone(dt.UTC)
        end = event.end.astimezone(dt.UTC)
        google_dates = f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}"
        outlook_times = {"startdt": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "enddt": end.strftime("%Y-%m-%dT%H:%M:%SZ")}
    google = {"action": "TEMPLATE", "text": event.title, "dates": google_dates,
              "details": details, "location": location}
    if event.timezone and not event.all_day:
        google["ctz"] = event.timezone
    if event.recurrence:
        google["recur"] = f"RRULE:{event.recurrence.rule}"
    outlook = {"path": "/calendar/action/compose", "rru": "addevent", "subject": event.title,
               **outlook_times, "body": details, "location": location}
    return EventLinks(
        ics=settings.absolute_url(event_ics_path(event)),
        google=f"{GOOGLE_TEMPLATE}?{urlencode({k: v for k, v in google.items() if v})}",
        outlook=f"{OUTLOOK_COMPOSE}?{urlencode({k: v for k, v in outlook.items() if v})}",
    )


def feed_links(path: str, settings: Settings, name: str = "") -> FeedLinks:
    """https, webcal, Google and Outlook.com subscribe links for the feed at `path` (calendar/x.ics).

    `name` is the calendar's name Outlook.com shows (default: the site's feed name).
    """
    https = settings.absolute_url(path)
    parts = urlsplit(https)
    webcal = urlunsplit(("webcal", *parts[1:]))
    outlook = {"url": https, "name": name or settings.feed_name}
    return FeedLinks(https=https, webcal=webcal,
                     google=f"{GOOGLE_SUBSCRIBE}?{urlencode({'cid': webcal})}",
                     outlook=f"{OUTLOOK_SUBSCRIBE}?{urlencode(outlook)}")
