"""An event's facts and web share as a cache record holds them, and back.

Both are read for every unchanged event of every rebuild, so they are flat lists and
strings (not the codec's tagged objects): a record's facts and share are read in a few
microseconds, and the event itself is decoded only when something needs it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pipeline.model import EventFacts
from pipeline.web.content import EventCard
from pipeline.web.rendered import EventWeb


def encode_facts(facts: EventFacts) -> list[Any]:
    """A record's `facts`: instants in UTC (they are only compared)."""
    return [facts.id, facts.source, facts.id_line, facts.kind, list(facts.tags), facts.timezone,
            _instant(facts.starts_at), facts.first_day.isoformat(), _instant(facts.zone_from),
            _instant(facts.ends_at)]


def decode_facts(value: Any) -> EventFacts:
    """The facts `encode_facts` wrote; ValueError (or TypeError) for anything else."""
    (event_id, source, id_line, kind, tags, timezone, starts_at, first_day, zone_from,
     ends_at) = value
    if (type(event_id) is not str or type(source) is not str or type(id_line) is not int
            or type(kind) is not str or type(tags) is not list
            or not all(type(tag) is str for tag in tags)
            or not (timezone is None or type(timezone) is str)):
        raise ValueError("facts of the wrong types")
    return EventFacts(event_id, source, id_line, kind, tuple(tags), timezone,
                      _moment(starts_at), dt.date.fromisoformat(first_day), _moment(zone_from),
                      None if ends_at is None else _moment(ends_at))


def encode_web(share: EventWeb) -> list[Any]:
    """A record's `web`; the card's item and the embed are kept apart, as bytes
    (cache/fragments.py)."""
    card = share.card
    return [card.url, card.upcoming, card.year, _instant(card.sort_key[0]),
            card.sort_key[1], share.digest, share.size, _instant(share.since),
            _instant(share.until)]


def decode_web(value: Any, item: bytes, embed: bytes) -> EventWeb | None:
    """The share `encode_web` wrote, with its item and embed; None for anything wrong."""
    try:
        url, upcoming, year, sort_at, sort_id, digest, size, since, until = value
        if (type(url) is not str or type(upcoming) is not bool or type(year) is not int
                or type(sort_id) is not str or type(digest) is not str or type(size) is not int):
            return None
        card = EventCard(url, upcoming, year, (_moment(sort_at), sort_id), item)
        return EventWeb(card, embed, digest, size, _moment(since),
                        None if until is None else _moment(until))
    except (TypeError, ValueError):  # a sealed but unreadable record is only a miss
        return None


def _instant(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.UTC).isoformat()


def _moment(text: str) -> dt.datetime:
    """An instant `_instant` wrote: aware, in UTC; ValueError (or TypeError) for anything else."""
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is not dt.UTC:  # "+00:00" reads as that very object (utcoffset(): 3x slower)
        raise ValueError("not an instant in UTC")
    return moment
