"""What a build tells its user about the calendar: events that vanished, feeds left empty."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from pipeline.calendar.feeds import event_uid
from pipeline.calendar.links import UPCOMING_PATH
from pipeline.calendar.stamps import Ledger
from pipeline.model import EventFacts
from pipeline.selection import upcoming_events
from pipeline.sources.settings import Settings


def vanished_events(previous: Ledger, events: Iterable[EventFacts], settings: Settings,
                    published: Callable[[str], bool]) -> list[str]:
    """A warning for each event the ledger knows, still published, that this build removes.

    `published(path)`: whether the publish root holds that file now; an event whose .ics is
    already gone was reported by the build that removed it, so each warning is given once.
    """
    current = {event_uid(event, settings) for event in events}
    suffix = "@" + settings.uid_host
    warnings = []
    for uid in sorted(previous):
        if uid in current or not uid.endswith(suffix):
            continue
        event_id = uid.removesuffix(suffix)
        path = f"calendar/events/{event_id}.ics"
        if not published(path):
            continue
        warnings.append(
            f"warning: event '{event_id}' was published and is gone from events/: subscribers' "
            f"calendars drop it at their next refresh, and {path}, linked from newsletters "
            f"already sent, will answer 404. If its file was renamed, add `id: {event_id}` to "
            "the renamed file to keep it; if it was removed on purpose, nothing to do "
            "(this is said once)")
    return warnings


def empty_feed_note(events: Sequence[EventFacts], now: dt.datetime) -> str:
    """Why calendar/upcoming.ics is empty, for the build's summary line; '' when it is not."""
    if not events or upcoming_events(events, now):
        return ""
    name = UPCOMING_PATH.rsplit("/", 1)[-1]
    count = f"all {len(events)} are over" if len(events) > 1 else "the only one is over"
    return f"{name}: 0 events, {count} at {now:%Y-%m-%d %H:%M} UTC; --now previews another date"
