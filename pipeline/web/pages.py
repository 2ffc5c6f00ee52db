"""The web stage: every event's page, the listing, one page per feed and events.json."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import jinja2

from pipeline.calendar.links import UPCOMING_PATH, FeedLinks, event_page_path, feed_ics_path, feed_links
from pipeline.errors import InvalidInput, Problem
from pipeline.locales import first_localizer
from pipeline.model import Event, EventFacts
from pipeline.newsletter.templates import render
from pipeline.parallel import fork_map
from pipeline.selection import feed_membership
from pipeline.sources.settings import Settings
from pipeline.web import theme
from pipeline.web.content import Cards, EventCard
from pipeline.web.embed import EMBED_PATH, render_embed
from pipeline.web.jsonld import item_list, script
from pipeline.web.rendered import EventWeb, render_event
from pipeline.web.splice import Splice

Artifacts = dict[str, bytes]
LISTING_PATH = "events/"
FEEDS_FOLDER = "feeds"  # events/feeds/<feed id>/: no event may take this id
PARALLEL_FROM = 200  # pages to render before starting workers pays


@dataclass(frozen=True, slots=True)
class FeedView:
    """A feed as the listing and its page offer it."""

    id: str
    name: str
    description: str
    page: str | None  # its page's address (None: the listing itself)
    links: FeedLinks


class Listed(NamedTuple):
    """An event as the listings read it: its card, its events.json item, and the feeds that
    hold it (bits, as selection.feed_membership gives them: none once it is over)."""

    card: EventCard
    embed: bytes
    feeds: int


@dataclass(slots=True)
class WebBuild:
    """The web stage's files, the pages kept as published, and every event's share."""

    files: Artifacts
    unchanged: dict[str, tuple[str, int]]  # page path -> (SHA-256, size): not rendered again
    events: dict[str, EventWeb]  # by event id: what the build cache keeps for the next build


def render_pages(events: tuple[Event, ...], settings: Settings, now: dt.datetime) -> Artifacts:
    """events/index.html, events/<id>/index.html, events/feeds/<id>/index.html, events.json."""
    by_id = {event.id: event for event in events}
    return build_pages([event.facts for event in events], settings, now, by_id.__getitem__).files


def build_pages(events: Sequence[EventFacts], settings: Settings, now: dt.datetime,
                resolve: Callable[[str], Event],
                known: Mapping[str, EventWeb] | None = None) -> WebBuild:
    """render_pages, reusing `known` shares (by event id) that are current at `now`.

    An event with a current share (the build cache gives only those of unchanged events)
    keeps its page: the result lists it in `unchanged` by its recorded hash instead of
    rendering it, and the listings use its card. The others are rendered (`resolve` gives
    the event of an id), on every core when there are many.
    """
    _check_ids(events)
    env = theme.environment(settings.site, first_localizer(settings.locale))
    site = _site(settings)
    known = known or {}
    reused = {event.id: known[event.id] for event in events
              if event.id in known and known[event.id].current(now)}
    missing = [resolve(event.id) for event in events if event.id not in reused]
    rendered = fork_map(lambda event: render_event(event, settings, now, env, site), missing,
                        PARALLEL_FROM)
    shares = {**reused, **{event.id: share for event, (share, _) in zip(missing, rendered,
                                                                        strict=True)}}
    files: Artifacts = {event_page_path(event) + "index.html": data
                        for event, (_, data) in zip(missing, rendered, strict=True)}
    unchanged = {event_page_path(event) + "index.html": (share.digest, share.size)
                 for event in events if (share := reused.get(event.id)) is not None}
    membership = feed_membership(settings.feeds)
    listed = [Listed(shares[event.id].card, shares[event.id].embed, membership(event, now))
              for event in events]
    files.update(render_listings(listed, settings, env, site))
    return WebBuild(files, unchanged, shares)


def build_changed_pages(changed: Sequence[Event], kept: Sequence[Listed], settings: Settings,
                        now: dt.datetime, feeds_changed: int) -> WebBuild:
    """build_pages when only `changed` were edited or added: every other event keeps its
    page and its listing entry (`kept`), and the feed pages whose bit is not in
    `feeds_changed` (as render_listings) stay as they are. `unchanged` is left to the
    caller."""
    env = theme.environment(settings.site, first_localizer(settings.locale))
    site = _site(settings)
    rendered = [render_event(event, settings, now, env, site) for event in changed]
    made = {event.id: share for event, (share, _) in zip(changed, rendered, strict=True)}
    files = {event_page_path(event) + "index.html": data
             for event, (_, data) in zip(changed, rendered, strict=True)}
    membership = feed_membership(settings.feeds)
    listed = [*kept, *(Listed(made[event.id].card, made[event.id].embed,
                              membership(event.facts, now)) for event in changed)]
    files.update(render_listings(listed, settings, env, site, feeds_changed))
    return WebBuild(files, {}, made)


def render_event_pages(events: Iterable[Event], settings: Settings, now: dt.datetime,
                       ) -> Artifacts:
    """The pages of `events` alone (those the publish root no longer holds as recorded)."""
    env = theme.environment(settings.site, first_localizer(settings.locale))
    site = _site(settings)
    return {event_page_path(event) + "index.html": render_event(event, settings, now, env, site)[1]
            for event in events}


def render_listings(listed: Iterable[Listed], settings: Settings, env: jinja2.Environment,
                    site: theme.Site, feeds_changed: int = -1) -> Artifacts:
    """The listing, the feed pages and events.json, from each event's card and item; the
    page of settings.feeds[i] only if bit i + 1 of `feeds_changed` is set (bit 0 is the
    upcoming feed, which has no page of its own)."""
    ordered = sorted(listed, key=lambda entry: entry.card.sort_key)
    upcoming = Cards(entry.card for entry in ordered if entry.card.upcoming)
    past = Cards(entry.card for entry in reversed(ordered)
                 if not entry.card.upcoming)  # newest first
    files: Artifacts = {}
    feeds = [FeedView("upcoming", settings.feed_name, settings.feed_description, None,
                      feed_links(UPCOMING_PATH, settings))]
    for bit, spec in enumerate(settings.feeds, start=1):
        page_path = f"{LISTING_PATH}{FEEDS_FOLDER}/{spec.id}/"
        feed = FeedView(spec.id, spec.name, spec.description, settings.absolute_url(page_path),
                        feed_links(feed_ics_path(spec.id), settings, spec.name))
        feeds.append(feed)
        if not feeds_changed >> bit & 1:
            continue
        chosen = Cards(entry.card for entry in ordered if entry.feeds >> bit & 1)
        files[page_path + "index.html"] = _render_listing(
            env, f"the page of feed '{spec.id}'", [chosen], site=site,
            page_url=feed.page, heading=spec.name, intro=spec.description, this_feed=feed,
            feeds=[feed], upcoming=chosen, past=[], jsonld=script(item_list(chosen)))
    by_year = [(year, Cards(group)) for year, group in itertools.groupby(past, lambda p: p.year)]
    files[LISTING_PATH + "index.html"] = _render_listing(
        env, "the events page", [upcoming, *(cards for _, cards in by_year)], site=site,
        page_url=site.home, heading=settings.site_name, intro=settings.feed_description,
        this_feed=None, feeds=feeds, upcoming=upcoming, past=by_year,
        jsonld=script(item_list([*upcoming, *past])))
    files[EMBED_PATH] = render_embed(
        [entry.embed for entry in ordered if entry.card.upcoming]
        + [entry.embed for entry in reversed(ordered) if not entry.card.upcoming], settings)
    return files


def _render_listing(env: jinja2.Environment, for_what: str, lists: list[Cards],
                    **context: object) -> bytes:
    """A listing page, its lists of cards written as UTF-8 where it writes their `html`."""
    splice = Splice()
    for cards in lists:
        cards.splice = splice
    try:
        data = splice.fill(render(env, theme.LISTING_PAGE, for_what, **context))
    finally:
        for cards in lists:
            cards.splice = None
    if data is None:  # the template did more with a list's html than write it: the plain way
        data = render(env, theme.LISTING_PAGE, for_what, **context).encode("utf-8")
    return data


def _site(settings: Settings) -> theme.Site:
    accent = theme.accent_color(settings)
    return theme.Site(name=settings.site_name, lang=theme.site_locale(settings),
                dir=first_localizer(settings.locale).direction, accent=accent,
                # The darkest backgrounds text sits on: the page (light) and a card (dark).
                link=theme.readable(accent, "#f9fafb"), link_dark=theme.readable(accent, "#1b1e25"),
                home=settings.absolute_url(LISTING_PATH), embed=settings.absolute_url(EMBED_PATH))


def _check_ids(events: Iterable[EventFacts]) -> None:
    """An event may not take the feed pages' folder as its id."""
    problems = [Problem(event.source, event.id_line,
                        f"event id '{FEEDS_FOLDER}' is reserved for the feed pages "
                        f"({LISTING_PATH}{FEEDS_FOLDER}/); set 'id:' to another")
                for event in events if event.id == FEEDS_FOLDER]
    if problems:
        raise InvalidInput(problems)
