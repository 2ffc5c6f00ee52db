"""What the event pages and listings say, as plain data the templates render."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

from markupsafe import Markup

from pipeline.calendar.links import EventLinks, event_ics_path, event_links, event_page_path
from pipeline.locales import Localizer, first_localizer
from pipeline.model import Event, Image, Link, Location, Occurrence, Status
from pipeline.newsletter.markdown import inline_markdown_to_html, markdown_to_html, markdown_to_text
from pipeline.sources.settings import Settings
from pipeline.web import dates
from pipeline.web.splice import Splice

SERIES_DATES = 10  # upcoming dates of a series a page lists (and marks up as Events)


@dataclass(frozen=True, slots=True)
class Place:
    """Where: a place's one-line label and/or an online link."""

    label: str
    address: str | None
    city: str | None
    country: str | None
    name: str | None
    online: bool
    join_url: str | None  # the link to join online (location.url)

    @property
    def physical(self) -> bool:
        """True when people can go somewhere (an address, a city or a named place)."""
        return bool(self.address or self.city or self.country or (self.name and not self.online))


@dataclass(frozen=True, slots=True)
class When:
    """One occurrence as a page shows and marks it up."""

    text: str
    start: str  # ISO 8601: a date, or a date-time with its UTC offset
    end: str  # the last day (all-day) or the end instant, ISO 8601
    status: Status  # the occurrence's own (a cancelled date of a series), else the event's
    title: str | None = None  # this occurrence's own title, when the file changes it
    place: Place | None = None  # this occurrence's own place, when the file changes it
    moved_from: str | None = None  # the earlier start, as text, when rescheduled
    previous_start: str | None = None  # ... and as ISO 8601 (schema.org previousStartDate)


@dataclass(frozen=True, slots=True)
class EventPage:
    """Everything one event's page (and its line in a listing) shows."""

    id: str
    title: str
    kind: str
    path: str  # events/<id>/
    url: str  # the page's address
    website: str | None  # the event's own site (`url`)
    ics: str
    status: Status
    upcoming: bool
    when: When  # the next occurrence, or the first of a past event
    dates: tuple[When, ...]  # a series: its next dates (SERIES_DATES at most)
    repeats: tuple[str, int] | None  # a series: (FREQ, INTERVAL) of its rule
    place: Place | None
    summary: str | None
    summary_text: str  # plain text for search engines and previews: summary, else description
    description: Markup | None
    image: Image | None  # src made absolute
    highlights: tuple[Markup, ...]
    links: tuple[Link, ...]
    hosts: tuple[str, ...]
    tags: tuple[str, ...]
    calendar: EventLinks | None  # add-to-calendar links while the event is not over
    sort_key: tuple  # listing order: (instant of `when`, id)

    @property
    def year(self) -> int:
        """The year the page's date falls in (past events are listed by it)."""
        return int(self.when.start[:4])


class EventCard(NamedTuple):
    """An event as a listing shows it: its list item, rendered once from its EventPage.

    A NamedTuple (as model.EventFacts): a rebuild makes one per event from the cache.
    """

    url: str  # its page's address
    upcoming: bool
    year: int  # EventPage.year: past events are listed by it
    sort_key: tuple  # EventPage.sort_key
    item: bytes  # the `event_item` macro's HTML (templates/web/_macros.html.j2), as UTF-8

    @property
    def html(self) -> Markup:
        """The list item, as markup for the listing template."""
        return Markup(self.item.decode("utf-8"))


class Cards(tuple):
    """Cards in listing order. `html`: their list items, a line each (what looping over them
    and writing `{{ card.html }}` on its own line renders, without 10,000 loop steps)."""

    splice: Splice | None = None  # while a page is rendered with placeholders (splice.py)

    @property
    def html(self) -> Markup:
        """The cards' list items joined by line breaks, as markup."""
        if self.splice is not None:
            return self.splice.mark([card.item for card in self])
        return Markup(b"\n".join(card.item for card in self).decode("utf-8"))


def event_page(event: Event, settings: Settings, now: dt.datetime) -> EventPage:
    """The page of `event` as of `now` (what is upcoming, what is past)."""
    upcoming = not event.has_ended(now)
    words = first_localizer(settings.locale)
    nexts = next_occurrences(event, now, SERIES_DATES) if upcoming else []
    # A past event shows its first occurrence (as changed, if it was).
    first = nexts[0] if nexts else next(event.occurrences(),
                                        Occurrence(event.start, event.exclusive_end))
    path = event_page_path(event)
    image = None
    if event.image is not None:
        src = event.image.src
        image = Image(src if urlsplit(src).scheme else settings.absolute_url(src), event.image.alt)
    summary_text = event.summary or (markdown_to_text(event.description, width=10_000)
                                     if event.description else "")
    return EventPage(
        id=event.id, title=event.title, kind=event.kind, path=path,
        url=settings.absolute_url(path), website=event.url,
        ics=settings.absolute_url(event_ics_path(event)), status=event.status,
        upcoming=upcoming, when=occurrence_when(event, first, words),
        dates=tuple(occurrence_when(event, o, words) for o in nexts) if event.recurrence else (),
        repeats=_repeats(event), place=_place(event.location), summary=event.summary,
        summary_text=summary_text,
        description=Markup(markdown_to_html(event.description))
        if event.description else None,
        image=image,
        highlights=tuple(Markup(inline_markdown_to_html(h))
                         for h in event.highlights),
        links=event.links, hosts=event.hosts, tags=event.tags,
        # Outlook's link adds one date: the next one held, as the page shows it.
        calendar=event_links(event, settings, next((o for o in nexts if not o.cancelled), None))
        if upcoming else None,
        sort_key=(event.instant(first.start).astimezone(dt.UTC), event.id))


def occurrence_when(event: Event, occurrence: Occurrence, words: Localizer | None = None) -> When:
    """One occurrence's text, ISO start and end, status, and what its file changed about it."""
    change = occurrence.change
    # A moved occurrence of a series was at its original start; a rescheduled one-off at
    # `moved_from`.
    earlier = occurrence.original if occurrence.moved else (
        event.moved_from if event.recurrence is None else None)
    return When(
        text=dates.format_when(event, occurrence, words), start=dates.iso(occurrence.start),
        end=dates.iso(dates.last_day(event, occurrence)),
        status=change.status if change and change.status else event.status,
        title=change.title if change else None,
        place=_place(change.location) if change and change.location else None,
        moved_from=dates.format_moment(event, earlier, words) if earlier is not None else None,
        previous_start=dates.iso(earlier) if earlier is not None else None)


def next_occurrences(event: Event, now: dt.datetime, limit: int) -> list[Occurrence]:
    """The first `limit` occurrences not over at `now` (an endless series stops there)."""
    found = []
    for occurrence in event.occurrences(after=now):
        found.append(occurrence)
        if len(found) == limit:
            break
    return found


def _place(location: Location | None) -> Place | None:
    if location is None:
        return None
    label = location.label
    if location.online and label == "Online":
        label = ""  # the template says "Online" in the page's language
    return Place(label=label, address=location.address, city=location.city,
                 country=location.country, name=location.name,
                 online=location.online or bool(location.url), join_url=location.url)


def _repeats(event: Event) -> tuple[str, int] | None:
    """The series' frequency and interval; the template words them in the page's language."""
    if event.recurrence is None:
        return None
    parts = dict(p.split("=", 1) for p in event.recurrence.rule.upper().split(";") if "=" in p)
    interval = parts.get("INTERVAL", "1")
    return parts.get("FREQ", ""), int(interval) if interval.isdigit() else 1
