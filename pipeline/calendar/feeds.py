"""The iCalendar feeds: upcoming.ics, one feed per configured selection, one file per event."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from icalendar import Calendar, vCalAddress, vDuration, vText
from icalendar import Event as VEvent
from icalendar.prop import vRecur

from pipeline.calendar.folds import mend_folds
from pipeline.calendar.links import UPCOMING_PATH, event_ics_path, event_page_url, feed_ics_path
from pipeline.calendar.stamps import EMPTY_LEDGER, Ledger, Stamp, content_key, next_ledger, stamp_for
from pipeline.calendar.vtimezone import vtimezone
from pipeline.model import Event, EventFacts, Location
from pipeline.parallel import fork_map
from pipeline.selection import feed_membership
from pipeline.sources.settings import Settings

UTC = dt.UTC
PRODID = "-//pipeline//Community events calendar//EN"
END_CALENDAR = b"END:VCALENDAR\r\n"
ZONES_PARALLEL_FROM = 3  # VTIMEZONEs to make before forking workers pays for itself
# What an event's .ics was made of (its VEVENT's content key, stamps and VTIMEZONE's key),
# its SHA-256 and its size: the build cache keeps it, so an unchanged file is not made again.
IcsRecord = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """What a subscriber's calendar app shows about one feed."""

    path: str
    name: str
    description: str


def render_calendars(events: tuple[Event, ...], settings: Settings, now: dt.datetime,
                     vevents: Mapping[str, bytes] | None = None,
                     zone_memo: MutableMapping[tuple, bytes] | None = None,
                     ledger: Ledger = EMPTY_LEDGER) -> dict[str, bytes]:
    """Every .ics under calendar/, by path: upcoming, the configured feeds, one per event.

    See render_calendars_and_ledger for the arguments.
    """
    return render_calendars_and_ledger(events, settings, now, vevents, zone_memo, ledger)[0]


def render_calendars_and_ledger(events: tuple[Event, ...], settings: Settings, now: dt.datetime,
                                vevents: Mapping[str, bytes] | None = None,
                                zone_memo: MutableMapping[tuple, bytes] | None = None,
                                ledger: Ledger = EMPTY_LEDGER,
                                ) -> tuple[dict[str, bytes], Ledger]:
    """render_calendars' files, and the publication ledger once they are published.

    `vevents` (event id -> `vevent_bytes(event, settings)`), when given, are reused:
    the build's cache keeps them so that an unchanged event is never serialized again.
    See assemble_calendars for the others.
    """
    calendars = assemble_calendars([event.facts for event in events],
                                   _bodies(events, settings, vevents), settings, now, zone_memo,
                                   ledger)
    return calendars.files, calendars.ledger


@dataclass(slots=True)
class Calendars:
    """Every calendar file, those of them kept as published, and what the next build keeps."""

    files: dict[str, bytes]
    unchanged: dict[str, tuple[str, int]]  # per-event .ics path -> (SHA-256, size), not made
    ledger: Ledger  # the publication ledger once the files are published
    records: dict[str, IcsRecord]  # by event id: what its .ics was made of, and its hash
    vevents: dict[str, bytes]  # by event id: its VEVENT with its stamps, as the feeds hold it
    zones: dict[str, bytes]  # by zone: its VTIMEZONE, spanning every event in it


