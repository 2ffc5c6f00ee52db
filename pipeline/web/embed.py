"""events.json: every event and its next dates, for other sites to show (docs/web.md)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from pipeline.model import Event
from pipeline.sources.settings import Settings
from pipeline.web import dates
from pipeline.web.content import EventPage, next_occurrences

EMBED_PATH = "events.json"
EMBED_VERSION = 1
NEXT_DATES = 5  # next occurrences per event: enough for a widget, bounded for endless series


def render_embed(pairs: Iterable[tuple[Event, EventPage]], settings: Settings,
                 now: dt.datetime) -> bytes:
    """The JSON document, events in the listing's order (upcoming soonest first, then past)."""
    items = []
    for event, page in pairs:
        nexts = next_occurrences(event, now, NEXT_DATES) if page.upcoming else []
        place = page.place
        items.append({
            "id": event.id,
            "title": event.title,
            "kind": event.kind,
            "status": event.status.value,
            "url": page.url,
            "website": event.url,
            "ics": page.ics,
            "all_day": event.all_day,
            "timezone": event.timezone,
            "start": dates.iso(event.start),
            "end": dates.iso(event.end),
            "upcoming": page.upcoming,
            "next": [{"start": dates.iso(o.start), "end": dates.iso(dates.last_day(event, o))}
                     for o in nexts],
            "location": None if place is None else {
                "label": event.location.label if event.location else "",
                "online": place.online, "url": place.join_url},
            "summary": event.summary,
            "image": None if page.image is None else {"src": page.image.src,
                                                      "alt": page.image.alt},
            "tags": list(event.tags),
        })
    document = {"version": EMBED_VERSION, "site": settings.site_name,
                "page": settings.absolute_url("events/"), "events": items}
    return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
