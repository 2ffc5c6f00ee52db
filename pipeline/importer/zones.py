"""A calendar's TZIDs as IANA zone names: IANA itself, Windows names (CLDR), or matching rules."""

from __future__ import annotations

import bisect
import datetime as dt
import re
import zoneinfo
from functools import cache

from dateutil.rrule import rrulestr
from icalendar import Calendar, Timezone
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON  # CLDR's windowsZones.xml

UTC_NAMES = frozenset({"UTC", "GMT", "Z", "Etc/UTC", "Etc/GMT", "Universal", "Zulu"})
REGIONS = frozenset({"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia",
                     "Europe", "Indian", "Pacific"})
YEARS = 4  # how many years of a VTIMEZONE's offsets must equal those of an IANA candidate


@cache
def iana_names() -> frozenset[str]:
    """The zones the loader accepts (as pipeline.sources.events does)."""
    return frozenset(zoneinfo.available_timezones() - {"localtime", "posixrules", "Factory"})


def iana_name(tzid: str) -> str | None:
    """`tzid` as an IANA name when it is one, also behind a '/mozilla.org/2005_1/' prefix."""
    name = tzid.strip().strip('"')
    if name.upper() in {n.upper() for n in UTC_NAMES}:
        return "UTC"
    if name in iana_names():
        return name
    parts = name.strip("/").split("/")
    # Old Thunderbird/Lightning and Citadel write '/mozilla.org/20050126_1/Europe/Berlin'.
    for size in (3, 2, 1):
        candidate = "/".join(parts[-size:])
        if len(parts) > size and candidate in iana_names():
            return candidate
    return None


class Zones:
    """Resolves the TZIDs of one calendar, each once, with a note on how it was resolved."""

    def __init__(self, calendar: Calendar) -> None:
        self._definitions = {str(tz.get("TZID", "")).strip(): tz for tz in calendar.walk("VTIMEZONE")}
        self._resolved: dict[str, tuple[str | None, str | None]] = {}

    def resolve(self, tzid: str, year: int) -> tuple[str | None, str | None]:
        """(IANA name or None, a note for the report or None) for a TZID used around `year`."""
        key = tzid.strip().strip('"')
        if key not in self._resolved:
            self._resolved[key] = self._resolve(key, year)
        return self._resolved[key]

    def _resolve(self, tzid: str, year: int) -> tuple[str | None, str | None]:
        name = iana_name(tzid)
        if name is not None:
            return name, None
        definition = self._definitions.get(tzid)
        windows = WINDOWS_TO_OLSON.get(tzid)
        if windows is not None and (definition is None or _same_rules(definition, windows, year)):
            return windows, f"time zone '{tzid}' (a Windows name) is {windows} (CLDR's mapping)"
        if definition is None:
            return None, (f"time zone '{tzid}' is neither an IANA nor a Windows name, and the "
                          "file defines no VTIMEZONE for it")
        return _by_rules(tzid, definition, year)


class _Rules:
    """A VTIMEZONE's UTC offset at any instant, from its STANDARD/DAYLIGHT transitions.

    Expanded here rather than with dateutil's tzical or icalendar's get_transitions: both walk
    every year since the rules' DTSTART (often 1601) at each look-up, seconds per zone.
    """

    def __init__(self, definition: Timezone, year: int) -> None:
        changes: list[tuple[dt.datetime, dt.timedelta]] = []
        first, last = dt.datetime(year - 1, 1, 1), dt.datetime(year + YEARS + 1, 1, 1)
        for part in definition.subcomponents:
            if part.name not in ("STANDARD", "DAYLIGHT") or "DTSTART" not in part:
                continue
            start = part.decoded("DTSTART").replace(tzinfo=None)
            before, after = part.decoded("TZOFFSETFROM"), part.decoded("TZOFFSETTO")
            moments = [start]
            if "RRULE" in part:
                if "COUNT" not in part["RRULE"] and start.year < year - 2:
                    # A yearly rule from 1601 walks 400 years per look-up; its occurrences from
                    # a later start on are the same (a later DTSTART that is no occurrence is
                    # not yielded by dateutil).
                    start = start.replace(year=year - 2, day=min(start.day, 28))
                rule = rrulestr(part["RRULE"].to_ical().decode(), dtstart=start, ignoretz=True)
                moments = rule.between(first, last, inc=True) or list(rule[:1])  # type: ignore[index]
                earlier = rule.before(first)
                moments += [earlier] if earlier else []
            for rdates in (part.get("RDATE") or []) if isinstance(part.get("RDATE"), list) else \
                    [part["RDATE"]] if "RDATE" in part else []:
                moments += [d.dt.replace(tzinfo=None) for d in rdates.dts]
            changes += [((m - before).replace(tzinfo=dt.UTC), after) for m in moments]
        changes.sort()
        self._times = [moment for moment, _ in changes]
        self._offsets = [offset for _, offset in changes]

    def utcoffset(self, moment: dt.datetime) -> dt.timedelta | None:
        index = bisect.bisect_right(self._times, moment) - 1
        return self._offsets[max(index, 0)] if self._offsets else None


