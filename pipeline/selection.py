"""Which events go where: upcoming for feeds, past for an issue, by kind and tag."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from pipeline.model import Event, Issue


def matches(event: Event, kinds: Iterable[str] = (), tags: Iterable[str] = ()) -> bool:
    """True when the event's kind is in `kinds` (if any) and it has one of `tags` (if any)."""
    kinds, tags = tuple(kinds), tuple(tags)
    return (not kinds or event.kind in kinds) and (not tags or bool(set(tags) & set(event.tags)))


def upcoming_events(events: Iterable[Event], now: dt.datetime) -> tuple[Event, ...]:
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


def past_events(events: Iterable[Event], issue: Issue) -> tuple[Event, ...]:
    """Events that started inside the issue's period and were over by its date, oldest first."""
    as_of = start_of_day(issue.date + dt.timedelta(days=1))
    chosen = [event for event in events
              if issue.period_start <= _first_day(event) <= issue.period_end
              and event.has_ended(as_of) and matches(event, issue.kinds, issue.tags)]
    return tuple(sorted(chosen, key=lambda e: (e.instant(e.start), e.id)))


def looking_ahead(events: Iterable[Event], issue: Issue) -> tuple[Event, ...]:
    """Events still to come as of the issue's date, soonest next occurrence first."""
    if issue.looking_ahead == 0:
        return ()
    events = tuple(events)  # walked twice below
    as_of = start_of_day(issue.date)
    # An event that ends during the issue's day is recapped as past: never list it twice.
    recapped = set(past_events(events, issue))
    pending = [(event.next_occurrence(as_of), event) for event in events
               if not event.has_ended(as_of) and matches(event, issue.kinds, issue.tags)
               and event not in recapped]
    pending.sort(key=lambda pair: (pair[1].instant(pair[0].start), pair[1].id))
    chosen = tuple(event for _, event in pending)
    return chosen if issue.looking_ahead is None else chosen[: issue.looking_ahead]


def _first_day(event: Event) -> dt.date:
    return event.start.date() if isinstance(event.start, dt.datetime) else event.start