def assemble_calendars(events: Iterable[EventFacts], bodies: Mapping[str, bytes],
                       settings: Settings, now: dt.datetime,
                       zone_memo: MutableMapping[tuple, bytes] | None = None,
                       ledger: Ledger = EMPTY_LEDGER,
                       kept: Mapping[str, IcsRecord] | None = None) -> Calendars:
    """Every calendar file and the next ledger, from each event's facts and VEVENT.

    `bodies`: event id -> `vevent_bytes(event, settings)`; the calendars need nothing else
    of an event, so the build cache gives them for unchanged events without decoding those.
    `zone_memo` keeps serialized VTIMEZONEs by (zone, span) across builds the same way.
    `ledger` is the previous build's publication ledger: it gives each event's DTSTAMP,
    LAST-MODIFIED and SEQUENCE (pipeline/stamps.py); the next one is returned with the files.
    `kept`: the records of a previous build (by event id); an event's .ics made of what its
    record says (the same VEVENT, stamps and VTIMEZONE) is listed as unchanged, not made.
    """
    ordered = sorted(events, key=lambda e: (e.starts_at, e.id))  # input order never matters
    vevents, stamps, contents = stamped_vevents(ordered, bodies, settings, now, ledger)
    stamp_of = {event.id: stamps[event_uid(event, settings)] for event in ordered}
    # Zones as icalendar wrote them: UTC-like zones become `Z` times and need no VTIMEZONE.
    tzids = {e.id: e.timezone for e in ordered if e.timezone and b";TZID=" in vevents[e.id]}
    zones = _vtimezones([e for e in ordered if e.id in tzids], zone_memo)
    zone_keys = {name: content_key(text) for name, text in zones.items()}
    # One rule for which feed holds what, shared with the listings and the snapshot's rows.
    membership = feed_membership(settings.feeds)
    held = [(event, membership(event, now)) for event in ordered]
    feeds = [(FeedInfo(UPCOMING_PATH, settings.feed_name, settings.feed_description),
              tuple(event for event, bits in held if bits & 1))]
    for bit, spec in enumerate(settings.feeds, start=1):
        description = spec.description or f"{spec.name}: upcoming events of {settings.site_name}"
        feeds.append((FeedInfo(feed_ics_path(spec.id), spec.name, description),
                      tuple(event for event, bits in held if bits >> bit & 1)))
    files = {feed.path: _assemble(_feed_head(feed, settings), chosen, vevents, zones, tzids)
             for feed, chosen in feeds}
    kept = kept or {}
    unchanged: dict[str, tuple[str, int]] = {}
    records: dict[str, IcsRecord] = {}
    for event in ordered:
        stamp = stamp_of[event.id]
        recipe = (f"{contents[event.id]}|{stamp.published.isoformat()}|{stamp.sequence}|"
                  f"{zone_keys.get(tzids.get(event.id, ''), '')}")
        record = kept.get(event.id)
        if record is not None and record[0] == recipe:
            unchanged[event_ics_path(event)] = (record[1], record[2])
            records[event.id] = record
            continue
        data = files[event_ics_path(event)] = event_file(
            vevents[event.id], zones[tzids[event.id]] if event.id in tzids else None)
        records[event.id] = (recipe, hashlib.sha256(data).hexdigest(), len(data))
    return Calendars(files, unchanged, next_ledger(ledger, stamps), records, vevents, zones)


def stamped_vevents(events: Iterable[EventFacts], bodies: Mapping[str, bytes],
                    settings: Settings, now: dt.datetime, ledger: Ledger,
                    ) -> tuple[dict[str, bytes], dict[str, Stamp], dict[str, str]]:
    """Each event's VEVENT with its stamps (by id), the stamps (by UID) and the content keys
    of the VEVENTs (by id), as assemble_calendars gives them."""
    events = tuple(events)
    contents = {event.id: content_key(bodies[event.id]) for event in events}
    stamps = _stamps(events, settings, now, contents, ledger)
    return ({event.id: _with_stamps(bodies[event.id], stamps[event_uid(event, settings)])
             for event in events}, stamps, contents)


def calendar_ledger(events: tuple[Event, ...], settings: Settings, now: dt.datetime,
                    vevents: Mapping[str, bytes] | None = None,
                    ledger: Ledger = EMPTY_LEDGER) -> Ledger:
    """The publication ledger once render_calendars' files (same arguments) are published.

    The same as render_calendars_and_ledger's, without assembling the files.
    """
    contents = {event_id: content_key(body)
                for event_id, body in _bodies(events, settings, vevents).items()}
    return next_ledger(ledger, _stamps([event.facts for event in events], settings, now,
                                       contents, ledger))


def vevent_bytes(event: Event, settings: Settings) -> bytes:
    """The VEVENT of `event` as render_calendars writes it, minus DTSTAMP/LAST-MODIFIED/SEQUENCE."""
    return _vevent(event, settings)


def event_uid(event: Event | EventFacts, settings: Settings) -> str:
    """The event's UID: `<id>@<uid-domain>`, its identity in every subscriber's calendar."""
    return f"{event.id}@{settings.uid_host}"


def _bodies(events: Iterable[Event], settings: Settings,
            known: Mapping[str, bytes] | None) -> dict[str, bytes]:
    """Each event's VEVENT without stamps, by id: from `known` (the build cache) or serialized."""
    known = known or {}
    return {event.id: known.get(event.id) or _vevent(event, settings) for event in events}


def _stamps(ordered: Iterable[EventFacts], settings: Settings, now: dt.datetime,
            contents: Mapping[str, str], ledger: Ledger) -> dict[str, Stamp]:
    """Each event's stamp by UID: kept while its VEVENT says the same, else `now` and SEQUENCE+1.

    `contents`: each event's content_key (of its VEVENT without stamps), by id.
    """
    stamps = {}
    for event in ordered:
        uid = event_uid(event, settings)
        stamps[uid] = stamp_for(ledger.get(uid), contents[event.id], now)
    return stamps


