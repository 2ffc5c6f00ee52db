"""Drafts as event-file text in the documented key order, and the one place the import writes."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from pipeline.importer.draft import Change, Draft, Moment

ORDER = ("id", "title", "kind", "start", "end", "duration", "timezone", "status", "location",
         "url", "summary", "description", "image", "highlights", "links", "hosts", "tags",
         "recurrence", "moved_from", "source_uid")
# What a person may add that no calendar has: kept from the existing file on --update.
EDITORIAL = ("kind", "image", "highlights", "links", "hosts")


class _Dumper(yaml.SafeDumper):
    """Dates and times stay plain (the loader reads them as text); long text as '|' blocks."""


# Without the timestamp resolver, 2025-03-13 is written bare instead of '2025-03-13'.
_Dumper.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeDumper.yaml_implicit_resolvers.items()}


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def moment_text(value: Moment) -> str:
    """A date as YYYY-MM-DD, a wall-clock time as YYYY-MM-DD HH:MM (:SS when it has seconds)."""
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}" if value.second else f"{value:%Y-%m-%d %H:%M}"
    return f"{value:%Y-%m-%d}"


def _change(change: Change, series_time: dt.time | None) -> dict[str, Any]:
    item: dict[str, Any] = {"occurrence": moment_text(change.occurrence)}
    if isinstance(change.occurrence, dt.datetime) and change.occurrence.time() == series_time:
        item["occurrence"] = moment_text(change.occurrence.date())  # the loader's short form
    for key in ("start", "end"):
        value = getattr(change, key)
        if value is not None:
            item[key] = moment_text(value)
    for key in ("title", "summary", "location", "status"):
        if getattr(change, key):
            item[key] = getattr(change, key)
    return item


def plain(value: Any) -> Any:
    """yamlsource's Mapping/Sequence (dict/list subclasses) as plain values PyYAML can write."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def render(draft: Draft, event_id: str, kept: dict[str, Any] | None = None) -> str:
    """The event file's text; `kept`: editorial keys of the existing file, left as they are."""
    data: dict[str, Any] = {
        "id": event_id, "title": draft.title, "kind": draft.kind,
        "start": moment_text(draft.start),
        "end": moment_text(draft.end) if draft.end is not None else None,
        "duration": draft.duration, "timezone": draft.timezone, "status": draft.status,
        "location": draft.location, "url": draft.url, "summary": draft.summary,
        "description": draft.description, "tags": list(draft.tags) or None,
        "source_uid": draft.source_uid,
    }
    if draft.rule:
        recurrence: dict[str, Any] = {"rule": draft.rule}
        if draft.exceptions:
            # A timed series' skipped day at the usual time needs no time (the loader's rule).
            recurrence["except"] = [
                moment_text(m.date() if isinstance(m, dt.datetime) and isinstance(draft.start, dt.datetime)
                            and m.time() == draft.start.time() else m) for m in draft.exceptions]
        if draft.changes:
            usual = draft.start.time() if isinstance(draft.start, dt.datetime) else None
            recurrence["changes"] = [_change(c, usual) for c in draft.changes]
        data["recurrence"] = recurrence
    for key, value in (kept or {}).items():
        if key in EDITORIAL and value is not None:
            data[key] = plain(value)
    ordered = {key: data[key] for key in ORDER if data.get(key) is not None}
    return yaml.dump(ordered, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)


def changed_keys(old: str, new: str) -> str:
    """A one-line summary of what differs between two event files, key by key."""
    try:
        before, after = yaml.safe_load(old) or {}, yaml.safe_load(new) or {}
    except yaml.YAMLError:
        return "the old file was not YAML; rewritten whole"
    if not isinstance(before, dict):
        return "the old file was not a mapping; rewritten whole"
    parts = []
    for word, keys in (("changed", [k for k in after if k in before and before[k] != after[k]]),
                       ("added", [k for k in after if k not in before]),
                       ("removed", [k for k in before if k not in after])):
        shown = []
        for key in keys:
            inner_before, inner_after = before.get(key), after.get(key)
            if word == "changed" and isinstance(inner_before, dict) and isinstance(inner_after, dict):
                shown += [f"{key}.{k}" for k in sorted(set(inner_before) | set(inner_after))
                          if inner_before.get(k) != inner_after.get(k)]
            else:
                shown.append(key)
        if shown:
            parts.append(f"{word}: {', '.join(shown)}")
    return "; ".join(parts) or "formatting only"


def write_event(path: Path, text: str, update: bool) -> tuple[str, str]:
    """Write one event file atomically; (outcome, detail). Never overwrites without `update`."""
    data = text.encode("utf-8")
    if path.exists():
        old = path.read_bytes()
        if old == data:
            return "unchanged", ""
        summary = changed_keys(old.decode("utf-8", errors="replace"), text)
        if not update:
            return "kept", f"the source differs ({summary}); pass --update to overwrite"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if path.exists():
            os.replace(temp, path)
            return "updated", summary
        os.link(temp, path)  # fails if another process created it meanwhile: nothing overwritten
        return "new", ""
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
