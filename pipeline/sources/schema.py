"""JSON Schema (draft 2020-12) of event files, built from the loader's own keys and patterns.

Editors validate and complete `events/**/*.yaml` with it (yaml-language-server);
`python -m pipeline.schema` rewrites `schemas/event.schema.json`, and a test keeps the
committed file, the loader and this module in agreement.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipeline.model import Status
from pipeline.sources.fields import DATE, DATETIME, SLUG
from pipeline.sources.settings import BUILTIN_KINDS

SCHEMA_FILE = Path("schemas/event.schema.json")
DRAFT = "https://json-schema.org/draft/2020-12/schema"

# What Fields.text refuses: control characters other than tab and line feed.
_CONTROL = r"\u0000-\u0008\u000b-\u001f"
# What a one-line field refuses on top: every kind of line break.
_BREAKS = r"\n\r\u0085\u2028\u2029"
# Text is stripped before it is checked, so blank space around it is fine, blank text is not.
ONE_LINE = rf"^(?=[\s\S]*\S)\s*[^{_BREAKS}{_CONTROL}]*\s*$"
MULTI_LINE = rf"^(?=[\s\S]*\S)[^{_CONTROL}]*$"
WALL_CLOCK = f"{DATE.pattern}|{DATETIME.pattern}"
DURATION = r"^(?=.*\d) *(?:\d+ *d)? *(?:\d+ *h)? *(?:\d+ *m)? *$"  # settings.parse_duration
# urlsplit() lowercases the scheme, so HTTPS:// is accepted too; a host is required.
HTTP_URL = r'^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\s<>"`\u0000-\u001f]+[^\s<>"`\u0000-\u001f]*$'
_PART = r'[A-Za-z]+=[^;:\s\\"]+'
RRULE = rf"^(?:RRULE:)?(?:{_PART};)*[Ff][Rr][Ee][Qq]=[A-Za-z]+(?:;{_PART})*;?$"
ZONE_NAME = r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$"

DOCS = {
    "id": "Slug; default: the file's stem. The event's UID: never change it once published.",
    "title": "One line of plain text.",
    "kind": "The kind of event; settings can add kinds.",
    "start": "YYYY-MM-DD (all-day) or YYYY-MM-DD HH:MM[:SS] (timed, wall clock in 'timezone').",
    "end": "All-day: the last day, inclusive (default: start). Timed: a wall-clock date-time "
           "after start.",
    "duration": "Timed events only, instead of 'end': e.g. 90m, 2h, 1h30m.",
    "timezone": "IANA time zone, e.g. America/Los_Angeles; required for timed events.",
    "status": "confirmed (default), tentative or cancelled.",
    "location": "A place as text, or a mapping of name, address, city, country, url, online.",
    "url": "The event's page (http or https).",
    "summary": "One short paragraph of plain text: the feed's description, the teaser.",
    "description": "Markdown: the newsletter's recap text.",
    "image": "A picture: src (absolute URL or a path under the site's base URL) and alt.",
    "highlights": "Short Markdown lines: the recap's bullet points.",
    "links": "Titled links: recordings, playlists, slides, community pages.",
    "hosts": "Organisation names: hosts, sponsors, speakers' companies.",
    "tags": "Slugs that feeds and issues can select by.",
    "recurrence": "An RFC 5545 RRULE, the occurrences to skip and single occurrences changed.",
    "moved_from": "A rescheduled one-off event: its earlier start (date, or wall-clock "
                  "date-time in 'timezone').",
}


# Editors built on vscode-json-languageservice (yaml-language-server too) show these instead
# of the raw regular expression; other validators ignore the unknown keyword.
HINTS = {
    ONE_LINE: "One line of text, not blank, without control characters.",
    MULTI_LINE: "Text, not blank, without control characters.",
    WALL_CLOCK: "Write YYYY-MM-DD (all-day) or YYYY-MM-DD HH:MM (timed).",
    DURATION: "Write a duration such as 90m, 2h or 1h30m.",
    HTTP_URL: "Write a full http:// or https:// URL without spaces.",
    RRULE: "Write RRULE parts such as FREQ=WEEKLY;BYDAY=WE.",
    ZONE_NAME: "Write an IANA time zone such as Europe/Paris.",
    SLUG.pattern: "A slug: lowercase letters, digits and '-', e.g. pytorch-conference-2025.",
}


def _text(one_line: bool = True, description: str | None = None) -> dict[str, Any]:
    """Text as Fields.text reads it: a string (or a number, read as text)."""
    pattern = ONE_LINE if one_line else MULTI_LINE
    schema: dict[str, Any] = {"type": ["string", "number"], "pattern": pattern,
                              "patternErrorMessage": HINTS[pattern]}
    if description:
        schema["description"] = description
    return schema


def _string(pattern: str, description: str | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "pattern": pattern,
                              "patternErrorMessage": HINTS[pattern], **extra}
    if description:
        schema["description"] = description
    return schema


def _list(items: dict[str, Any], description: str) -> dict[str, Any]:
    return {"type": "array", "items": items, "description": description}


def _mapping(properties: dict[str, Any], required: Iterable[str] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties,
                              "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


def _location() -> dict[str, Any]:
    fields = {key: _text() for key in ("name", "address", "city", "country")}
    place = _mapping({**fields, "url": _string(HTTP_URL, "Join link of an online event."),
                      "online": {"type": "boolean", "default": False}})
    # The loader refuses a location with nothing to show: no name/address/city/country/url
    # and not online.
    place["anyOf"] = [*({"required": [key]} for key in ("name", "address", "city", "country", "url")),
                      {"required": ["online"], "properties": {"online": {"const": True}}}]
    return {"description": DOCS["location"], "oneOf": [_text(), place]}


def _change() -> dict[str, Any]:
    """One item of `recurrence.changes` (sources/changes.py)."""
    change = _mapping({
        "occurrence": _string(WALL_CLOCK, "The occurrence's original date (or exact original "
                              "start date-time)."),
        "start": _string(WALL_CLOCK, "Moved: the new start."),
        "end": _string(WALL_CLOCK, "The new end (all-day: the last day, inclusive)."),
        "duration": _string(DURATION, "Timed series only, instead of 'end'."),
        "title": _text(),
        "summary": _text(one_line=False),
        "location": {k: v for k, v in _location().items() if k != "description"},
        "status": {"enum": [s.value for s in Status]},
    }, required=("occurrence",))
    # A cancelled occurrence is not moved (the loader refuses it), and 'end' or 'duration'.
    change["not"] = {"anyOf": [{"required": ["end", "duration"]}, {
        "properties": {"status": {"const": Status.CANCELLED.value}},
        "required": ["status"], "anyOf": [{"required": [k]} for k in ("start", "end", "duration")]}]}
    change["minProperties"] = 2
    return change


def event_schema(kinds: Iterable[str] = BUILTIN_KINDS) -> dict[str, Any]:
    """The JSON Schema of one event file, accepting `kinds`."""
    link = _mapping({"title": _text(), "url": _string(HTTP_URL)}, required=("title", "url"))
    properties: dict[str, Any] = {
        "id": _string(SLUG.pattern, DOCS["id"]),
        "title": _text(description=DOCS["title"]),
        "kind": {"enum": list(dict.fromkeys(kinds)), "description": DOCS["kind"]},
        "start": _string(WALL_CLOCK, DOCS["start"], examples=["2025-10-22", "2024-12-04 14:00"]),
        "end": _string(WALL_CLOCK, DOCS["end"]),
        "duration": _string(DURATION, DOCS["duration"], examples=["90m", "2h", "1h30m"]),
        "timezone": _string(ZONE_NAME, DOCS["timezone"],
                            examples=["America/Los_Angeles", "Europe/Paris", "Asia/Seoul"]),
        "status": {"enum": [s.value for s in Status], "default": Status.CONFIRMED.value,
                   "description": DOCS["status"]},
        "location": _location(),
        "url": _string(HTTP_URL, DOCS["url"]),
        "summary": _text(one_line=False, description=DOCS["summary"]),
        "description": _text(one_line=False, description=DOCS["description"]),
        "image": {**_mapping({"src": _text(), "alt": _text(description="What the picture shows.")},
                             required=("src", "alt")), "description": DOCS["image"]},
        "highlights": _list(_text(), DOCS["highlights"]),
        "links": _list(link, DOCS["links"]),
        "hosts": _list(_text(), DOCS["hosts"]),
        "tags": _list(_string(SLUG.pattern), DOCS["tags"]),
        "recurrence": {**_mapping({
            "rule": _string(RRULE, "e.g. FREQ=WEEKLY;BYDAY=WE;UNTIL=20251231T235959Z"),
            "except": _list(_string(WALL_CLOCK), "Dates (all-day) or date-times to skip."),
            "changes": _list(_change(), "Single occurrences moved, retitled or cancelled."),
        }, required=("rule",)), "description": DOCS["recurrence"]},
        "moved_from": _string(WALL_CLOCK, DOCS["moved_from"]),
    }
    schema = _mapping(properties, required=("title", "kind", "start"))
    # A timed event needs a zone and exactly one of end/duration; an all-day one takes no duration.
    schema["if"] = {"properties": {"start": {"pattern": DATETIME.pattern}}, "required": ["start"]}
    schema["then"] = {"required": ["timezone"],
                      "oneOf": [{"required": ["end"]}, {"required": ["duration"]}]}
    schema["else"] = {"not": {"required": ["duration"]}}
    return {"$schema": DRAFT, "$id": "https://pipeline.invalid/schemas/event.schema.json",
            "title": "Event file (events/**/*.yaml)",
            "description": "One event of the calendar and newsletter pipeline; see docs/formats.md.",
            **schema}


def render_schema(kinds: Iterable[str] = BUILTIN_KINDS) -> bytes:
    """The schema as the committed file's bytes (stable key order, final newline)."""
    return (json.dumps(event_schema(kinds), indent=2) + "\n").encode()


def main(argv: list[str] | None = None) -> int:
    """`python -m pipeline.schema [FILE]`: write the schema (default schemas/event.schema.json)."""
    from pipeline.errors import PipelineError
    from pipeline.sources.settings import load_settings

    parser = argparse.ArgumentParser(
        prog="python -m pipeline.schema",
        description="Write the JSON Schema of event files (built-in kinds plus those of "
                    "./pipeline.yaml), for editors that use yaml-language-server.")
    parser.add_argument("file", nargs="?", type=Path, default=SCHEMA_FILE,
                        help=f"where to write it (default: {SCHEMA_FILE})")
    target = parser.parse_args(argv).file
    try:
        kinds = load_settings(None).kinds  # ./pipeline.yaml's extra kinds, when it has some
    except PipelineError as error:
        error.show()
        return error.exit_code
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(render_schema(kinds))
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
