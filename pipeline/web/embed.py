"""events.json: every event and its next dates, for other sites to show (docs/web.md)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from pipeline.model import Event, Occurrence
from pipeline.sources.settings import Settings
from pipeline.web import dates
from pipeline.web.content import EventPage, next_occurrences

EMBED_PATH = "events.json"
EMBED_VERSION = 1
NEXT_DATES = 5  # next occurrences per event: enough for a widget, bounded for endless series


def embed_item(event: Event, page: EventPage, now: dt.datetime) -> str:
    """One event as events.json lists it (JSON text): what it is, where, its next dates."""
    nexts = next_occurrences(event, now, NEXT_DATES) if page.upcoming else []
    place = page.place
    return json.dumps({
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
        "image": None if page.image is None else {"src": page.image.src, "alt": page.image.alt},
        "tags": list(event.tags),
    }, indent=1, ensure_ascii=False)


def render_embed(items: Iterable[bytes], settings: Settings) -> bytes:
    """The JSON document of `embed_item`s (as UTF-8), in the listing's order (upcoming soonest
    first, then past).

    The bytes of json.dumps(document, indent=1), joined from each item's own text (which the
    build cache keeps): an item sits two levels deep, so each of its lines moves two spaces
    in. JSON text never holds a raw line break, so each one starts a line of the layout.
    """
    head = json.dumps({"version": EMBED_VERSION, "site": settings.site_name,
                       "page": settings.absolute_url("events/"), "events": []},
                      indent=1, ensure_ascii=False)
    assert head.endswith('"events": []\n}')
    # Joined as UTF-8 bytes: one CJK or emoji item would make a joined str 2 or 4 bytes a
    # character, and its copies cost 180 MB at 10k events.
    # Each item's lines move two spaces in: the separators' line breaks start a line too.
    listed = b",\n".join(items)
    body = [b"[\n  ", listed.replace(b"\n", b"\n  "), b"\n ]"] if listed else [b"[]"]
    return b"".join([head[:-len("[]\n}")].encode("utf-8"), *body, b"\n}\n"])


def _occurrence(event: Event, occurrence: Occurrence) -> dict:
    """One next date: start, end (the last day when all-day) and what its file changed."""
    change = occurrence.change
    data: dict = {"start": dates.iso(occurrence.start),
                  "end": dates.iso(dates.last_day(event, occurrence)),
                  "status": (change.status if change and change.status else event.status).value}
    if change and change.title:
        data["title"] = change.title
    # As the page says it (content.occurrence_when), without the text only the page shows.
    earlier = occurrence.original if occurrence.moved else (
        event.moved_from if event.recurrence is None else None)
    if earlier is not None:
        data["moved_from"] = dates.iso(earlier)
    return data
