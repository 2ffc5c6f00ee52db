"""An event's facts and web share as a cache record holds them, and back.

Both are read for every unchanged event of every rebuild, so they are flat lists and
strings (not the codec's tagged objects): a record's facts and share are read in a few
microseconds, and the event itself is decoded only when something needs it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from pipeline.cache import codec
from pipeline.model import EventFacts
from pipeline.web.content import EventCard
from pipeline.web.rendered import EventWeb


def encode_facts(facts: EventFacts) -> list[Any]:
    """A record's `facts`."""
    return [facts.id, facts.source, facts.id_line, facts.kind, list(facts.tags), facts.timezone,
            codec.encode(facts.starts_at), facts.first_day.isoformat(),
            codec.encode(facts.zone_from), codec.encode(facts.ends_at)]


def decode_facts(value: Any) -> EventFacts:
    """The facts `encode_facts` wrote; ValueError (or TypeError, KeyError) for anything else."""
    (event_id, source, id_line, kind, tags, timezone, starts_at, first_day, zone_from,
     ends_at) = value
    facts = EventFacts(event_id, source, id_line, kind, tuple(tags), timezone,
                       codec.decode(starts_at), dt.date.fromisoformat(first_day),
                       codec.decode(zone_from), codec.decode(ends_at))
    texts = (facts.id, facts.source, facts.kind, *facts.tags)
    if (not all(type(text) is str for text in texts) or type(facts.id_line) is not int
            or not (facts.timezone is None or type(facts.timezone) is str)
            or not all(isinstance(moment, dt.datetime) and moment.tzinfo is not None
                       for moment in (facts.starts_at, facts.zone_from))
            or not (facts.ends_at is None or isinstance(facts.ends_at, dt.datetime))):
        raise ValueError("facts of the wrong types")
    return facts


def web_key(web_context: bytes, key: str) -> str:
    """A web share's key: the event's entry key under the theme and catalogs too."""
    return hashlib.sha256(web_context + b"\0" + key.encode()).hexdigest()


def encode_web(share: EventWeb, key: str) -> list[Any]:
    """A record's `web`, under `key` (web_key)."""
    card = share.card
    return [key, card.url, card.upcoming, card.year, codec.encode(card.sort_key[0]),
            card.sort_key[1], card.item, share.embed, share.digest, share.size,
            codec.encode(share.since), codec.encode(share.until)]


def decode_web(value: Any, key: str) -> EventWeb | None:
    """The share `encode_web` wrote under `key`; None for another key or anything wrong."""
    try:
        (written_key, url, upcoming, year, sort_at, sort_id, item, embed, digest, size, since,
         until) = value
        if written_key != key:
            return None
        card = EventCard(url, upcoming, year, (codec.decode(sort_at), sort_id), item)
        share = EventWeb(card, embed, digest, size, codec.decode(since), codec.decode(until))
    except Exception:  # a sealed but unreadable record is only a miss
        return None
    texts = (url, sort_id, item, embed, digest)
    if (not all(type(text) is str for text in texts) or type(upcoming) is not bool
            or type(year) is not int or type(size) is not int
            or not all(isinstance(moment, dt.datetime)
                       for moment in (card.sort_key[0], share.since))
            or not (share.until is None or isinstance(share.until, dt.datetime))):
        return None
    return share
