"""Add-to-calendar and subscribe links, for the newsletter and the docs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

from pipeline.model import Event, Occurrence
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
    outlook_one_date: bool = False  # a series: Outlook's link adds the card's date only


@dataclass(frozen=True, slots=True)
class FeedLinks:
    """Ways to subscribe to one feed."""

    https: str
    webcal: str
    google: str
    outlook: str = ""  # Outlook.com "add from web"


UPCOMING_PATH = "calendar/upcoming.ics"  # every upcoming event


class Identified(Protocol):
    """Anything with an event's id (an Event, its facts, a snapshot's row)."""

    @property
    def id(self) -> str: ...


def event_page_path(event: Identified) -> str:
    """The folder of the event's web page under the publish root (pipeline/web/)."""
    return f"events/{event.id}/"


def event_page_url(event: Event, settings: Settings) -> str:
    """Where people read about the event: its own `url`, else its page on this site."""
    return event.url or settings.absolute_url(event_page_path(event))


def event_ics_path(event: Identified | str) -> str:
    """The event's file under the publish root (of an event, or of its id)."""
    return f"calendar/events/{event if isinstance(event, str) else event.id}.ics"


def feed_ics_path(feed_id: str) -> str:
    """A configured feed's file under the publish root (settings' `feeds`)."""
    return f"calendar/{feed_id}.ics"


def event_links(event: Event, settings: Settings,
                occurrence: Occurrence | None = None) -> EventLinks:
    """Google Calendar template, Outlook compose and .ics links for `event`.

    For a series, `occurrence` is the one its card shows (default: the first): Outlook's
    link, which cannot carry a rule, adds that one only; Google's adds the series (its rule,
    skipped and cancelled dates, moved ones) and the .ics everything, overrides included.
    """
    series = event.recurrence is not None
    shown = occurrence or next(event.occurrences(), Occurrence(event.start, event.exclusive_end))
    change = shown.change if series else None
    title = (change.title if change and change.title else None) or event.title
    summary = (change.summary if change and change.summary else None) or event.summary
    place = (change.location if change and change.location else None) or event.location
    details = "\n\n".join(p for p in (summary, event.url) if p)
    location = place.label if place else ""
    first = Occurrence(event.start, event.exclusive_end)
    google = {"action": "TEMPLATE", "text": event.title, "dates": _google_dates(event, first),
              "details": "\n\n".join(p for p in (event.summary, event.url) if p),
              "location": event.location.label if event.location else ""}
    if event.timezone and not event.all_day:
        google["ctz"] = event.timezone
    if series:
        google["recur"] = "\n".join(_google_recurrence(event))
    else:
        google.update(text=title, details=details, location=location)
    outlook = {"path": "/calendar/action/compose", "rru": "addevent", "subject": title,
               **_outlook_times(event, shown), "body": details, "location": location}
    return EventLinks(
        ics=settings.absolute_url(event_ics_path(event)),
        google=f"{GOOGLE_TEMPLATE}?{urlencode({k: v for k, v in google.items() if v})}",
        outlook=f"{OUTLOOK_COMPOSE}?{urlencode({k: v for k, v in outlook.items() if v})}",
        outlook_one_date=series,
    )


def _google_dates(event: Event, occurrence: Occurrence) -> str:
    """Google's `dates`: UTC instants, or dates with the exclusive end for all-day events."""
    if event.all_day:
        return f"{occurrence.start:%Y%m%d}/{occurrence.end:%Y%m%d}"
    start = occurrence.start.astimezone(dt.UTC)  # type: ignore[attr-defined]
    end = occurrence.end.astimezone(dt.UTC)  # type: ignore[attr-defined]
    return f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}"


def _outlook_times(event: Event, occurrence: Occurrence) -> dict[str, str]:
    if event.all_day:
        return {"startdt": occurrence.start.isoformat(), "enddt": occurrence.end.isoformat(),
                "allday": "true"}
    return {"startdt": occurrence.start.astimezone(dt.UTC).strftime(  # type: ignore[attr-defined]
                "%Y-%m-%dT%H:%M:%SZ"),
            "enddt": occurrence.end.astimezone(dt.UTC).strftime(  # type: ignore[attr-defined]
                "%Y-%m-%dT%H:%M:%SZ")}


def _google_recurrence(event: Event) -> list[str]:
    """`recur` lines: the RRULE; EXDATE for skipped, cancelled and moved; RDATE where moved to.

    Lines as Google's API takes them (EXDATE/RDATE in the form of the start). A moved
    occurrence keeps the series' length and title there: only the .ics carries more.
    """
    assert event.recurrence is not None
    lines = [f"RRULE:{event.recurrence.rule}"]
    changes = event.recurrence.changes
    gone = [*event.recurrence.exceptions,
            *(c.original_start for c in changes if c.cancelled or c.start is not None)]
    lines += [_google_date("EXDATE", event, value) for value in sorted(gone)]
    lines += [_google_date("RDATE", event, c.start) for c in changes
              if c.start is not None and not c.cancelled]
    return lines


def _google_date(name: str, event: Event, value: dt.date) -> str:
    if event.all_day:
        return f"{name};VALUE=DATE:{value:%Y%m%d}"
    return f"{name};TZID={event.timezone}:{value:%Y%m%dT%H%M%S}"


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
