"""schema.org JSON-LD: an Event per date of an event page, an ItemList per listing."""

from __future__ import annotations

import json
from collections.abc import Iterable

from markupsafe import Markup

from pipeline.model import Status
from pipeline.sources.settings import Settings
from pipeline.web.content import EventCard, EventPage, Place, When

SCHEMA = "https://schema.org/"
# JSON text that can never close the <script> element or start a comment or an entity in it;
# U+2028/2029 are line breaks to old JavaScript parsers.
SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                             "\u2028": "\\u2028", "\u2029": "\\u2029"})


def script(data: object) -> Markup:
    """`data` as the body of a <script type="application/ld+json">, safe to embed in HTML."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.translate(SCRIPT_SAFE))


def event_graph(page: EventPage, settings: Settings) -> dict:
    """The page's Events: one per listed date of a series (Google reads no eventSchedule)."""
    whens = page.dates or (page.when,)
    events = [event_object(page, when, settings) for when in whens]
    if len(events) == 1:
        return {"@context": "https://schema.org", **events[0]}
    return {"@context": "https://schema.org", "@graph": events}


def event_object(page: EventPage, when: When, settings: Settings) -> dict:
    """One schema.org Event, with each property Google uses that the event's data fills."""
    data: dict = {"@type": "Event", "name": when.title or page.title, "startDate": when.start,
                  "endDate": when.end, "eventStatus": SCHEMA + _status(when)}
    if when.previous_start:
        data["previousStartDate"] = when.previous_start
    mode, location = _location(when.place or page.place, page)
    if mode:
        data["eventAttendanceMode"] = SCHEMA + mode
        data["location"] = location
    if page.image:
        data["image"] = [page.image.src]
    if page.summary_text:
        data["description"] = page.summary_text
    data["organizer"] = organizer(settings)
    data["url"] = page.url
    if page.website:
        data["sameAs"] = page.website
    return data


def organizer(settings: Settings) -> dict:
    """The settings' `organizer`, defaulted as in the feeds: name site_name, url base_url.

    Its e-mail address only when written: the sender's default address stays off the web.
    """
    found = settings.organizer_of_events
    data = {"@type": "Organization", "name": found.name, "url": found.url}
    if settings.organizer.email:
        data["email"] = settings.organizer.email
    return data


def item_list(pages: Iterable[EventCard]) -> dict:
    """A listing as Google's summary-page ItemList: each item is the URL of an event page."""
    return {"@context": "https://schema.org", "@type": "ItemList",
            "itemListElement": [{"@type": "ListItem", "position": position, "url": page.url}
                                for position, page in enumerate(pages, start=1)]}


def _status(when: When) -> str:
    if when.status is Status.CANCELLED:
        return "EventCancelled"
    if when.previous_start:
        return "EventRescheduled"
    return "EventScheduled"  # tentative too: schema.org has no tentative status


def _location(place: Place | None, page: EventPage) -> tuple[str | None, object]:
    """The attendance mode and location: a Place, a VirtualLocation, or both (mixed)."""
    if place is None:
        return None, None  # nothing honest to say; Google then skips the event
    found: list[dict] = []
    if place.physical:
        parts = {"streetAddress": place.address, "addressLocality": place.city,
                 "addressCountry": place.country}
        venue: dict = {"@type": "Place", "name": place.name or place.label}
        if any(parts.values()):
            venue["address"] = {"@type": "PostalAddress", **{k: v for k, v in parts.items() if v}}
        found.append(venue)
    if place.online:
        # Google requires the VirtualLocation's url: the join link, else where to find it.
        found.append({"@type": "VirtualLocation",
                      "url": place.join_url or page.website or page.url})
    if len(found) == 2:
        return "MixedEventAttendanceMode", found
    mode = "OnlineEventAttendanceMode" if place.online else "OfflineEventAttendanceMode"
    return mode, found[0]