def _with_stamps(body: bytes, stamp: Stamp) -> bytes:
    """The VEVENTs of `body` with their DTSTAMP, LAST-MODIFIED and SEQUENCE, before each UID."""
    # The stamps are left out of the body so that the body (and the build cache's copy of it)
    # depends on the event and the settings alone; its key is what the ledger compares.
    # A series and its overrides share one UID, so one record: a changed override bumps
    # the SEQUENCE of them all, which keeps every copy in a client ordered (RFC 5546 2.1.4).
    # A fold's continuation starts with a space, and text never holds a bare line break:
    # each `\r\nUID:` is a VEVENT's UID line.
    return body.replace(b"\r\nUID:", b"\r\n" + _stamp_lines(stamp.published, stamp.sequence)
                        + b"UID:")


@lru_cache(maxsize=256)
def _stamp_lines(published: dt.datetime, sequence: int) -> bytes:
    """DTSTAMP, LAST-MODIFIED and SEQUENCE as icalendar serializes them (many events share one)."""
    vevent = VEvent()
    vevent.add("DTSTAMP", published)
    vevent.add("LAST-MODIFIED", published)
    # Always written, also when 0: the number a client compares with its copy, in plain sight.
    vevent.add("SEQUENCE", sequence)
    block = vevent.to_ical()
    begin, end = b"BEGIN:VEVENT\r\n", b"END:VEVENT\r\n"
    assert block.startswith(begin) and block.endswith(end)
    return block[len(begin):-len(end)]


def _assemble(head: bytes, chosen: Sequence[EventFacts], vevents: dict[str, bytes],
              zones: dict[str, bytes], tzids: dict[str, str]) -> bytes:
    """icalendar's calendar head, then its serialized VTIMEZONEs and VEVENTs, then END."""
    used = sorted({tzids[e.id] for e in chosen if e.id in tzids})
    assert head.endswith(END_CALENDAR)
    return b"".join([head[: -len(END_CALENDAR)], *(zones[name] for name in used),
                     *(vevents[e.id] for e in chosen), END_CALENDAR])


def event_file(vevent: bytes, zone: bytes | None) -> bytes:
    """An event's own .ics: the calendar's head, its zone's VTIMEZONE (the one every file
    holds: it spans every event in the zone) if its VEVENT names one, and its VEVENT."""
    return b"".join([_head()[:-len(END_CALENDAR)], *([zone] if zone else []), vevent,
                     END_CALENDAR])


@lru_cache(maxsize=1)
def _head() -> bytes:
    calendar = Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", PRODID)
    calendar.add("CALSCALE", "GREGORIAN")
    # PUBLISH: a copy to keep, not an invitation (REQUEST would make clients send replies).
    calendar.add("METHOD", "PUBLISH")
    return mend_folds(calendar.to_ical())


class LiteralText(vText):
    r"""TEXT whose backslashes are all literal: icalendar 7.3 reads a written `\N` as a line break."""

    def to_ical(self) -> bytes:
        # Split on backslashes so the library's escaping never sees one, then join them escaped.
        return b"\\\\".join(vText(part).to_ical() for part in str(self).split("\\"))


