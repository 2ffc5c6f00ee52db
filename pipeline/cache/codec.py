"""Events as plain JSON values and back: the cache's format, which cannot run code on load."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import zoneinfo
from typing import Any

from markupsafe import Markup

from pipeline.model import Event, Image, Link, Location, OccurrenceChange, Recurrence, Status

# The only classes a cache entry may name: decoding builds nothing else (no import, no call
# of anything the file chooses), which is the point of leaving pickle. Every dataclass an
# Event may hold is here: one missing made every event using it uncacheable.
CLASSES: dict[str, type] = {cls.__name__: cls for cls in (
    Event, Image, Link, Location, OccurrenceChange, Recurrence)}
FIELDS = {cls: frozenset(f.name for f in dataclasses.fields(cls)) for cls in CLASSES.values()}


def encode(value: Any) -> Any:
    """A JSON-able form of a model value: dataclasses, dates, aware datetimes, tuples, enums."""
    if isinstance(value, Status):  # a StrEnum: before str
        return {"status": value.value}
    if isinstance(value, Markup):  # would come back as text, and be escaped once more
        raise TypeError("cannot cache markup")
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, dt.datetime):
        return {"datetime": value.replace(tzinfo=None).isoformat(), "fold": value.fold,
                **_zone(value.tzinfo)}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, tuple):
        return [encode(item) for item in value]
    if dataclasses.is_dataclass(value) and type(value).__name__ in CLASSES:
        return {"class": type(value).__name__,
                "fields": {f.name: encode(getattr(value, f.name))
                           for f in dataclasses.fields(value)}}
    raise TypeError(f"cannot cache a {type(value).__name__}")


def decode(value: Any) -> Any:
    """The value `encode` was given; ValueError (or TypeError, KeyError) for anything else."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, list):
        return tuple([item if type(item) in _PLAIN else decode(item) for item in value])
    if not isinstance(value, dict):
        raise ValueError(f"unexpected {type(value).__name__}")
    if "status" in value:
        return Status(value["status"])
    if "datetime" in value:
        naive = dt.datetime.fromisoformat(value["datetime"])
        if naive.tzinfo is not None:
            raise ValueError("a datetime's zone is given apart")
        return naive.replace(tzinfo=_tzinfo(value), fold=int(value["fold"]))
    if "date" in value:
        return dt.date.fromisoformat(value["date"])
    cls = CLASSES[value["class"]]
    fields = value["fields"]
    if not isinstance(fields, dict) or not FIELDS[cls].issuperset(fields):
        raise ValueError(f"unexpected fields of {cls.__name__}")
    # Plain values inline: most fields are text or None, and a call per field costs 40% more.
    return cls(**{name: item if type(item) in _PLAIN else decode(item)
                  for name, item in fields.items()})


_PLAIN = (str, int, bool, type(None))


def _zone(tzinfo: dt.tzinfo | None) -> dict[str, Any]:
    """An aware datetime's zone: an IANA key, or a fixed offset in seconds."""
    if isinstance(tzinfo, zoneinfo.ZoneInfo):
        return {"zone": tzinfo.key}
    if isinstance(tzinfo, dt.timezone):
        offset = tzinfo.utcoffset(None)
        return {"offset": int(offset.total_seconds())}
    raise TypeError("only IANA zones and fixed offsets are cached")


def _tzinfo(value: dict[str, Any]) -> dt.tzinfo:
    if "zone" in value:
        return _zone_named(str(value["zone"]))
    return dt.UTC if value["offset"] == 0 else dt.timezone(dt.timedelta(seconds=value["offset"]))


@functools.cache
def _zone_named(key: str) -> zoneinfo.ZoneInfo:
    """ZoneInfo(key), memoized: 10k events hold about 30k datetimes of a dozen zones."""
    return zoneinfo.ZoneInfo(key)
