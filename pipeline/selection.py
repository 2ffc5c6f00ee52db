"""Which events go where: upcoming for feeds, past for an issue, by kind and tag."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, TypeVar

from pipeline.model import Event, EventFacts, Issue

Timed = TypeVar("Timed", Event, EventFacts)


class Selectable(Protocol):
    """What choosing an event by kind and tag reads of it."""

    @property
    def kind(self) -> str: ...

    @property
    def tags(self) -> tuple[str, ...]: ...


def matches(event: Selectable, kinds: Iterable[str] = (), tags: Iterable[str] = ()) -> bool:
    """True when the event's kind is in `kinds` (if any) and it has one of `tags` (if any)."""
    return chooser(kinds, tags)(event)


def chooser(kinds: Iterable[str] = (), tags: Iterable[str] = ()) -> Callable[[Selectable], bool]:
    """`matches` of these kinds and tags, as one function: a feed asks it of 100k events."""
    kind_set, tag_set = frozenset(kinds), frozenset(tags)
    return lambda event: ((not kind_set or event.kind in kind_set)
                          and (not tag_set or not tag_set.isdisjoint(event.tags)))


class FeedChoice(Protocol):
    """What a feed of the settings chooses its events by."""

    @property
    def kinds(self) -> tuple[str, ...]: ...

    @property
    def tags(self) -> tuple[str, ...]: ...


def feed_membership(feeds: Sequence[FeedChoice]) -> Callable[[EventFacts, dt.datetime], int]:
    """Which feeds hold an event at a time, as bits: bit 0 the upcoming feed (any event not
    over), bit i + 1 `feeds[i]` (its kinds and tags); none once the event is over."""
    choosers = [(1 << bit, chooser(feed.kinds, feed.tags))
                for bit, feed in enumerate(feeds, start=1)]

    def bits(event: EventFacts, now: dt.datetime) -> int:
        if event.has_ended(now):
            return 0
        found = 1
        for bit, chooses in choosers:
            if chooses(event):
                found |= bit
        return found

    return bits


def upcoming_events(events: Iterable[Timed], now: dt.datetime) -> tuple[Timed, ...]:
    """Events not over at `now` (a series with an occurrence left counts), in input order."""
    return tuple(event for event in events if not event.has_ended(now))


def next_end(event: Event, now: dt.datetime) -> dt.datetime | None:
    """The earliest end after `now` of the event's occurrences (a moved one may end later).

    Until then nothing about the event that depends on `now` changes: whether it is upcoming,
    its next dates, its place in the feeds. None: it is over for good.
    """
    earliest = None
    for occurrence in event.occurrences(after=now):
        if earliest is not None and event.instant(occurrence.start) >= earliest:
            break  # starts after the earliest end found: ends after it too
        end = event.instant(occurrence.end)
        earliest = end if earliest is None else min(earliest, end)
    return earliest


def start_of_day(day: dt.date) -> dt.datetime:
    """Midnight UTC of `day`: the instant an issue's date stands for."""
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def recaps(event: EventFacts, issue: Issue) -> bool:
    """True when the issue recaps the event: it started in the period, was over by its date."""
    return (issue.period_start <= event.first_day <= issue.period_end
            and event.has_ended(start_of_day(issue.date + dt.timedelta(days=1)))
            and matches(event, issue.kinds, issue.tags))


def may_look_ahead_to(event: EventFacts, issue: Issue) -> bool:
    """True when the issue's looking-ahead section may list the event (if it is soon enough)."""
    return (issue.looking_ahead != 0 and not event.has_ended(start_of_day(issue.date))
            and matches(event, issue.kinds, issue.tags))


def issue_members(events: Iterable[EventFacts], issue: Issue) -> tuple[str, ...]:
    """The ids of every event the issue may show: its files depend on these events alone."""
    return tuple(e.id for e in events if recaps(e, issue) or may_look_ahead_to(e, issue))


def past_events(events: Iterable[Event], issue: Issue) -> tuple[Event, ...]:
    """Events that started inside the issue's period and were over by its date, oldest first."""
    chosen = [event for event in events if recaps(event.facts, issue)]
    return tuple(sorted(chosen, key=lambda e: (e.facts.starts_at, e.id)))


def looking_ahead(events: Iterable[Event], issue: Issue) -> tuple[Event, ...]:
    """Events still to come as of the issue's date, soonest next occurrence first."""
    if issue.looking_ahead == 0:
        return ()
    events = tuple(events)  # walked twice below
    as_of = start_of_day(issue.date)
    # An event that ends during the issue's day is recapped as past: never list it twice.
    recapped = set(past_events(events, issue))
    pending = [(event.next_occurrence(as_of), event) for event in events
               if may_look_ahead_to(event.facts, issue) and event not in recapped]
    pending.sort(key=lambda pair: (pair[1].instant(pair[0].start), pair[1].id))
    chosen = tuple(event for _, event in pending)
    return chosen if issue.looking_ahead is None else chosen[: issue.looking_ahead]
