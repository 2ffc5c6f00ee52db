"""Each newsletter issue's record: what its files were made of, and their hashes.

An issue's files are a function of the issue, the settings, the e-mail theme and the events
it may show (selection.issue_members): the record keys them by all of those, the events by
their files' cache keys. A rebuild whose key for an issue is the recorded one keeps that
issue's files as published (by their recorded hashes) and decodes none of its events.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pipeline.cache import records
from pipeline.cache.place import read_private, write_private
from pipeline.cache.version import code_version
from pipeline.model import Issue
from pipeline.sources.settings import Settings
from pipeline.sources.site import theme_fingerprint

ISSUES = "issues.jsonl"
Recorded = tuple[str, int]  # a file's SHA-256 and size


def issue_keys(issues: Iterable[Issue], settings: Settings,
               members: Callable[[Issue], Iterable[tuple[str, str | None]]],
               ) -> dict[str, str | None]:
    """Each issue's key, by id; `members(issue)`: (id, cache key) of each event it may show.

    None when one of those events has no cache key. The e-mail theme is hashed once for all.
    """
    shared = f"{code_version()}|{settings!r}|{theme_fingerprint(settings.site, 'email')}|"
    keys: dict[str, str | None] = {}
    for issue in issues:
        events = sorted(members(issue))
        if any(key is None for _, key in events):
            keys[issue.id] = None
            continue
        digest = hashlib.sha256(f"{shared}{issue!r}".encode())
        for event_id, key in events:
            digest.update(f"|{event_id}={key}".encode())
        keys[issue.id] = digest.hexdigest()
    return keys


class IssueRecords:
    """The last build's record of each issue, and this build's, saved together."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._read: dict[str, dict[str, Any]] = {}
        self._next: dict[str, dict[str, Any]] = {}
        found = read_private(directory / ISSUES, 1 << 28) if directory is not None else None
        loaded = records.load(code_version(), found[0]) if found else None
        for value, _ in loaded[1] if loaded else ():
            if isinstance(value, dict) and isinstance(value.get("issue"), str):
                self._read[value["issue"]] = value

    def kept(self, issue_id: str, key: str | None) -> dict[str, Recorded] | None:
        """The files (path -> hash, size) the issue made with `key`, if the record has them."""
        record = self._read.get(issue_id)
        if key is None or record is None or record.get("key") != key:
            return None
        try:
            files = {str(path): (str(digest), int(size))
                     for path, (digest, size) in record["files"].items()}
        except (AttributeError, TypeError, ValueError):
            return None
        if not all(path.startswith(f"newsletter/{issue_id}/") for path in files):
            return None
        self._next[issue_id] = record
        return files

    def remember(self, issue_id: str, key: str | None, files: Mapping[str, bytes]) -> None:
        """Record the files an issue made (nothing without a key)."""
        if key is not None:
            self._next[issue_id] = {"issue": issue_id, "key": key, "files": {
                path: [hashlib.sha256(data).hexdigest(), len(data)]
                for path, data in sorted(files.items())}}

    def save(self) -> None:
        """Keep this build's records (an unchanged set is not written again)."""
        if self.directory is None or self._next == self._read:
            return
        data = records.dump(code_version(), {"kind": "issues"},
                            [self._next[name] for name in sorted(self._next)])
        write_private(self.directory / ISSUES, data)
