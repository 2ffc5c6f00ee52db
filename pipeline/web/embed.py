"""events.json: every event and its next dates, for other sites to show (docs/web.md)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from pipeline.model import Event, Occurrence
from pipeline.sources.settings import Settings
from pipeline.web import dates
from pipeline.web.content import EventPage, next_occurrences, occurrence_when

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
            "moved_from": dates.iso(event.moved_from) if event.moved_from else None,
            "upcoming": page.upcoming,
            "next": [_occurrence(event, o) for o in nexts],
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


def _occurrence(event: Event, occurrence: Occurrence) -> dict:
    """One next date: start, end (the last day when all-day) and what its file changed."""
    when = occurrence_when(event, occurrence)
    data: dict = {"start": when.start, "end": when.end, "status": when.status.value}
    if when.title:
        data["title"] = when.title
    if when.previous_start:
        data["moved_from"] = when.previous_start
    return data
