"""One event's share of the web stage: its page, its card and its events.json item.

Each is a function of the event, the settings, the theme and the window of `now` between
two ends of its occurrences, so the build cache keeps them per event (pipeline/cache/):
an unchanged event's page is neither rendered nor compared again, and the listings and
events.json are joined from the kept cards and items.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import NamedTuple

import jinja2

from pipeline.model import Event
from pipeline.newsletter.templates import render, render_macro
from pipeline.selection import next_end
from pipeline.sources.settings import Settings
from pipeline.web import theme
from pipeline.web.content import EventCard, event_page
from pipeline.web.embed import embed_item
from pipeline.web.jsonld import event_graph, script


class EventWeb(NamedTuple):
    """What the listings need of one event, and what its page was when last rendered.

    A NamedTuple (as model.EventFacts): a rebuild makes one per event from the cache.
    """

    card: EventCard  # the event's item in a listing
    embed: bytes  # its item in events.json, as UTF-8 JSON text (embed.embed_item)
    digest: str  # SHA-256 of events/<id>/index.html
    size: int  # ... and its length in bytes
    since: dt.datetime  # the `now` it was rendered at
    until: dt.datetime | None  # the next end of an occurrence after `since` (None: over)

    def current(self, now: dt.datetime) -> bool:
        """True while `now` is in the window where nothing about the event changes."""
        return self.since <= now and (self.until is None or now < self.until)


def render_event(event: Event, settings: Settings, now: dt.datetime, env: jinja2.Environment,
                 site: theme.Site) -> tuple[EventWeb, bytes]:
    """The event's web share as of `now`, and its page's bytes."""
    page = event_page(event, settings, now)
    what = f"event '{event.id}'"
    data = render(env, theme.EVENT_PAGE, what, site=site, page=page, page_url=page.url,
                  jsonld=script(event_graph(page, settings))).encode("utf-8")
    # Upcoming events are listed under an h2 (their cards' titles are h3), past ones under
    # their year's h3 (h4): a card changes with `upcoming`, as its share does.
    item = render_macro(env, theme.MACROS, "event_item", what, page,
                        "h3" if page.upcoming else "h4").encode("utf-8")
    card = EventCard(url=page.url, upcoming=page.upcoming, year=page.year,
                     sort_key=page.sort_key, item=item)
    kept = EventWeb(card=card, embed=embed_item(event, page, now).encode(),
                    digest=hashlib.sha256(data).hexdigest(), size=len(data), since=now,
                    until=next_end(event, now))
    return kept, data
