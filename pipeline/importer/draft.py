"""One imported event as it will be written: the loader's keys, plus what the import noticed."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

Moment = dt.date  # a date (all-day) or a naive wall-clock datetime in the draft's zone


@dataclass(frozen=True, slots=True)
class Change:
    """One moved or cancelled occurrence of a series (`recurrence.changes`)."""

    occurrence: Moment
    start: Moment | None = None
    end: Moment | None = None
    title: str | None = None
    summary: str | None = None
    location: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class Draft:
    """An event file to write; `notes` say what of the source it does not keep, and why."""

    source_uid: str | None
    title: str
    kind: str
    start: Moment
    end: Moment | None = None
    duration: str | None = None
    timezone: str | None = None
    status: str | None = None  # None: confirmed, the default, not written
    location: str | None = None
    url: str | None = None
    summary: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    rule: str | None = None
    exceptions: tuple[Moment, ...] = ()
    changes: tuple[Change, ...] = ()
    origin: str = ""  # where it came from, for the report: path:line
    strict: bool = False  # written by a person in the loader's formats (CSV): refusals are errors
    kind_named: bool = True  # False: the source names no kind, so `kind` is --kind's
    notes: tuple[str, ...] = field(default=())


def slugify(text: str) -> str:
    """Lowercase ASCII letters and digits joined by '-' ('Café Night!' -> 'cafe-night')."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def base_id(draft: Draft) -> str:
    """The stable slug of title and first date, e.g. 'pytorch-meetup-2025-03-13'."""
    words = slugify(draft.title)[:60].rstrip("-") or "event"
    return f"{words}-{draft.start:%Y-%m-%d}"