def _offsets(zone: dt.tzinfo | _Rules, instants: list[dt.datetime]) -> tuple[dt.timedelta | None, ...]:
    if isinstance(zone, _Rules):
        return tuple(zone.utcoffset(moment) for moment in instants)
    return tuple(moment.astimezone(zone).utcoffset() for moment in instants)


def _instants(definition: Timezone, year: int) -> list[dt.datetime]:
    """Noon UTC of every day of YEARS years, plus a minute either side of each transition."""
    start = dt.datetime(year, 1, 1, 12, tzinfo=dt.UTC)
    days = [start + dt.timedelta(days=n) for n in range(366 * YEARS)]
    zone = _Rules(definition, year)
    offsets = _offsets(zone, days)
    instants = list(days)
    for before, after, a, b in zip(days, days[1:], offsets, offsets[1:], strict=False):
        if a != b:  # bisect to the minute: zones switching on the same day at other hours differ
            low, high = before, after
            while high - low > dt.timedelta(minutes=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if zone.utcoffset(middle) == a else (low, middle)
            instants += [low - dt.timedelta(minutes=1), high + dt.timedelta(minutes=1)]
    return instants


def _same_rules(definition: Timezone, name: str, year: int) -> bool:
    instants = _instants(definition, year)
    return _offsets(_Rules(definition, year), instants) == _offsets(
        zoneinfo.ZoneInfo(name), instants)


def _by_rules(tzid: str, definition: Timezone, year: int) -> tuple[str | None, str | None]:
    """The IANA zones whose offsets equal the VTIMEZONE's over YEARS years from `year`."""
    instants = _instants(definition, year)
    wanted = _offsets(_Rules(definition, year), instants)
    probe = [instants[0], instants[len(instants) // 4], instants[len(instants) // 2]]
    quick = wanted[0], wanted[len(instants) // 4], wanted[len(instants) // 2]
    matches = sorted(name for name in iana_names()
                     if _offsets(zoneinfo.ZoneInfo(name), probe) == quick
                     and _offsets(zoneinfo.ZoneInfo(name), instants) == wanted)
    if not matches:
        return None, (f"time zone '{tzid}' is not an IANA name and its VTIMEZONE matches no IANA "
                      f"zone in {year}-{year + YEARS - 1}")
    chosen = _preferred(tzid, definition, matches)
    others = [m for m in _places(matches) if m != chosen]
    return chosen, (f"time zone '{tzid}' is not an IANA name; its VTIMEZONE has the rules of "
                    f"{chosen} in {year}-{year + YEARS - 1}" + (
                        f" (as do {len(others)} other zones, e.g. {', '.join(others[:3])}; change "
                        "'timezone' if another place is meant)" if others else ""))


def _preferred(tzid: str, definition: Timezone, matches: list[str]) -> str:
    """The candidate the file names (X-LIC-LOCATION, a city in the TZID), else a CLDR zone."""
    location = str(definition.get("X-LIC-LOCATION", "")).strip()
    if location in matches:
        return location
    windows = WINDOWS_TO_OLSON.get(tzid)
    if windows in matches:
        return windows  # type: ignore[return-value]
    places = _places(matches) or matches
    words = " ".join(re.findall(r"[a-z]+", tzid.lower()))
    for name in places:
        if f" {name.rsplit('/', 1)[-1].replace('_', ' ').lower()} " in f" {words} ":
            return name
    # CLDR's zone for each Windows name is a canonical, well-known one (not a link like
    # America/Ensenada): the first of those, else the first place.
    golden = sorted(set(places) & set(WINDOWS_TO_OLSON.values()))
    return (golden or places)[0]


def _places(names: list[str]) -> list[str]:
    """Region/City names only: not Etc/GMT-1, CET, nor old links such as US/Pacific."""
    return [n for n in names if n.split("/", 1)[0] in REGIONS and "/" in n]
