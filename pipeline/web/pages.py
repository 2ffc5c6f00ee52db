"""The web stage: every event's page, the listing, one page per feed and events.json."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import jinja2

from pipeline.calendar.links import UPCOMING_PATH, FeedLinks, feed_ics_path, feed_links
from pipeline.errors import InvalidInput, Problem
from pipeline.locales import first_localizer
from pipeline.model import Event
from pipeline.newsletter.templates import render
from pipeline.selection import matches
from pipeline.sources.settings import Settings
from pipeline.web import theme
from pipeline.web.content import event_page
from pipeline.web.embed import EMBED_PATH, render_embed
from pipeline.web.jsonld import event_graph, item_list, script

Artifacts = dict[str, bytes]
LISTING_PATH = "events/"
FEEDS_FOLDER = "feeds"  # events/feeds/<feed id>/: no event may take this id


@dataclass(frozen=True, slots=True)
class Site:
    """What every page's frame shows."""

    name: str
    lang: str
    dir: str  # `ltr` or `rtl` (CLDR, from the locale), for `dir=`
    accent: str
    link: str  # the accent, adjusted to read as text on the light background
    link_dark: str  # ... and on the dark one
    home: str  # the listing's address
    embed: str  # events.json's address


@dataclass(frozen=True, slots=True)
class FeedView:
    """A feed as the listing and its page offer it."""

    id: str
    name: str
    description: str
    page: str | None  # its page's address (None: the listing itself)
    links: FeedLinks


def render_pages(events: tuple[Event, ...], settings: Settings, now: dt.datetime) -> Artifacts:
    """events/index.html, events/<id>/index.html, events/feeds/<id>/index.html, events.json."""
    _check_ids(events)
    env = theme.environment(settings.site, first_localizer(settings.locale))
    site = _site(settings)
    pairs = sorted(((event, event_page(event, settings, now)) for event in events),
                   key=lambda pair: pair[1].sort_key)
    upcoming = [page for _, page in pairs if page.upcoming]
    past = [page for _, page in reversed(pairs) if not page.upcoming]  # newest first
    files: Artifacts = {}
    for event, page in pairs:
        files[page.path + "index.html"] = _render(
            env, theme.EVENT_PAGE, f"event '{event.id}'", site=site, page=page,
            page_url=page.url, jsonld=script(event_graph(page, settings)))
    feeds = [FeedView("upcoming", settings.feed_name, settings.feed_description, None,
                      feed_links(UPCOMING_PATH, settings))]
    for spec in settings.feeds:
        page_path = f"{LISTING_PATH}{FEEDS_FOLDER}/{spec.id}/"
        feed = FeedView(spec.id, spec.name, spec.description, settings.absolute_url(page_path),
                        feed_links(feed_ics_path(spec.id), settings, spec.name))
        feeds.append(feed)
        chosen = [page for event, page in pairs
                  if page.upcoming and matches(event, spec.kinds, spec.tags)]
        files[page_path + "index.html"] = _render(
            env, theme.LISTING_PAGE, f"the page of feed '{spec.id}'", site=site,
            page_url=feed.page, heading=spec.name, intro=spec.description, this_feed=feed,
            feeds=[feed], upcoming=chosen, past=[], jsonld=script(item_list(chosen)))
    by_year = [(year, list(group)) for year, group in itertools.groupby(past, lambda p: p.year)]
    files[LISTING_PATH + "index.html"] = _render(
        env, theme.LISTING_PAGE, "the events page", site=site, page_url=site.home,
        heading=settings.site_name, intro=settings.feed_description, this_feed=None, feeds=feeds,
        upcoming=upcoming, past=by_year, jsonld=script(item_list([*upcoming, *past])))
    files[EMBED_PATH] = render_embed(
        [pair for pair in pairs if pair[1].upcoming]
        + [pair for pair in reversed(pairs) if not pair[1].upcoming], settings, now)
    return files


def _render(env: jinja2.Environment, name: str, for_what: str, **context: object) -> bytes:
    return render(env, name, for_what, **context).encode("utf-8")


def _site(settings: Settings) -> Site:
    accent = theme.accent_color(settings)
    return Site(name=settings.site_name, lang=theme.site_locale(settings),
                dir=first_localizer(settings.locale).direction, accent=accent,
                # The darkest backgrounds text sits on: the page (light) and a card (dark).
                link=theme.readable(accent, "#f9fafb"), link_dark=theme.readable(accent, "#1b1e25"),
                home=settings.absolute_url(LISTING_PATH), embed=settings.absolute_url(EMBED_PATH))


def _check_ids(events: tuple[Event, ...]) -> None:
    """An event may not take the feed pages' folder as its id."""
    problems = [Problem(event.source, event.id_line,
                        f"event id '{FEEDS_FOLDER}' is reserved for the feed pages "
                        f"({LISTING_PATH}{FEEDS_FOLDER}/); set 'id:' to another")
                for event in events if event.id == FEEDS_FOLDER]
    if problems:
        raise InvalidInput(problems)