def _feed_head(feed: FeedInfo, settings: Settings) -> bytes:
    """A subscribable feed's head: its name, description, refresh interval and addresses."""
    calendar = Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", PRODID)
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "PUBLISH")
    # icalendar 7.3 writes NAME and the X-WR-* names unescaped unless given as vText: a comma
    # or a newline in a calendar's name would break the line or add a property.
    for key, value in (("NAME", feed.name), ("X-WR-CALNAME", feed.name),
                       ("DESCRIPTION", feed.description), ("X-WR-CALDESC", feed.description)):
        calendar.add(key, LiteralText(value))
    # RFC 7986 wants VALUE=DURATION on REFRESH-INTERVAL; icalendar 7.3 leaves it out.
    calendar.add("REFRESH-INTERVAL", vDuration(settings.refresh_interval),
                 parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", vDuration(settings.refresh_interval))
    if settings.calendar_color:
        calendar.add("COLOR", vText(settings.calendar_color))
    calendar.add("URL", settings.base_url, parameters={"VALUE": "URI"})
    calendar.add("SOURCE", settings.absolute_url(feed.path), parameters={"VALUE": "URI"})
    return mend_folds(calendar.to_ical())


def _vtimezones(events: Iterable[EventFacts], memo: MutableMapping[tuple, bytes] | None = None,
                ) -> dict[str, bytes]:
    """One serialized VTIMEZONE per zone, covering every occurrence of every (timed) event in it."""
    spans: dict[str, tuple[dt.datetime, dt.datetime | None]] = {}
    for event in events:
        assert event.timezone is not None
        first = event.zone_from  # moved occurrences included
        last = event.ends_at.astimezone(UTC) if event.ends_at else None
        if event.timezone in spans:
            known_first, known_last = spans[event.timezone]
            first = min(first, known_first)
            last = None if last is None or known_last is None else max(last, known_last)
        spans[event.timezone] = (first, last)
    memo = {} if memo is None else memo
    missing = [(name, first, last) for name, (first, last) in spans.items()
               if (name, first, last) not in memo]
    # Scanning tzdata costs 30 to 85 ms a zone, in the build's serial part: on every core.
    made = fork_map(lambda key: vtimezone_bytes(*key), missing, ZONES_PARALLEL_FROM)
    memo.update(zip(missing, made, strict=True))
    return {name: memo[name, first, last] for name, (first, last) in sorted(spans.items())}


def vtimezone_bytes(name: str, first: dt.datetime, last: dt.datetime | None) -> bytes:
    """The VTIMEZONE of zone `name` covering instants `first` to `last` (None: on and on)."""
    return mend_folds(vtimezone(name, first, last).to_ical())


def _vevent(event: Event, settings: Settings) -> bytes:
    """One event's VEVENT without its stamps, serialized once and reused by every feed.

    A series' changed occurrences follow it: one VEVENT each, with the series' UID and the
    occurrence's original start as RECURRENCE-ID (RFC 5545 3.8.4.4), in order of that start.
    """
    vevent = VEvent()
    vevent.add("UID", event_uid(event, settings))
    # All-day: dates (VALUE=DATE) with the day after the last as DTEND; timed: TZID wall clock.
    vevent.add("DTSTART", event.start)
    vevent.add("DTEND", event.exclusive_end)
    if event.recurrence:
        vevent.add("RRULE", vRecur.from_ical(event.recurrence.rule))
        # One EXDATE per line: some parsers read only the first of a comma-separated list.
        for skipped in event.recurrence.exceptions:
            vevent.add("EXDATE", skipped)
    _describe(vevent, event, settings, event.title, event.summary, event.location,
              event.status.value)
    blocks = [mend_folds(vevent.to_ical())]
    for change in event.recurrence.changes if event.recurrence else ():
        occurrence = event.changed(change)
        override = VEvent()
        override.add("UID", event_uid(event, settings))
        # In the series' zone (VALUE=DATE when all-day), as the RFC wants it beside DTSTART.
        override.add("RECURRENCE-ID", change.original_start)
        override.add("DTSTART", occurrence.start)
        override.add("DTEND", occurrence.end)
        status = change.status or event.status
        _describe(override, event, settings, change.title or event.title,
                  change.summary or event.summary, change.location or event.location,
                  status.value)
        blocks.append(mend_folds(override.to_ical()))
    return b"".join(blocks)


@lru_cache(maxsize=16)
def _organizer(settings: Settings) -> vCalAddress:
    """The settings' organizer as ORGANIZER: mailto: address, CN name, DIR web page."""
    organizer = settings.organizer_of_events
    address = vCalAddress(f"mailto:{organizer.email}")
    address.params["CN"] = organizer.name  # icalendar quotes it (RFC 6868 for a quote sign)
    address.params["DIR"] = organizer.url
    return address


def _describe(vevent: VEvent, event: Event, settings: Settings, title: str, summary: str | None,
              location: Location | None, status: str) -> None:
    """STATUS, SUMMARY, DESCRIPTION, LOCATION, URL, CATEGORIES, CONFERENCE and IMAGE."""
    vevent.add("STATUS", status.upper())
    vevent.add("SUMMARY", LiteralText(title))
    # RFC 5546 3.2.1: a METHOD:PUBLISH event has an ORGANIZER (libical's check flags it).
    vevent.add("ORGANIZER", _organizer(settings))
    join = location.url if location else None
    description = "\n\n".join(part for part in (
        summary, event.url and f"Event page: {event.url}",
        join and f"Join online: {join}") if part)
    if description:
        vevent.add("DESCRIPTION", LiteralText(description))
    if location and location.label:
        vevent.add("LOCATION", LiteralText(location.label))
    # The event's own page, else its page on this site (pipeline/web/): always somewhere to read.
    vevent.add("URL", event_page_url(event, settings), parameters={"VALUE": "URI"})
    vevent.add("CATEGORIES", list(dict.fromkeys((event.kind, *event.tags))))
    if join:
        vevent.add("CONFERENCE", join, parameters={"VALUE": "URI", "LABEL": "Join online"})
    if event.image:
        src = event.image.src
        absolute = src if "://" in src else settings.absolute_url(src)
        vevent.add("IMAGE", absolute, parameters={"VALUE": "URI"})
