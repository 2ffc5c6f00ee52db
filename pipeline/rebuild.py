"""A rebuild of the event files that changed alone, patching the last build's snapshot.

When the last build's record still holds (the same arguments, the `now` window, the
manifest and ledger it published; pipeline/cache/run.py) and only event files changed
since, a rebuild needs nothing of the other events but what their feeds and listings hold
of them: the snapshot (pipeline/cache/snapshot.py). The changed files are parsed and their
pages and .ics made; the deleted ones' rows go; the feeds, the listings and events.json
are joined again from the rows' bytes, and the manifest and ledger changed by path. No
unchanged event is read, decoded or rendered.

A newsletter issue that may show a changed event (before or after the change) is
rendered again, its events decoded from the build cache as the full build does.

It publishes what the full build would, byte for byte (tests/test_rebuild.py holds it to a
cold build): whenever it could not be sure of that, `rebuild_changed` gives up before
anything is written and the full build runs. It gives up on a problem in a changed file
(the full build reports every problem), a symlinked file, a duplicate or reserved id, an
empty upcoming feed, and more changed files than `MAX_CHANGED_SHARE` allows.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import NamedTuple

import click

from pipeline.cache.run import RunInputs, last_run, remember_run
from pipeline.cache.snapshot import (
    Pieces,
    Row,
    Snapshot,
    ZoneKey,
    join_feed,
    moment,
    read_snapshot,
    write_snapshot,
    zone_spans,
)
from pipeline.errors import Problem
from pipeline.model import Event, Issue
from pipeline.publish.report import PublishReport, what_was_built
from pipeline.publish.writer import PublishRoot
from pipeline.sources.settings import Settings
from pipeline.web.content import EventCard
from pipeline.web.pages import Listed

MAX_CHANGED_SHARE = 50  # at most 2 + (events / this) changed files: more, the full build runs


class Changes(NamedTuple):
    """Which event files a rebuild must read, which rows it drops, which it keeps restated."""

    read: list[str]  # new files, and files whose content changed
    dropped: set[str]  # paths of the rows replaced or gone
    restat: dict[str, list[int]]  # files whose stat moved but not their content: the new stat


def changes_since(snapshot: Snapshot, inputs: RunInputs, clock_ns: int) -> Changes:
    """The event files to read and the rows they replace, with those of deleted files.

    A file whose stat is its row's, and older than the last run's clock, is unchanged; any
    other is hashed (git's racy-timestamp rule, cache/files.py), and read only when its
    content is not its row's.
    """
    from pipeline.cache.files import fingerprint

    stats = inputs.event_stats()
    rows = {row.path: row for row in snapshot.rows}
    read, restat = [], {}
    for path, stat in stats.items():
        row = rows.get(path)
        if row is not None and row.stat == stat and stat and max(stat[1], stat[3]) < clock_ns:
            continue
        found = row and fingerprint(Path(path), {"stat": row.stat, "digest": row.digest},
                                    clock_ns, stats)
        if row is not None and found and found[1] == row.digest:
            restat[path] = found[0]
        else:
            read.append(path)
    dropped = {path for path in read if path in rows} | (rows.keys() - stats.keys())
    return Changes(read, dropped, restat)


def rebuild_changed(inputs: RunInputs, now: dt.datetime, newsletters_dir: Path,
                    config: Path | None, site: Path | None, out_dir: Path,
                    cache_dir: Path | None, quiet: bool, lock_timeout: float | None,
                    started: float) -> bool:
    """Publish a rebuild of the changed event files alone; False (nothing written) when the
    full build must run instead."""
    from pipeline.calendar.stamps import LEDGER_FILE
    from pipeline.publish.manifest import MANIFEST
    from pipeline.publish.writer import JOURNAL, locked_root

    if cache_dir is None:
        return False
    record = last_run(inputs, now, out_dir, LEDGER_FILE, JOURNAL, MANIFEST, cache_dir)
    if (record is None or record.get("others") != inputs.others_digest()
            or inputs.newest_ns(others_only=True) >= record["clock_ns"]):
        return False  # (without a record there is nothing to lock: --out is not even made)
    snapshot = read_snapshot(cache_dir, str(record.get("snapshot") or ""))
    if snapshot is None:
        return False
    changes = changes_since(snapshot, inputs, record["clock_ns"])
    touched = len(changes.dropped.union(changes.read))  # a renamed file counts twice
    if touched > 2 + len(snapshot.rows) // MAX_CHANGED_SHARE or not (touched or changes.restat):
        return False
    with locked_root(out_dir, lock_timeout) as root:
        # Under the lock, the publish root must still be the one the snapshot was made with.
        if last_run(inputs, now, out_dir, LEDGER_FILE, JOURNAL, MANIFEST, cache_dir) != record:
            return False
        if not touched:  # files touched, none changed: their rows restated, nothing published
            seal = write_snapshot(cache_dir, _restated(snapshot, changes), fresh=False)
            until = record["next_change"] and dt.datetime.fromisoformat(record["next_change"])
            summary, next_change, warnings = str(record["summary"]), until, []
            report = PublishReport(unlisted=int(record["count"]), manifest_sha256=record["manifest"])
            state = {LEDGER_FILE: (out_dir / LEDGER_FILE).read_bytes()}
        else:
            patched = _patch(snapshot, changes, inputs, now, newsletters_dir, config, site,
                             out_dir, cache_dir)
            if patched is None:
                return False
            artifacts, gone, state, summary, next_snapshot, next_change, warnings = patched
            report = _publish(root, artifacts, gone, state, summary)
            if report is None:
                return False
            seal = write_snapshot(cache_dir, next_snapshot, fresh=False)
    for warning in warnings:  # as the full build says them
        click.echo(warning, err=True)
    remember_run(inputs, now, next_change, report.manifest_sha256, state[LEDGER_FILE], summary,
                 report.files, cache_dir, out_dir, MANIFEST, LEDGER_FILE, seal)
    report.seconds = time.perf_counter() - started  # the whole run's, as the line says
    if not quiet:
        report.echo(summary, False)
    return True


def _restated(snapshot: Snapshot, changes: Changes) -> Snapshot:
    """The snapshot with the new stat of each file touched but not changed."""
    rows = [row._replace(stat=changes.restat[row.path]) if row.path in changes.restat else row
            for row in snapshot.rows]
    return Snapshot(rows, snapshot.pieces, snapshot.heads, snapshot.zones, snapshot.feeds,
                    snapshot.issues, snapshot.lines, snapshot.pieces_file)


def _publish(root: PublishRoot, artifacts: dict[str, bytes], gone: set[str],
             state: dict[str, bytes], summary: str) -> PublishReport | None:
    """Publish by path; else (kept files, another manifest layout) the whole way."""
    report = root.publish_changes(artifacts, gone, state)
    if report is not None:
        return report
    previous = root.previous()
    if previous is None:
        return None
    unchanged = {path: (str(entry.get("sha256")), int(entry.get("bytes") or 0))
                 for path, entry in previous.items() if path not in artifacts
                 and path not in gone and entry.get("kept") is not True}
    return root.publish(artifacts, summary, quiet=True, state=state, trust_manifest=True,
                        unchanged=unchanged)


Patched = tuple[dict[str, bytes], set[str], dict[str, bytes], str, Snapshot, dt.datetime | None,
                list[str]]


def _patch(snapshot: Snapshot, changes: Changes, inputs: RunInputs, now: dt.datetime,
           newsletters_dir: Path, config: Path | None, site: Path | None, out_dir: Path,
           cache_dir: Path) -> Patched | None:
    """The files to publish, the paths to remove, the ledger, the summary line, the next
    snapshot, the `now` window's end and the warnings; None when the full build must run."""
    from pipeline.cache.files import ShownPaths, fingerprint
    from pipeline.cache.shares import decode_facts
    from pipeline.cache.snapshot import make_row
    from pipeline.calendar.feeds import event_uid, stamped_vevents, vevent_bytes
    from pipeline.calendar.links import UPCOMING_PATH, event_ics_path, event_page_path, feed_ics_path
    from pipeline.calendar.notices import vanished_events
    from pipeline.calendar.stamps import (
        LEDGER_FILE,
        ledger_bytes,
        patch_ledger,
        read_ledger,
        stamps_of,
    )
    from pipeline.errors import InvalidInput
    from pipeline.selection import feed_membership, may_look_ahead_to, recaps
    from pipeline.sources.events import load_event
    from pipeline.sources.issues import load_issues
    from pipeline.sources.settings import read_settings
    from pipeline.web.pages import FEEDS_FOLDER, build_changed_pages

    settings, problems = read_settings(config, site)
    try:
        issues = load_issues(newsletters_dir, settings)
    except InvalidInput:
        return None
    feeds = [UPCOMING_PATH, *(feed_ics_path(spec.id) for spec in settings.feeds)]
    if problems or len(issues) != snapshot.issues or feeds != snapshot.feeds:
        return None
    shown = ShownPaths()
    events, fingerprints = [], []
    for path in changes.read:
        # Its stat and hash before it is parsed: an edit after that shows in the next stat.
        file = None if os.path.islink(path) else fingerprint(Path(path), None, 0)
        found: list[Problem] = []
        event = load_event(Path(path), settings, found, shown(Path(path))) if file else None
        if event is None or found or file is None:
            return None  # the full build reports it
        events.append(event)
        fingerprints.append(file)
    restated = _restated(snapshot, changes)
    kept = [(row, pieces) for row, pieces in zip(restated.rows, restated.pieces, strict=True)
            if row.path not in changes.dropped]
    old_rows = [row for row in snapshot.rows if row.path in changes.dropped]
    ids = [event.id for event in events]
    kept_ids = {row.id for row, _ in kept}
    if (len(set(ids)) != len(ids) or not kept_ids.isdisjoint(ids) or FEEDS_FOLDER in ids
            or not (kept or events)):
        return None
    try:
        before = [decode_facts(row.facts) for row in old_rows]
    except (TypeError, ValueError):
        return None
    # The issues that may show an event before or after the change are rendered again.
    touching = [issue for issue in issues if any(
        recaps(facts, issue) or may_look_ahead_to(facts, issue)
        for facts in (*before, *(event.facts for event in events)))]
    # The ledger's records of these events alone, found by bisection (else all of it).
    uids = [*(event_uid(event, settings) for event in events),
            *(f"{row.id}@{settings.uid_host}" for row in old_rows)]
    try:
        ledger_data: bytes | None = (out_dir / LEDGER_FILE).read_bytes()
    except OSError:
        ledger_data = None
    known = stamps_of(ledger_data, uids) if ledger_data is not None else None
    ledger = known if known is not None else read_ledger(out_dir)
    vevents, stamps, _ = stamped_vevents([event.facts for event in events], {
        event.id: vevent_bytes(event, settings) for event in events}, settings, now, ledger)
    next_ledger = patch_ledger(ledger_data, stamps) if (
        known is not None and ledger_data is not None) else None
    membership = feed_membership(settings.feeds)
    bits = [membership(event.facts, now) for event in events]
    # The feeds an event leaves, enters or changes in (by bit): the others keep their files.
    feeds_changed = 0
    for feeds_of in [*(row.feeds for row in old_rows), *bits]:
        feeds_changed |= feeds_of
    web = build_changed_pages(events, [_listed(row, pieces) for row, pieces in kept], settings,
                              now, feeds_changed)
    made = [make_row(path, stat, digest, event.facts, vevents[event.id], web.events[event.id],
                     feeds_of)
            for path, (stat, digest), event, feeds_of in zip(changes.read, fingerprints, events,
                                                             bits, strict=True)]
    joined = sorted([*kept, *made],
                    key=lambda pair: (pair[0].start, pair[0].id))
    rows = [row for row, _ in joined]
    pieces = [made_pieces for _, made_pieces in joined]
    if not any(row.feeds & 1 for row in rows):
        return None  # the summary's empty-feed note: the full build's
    files, zones = _calendar_files(rows, pieces, set(ids), snapshot, feeds, feeds_changed)
    if touching:
        newsletters = _issue_files(issues, touching, rows, events, settings, now, inputs,
                                   cache_dir)
        if newsletters is None:
            return None
        files.update(newsletters)
    files.update(web.files)
    gone = {path for row in old_rows
            for path in (event_ics_path(row.id), event_page_path(row) + "index.html")}
    gone -= files.keys()
    # The full build's warning for each published event whose file is gone (said once).
    vanished = {row.id for row in old_rows} - set(ids)
    left = {uid: ledger[uid] for uid in (f"{event_id}@{settings.uid_host}" for event_id in vanished)
            if uid in ledger}
    warnings = vanished_events(left, [], settings, lambda p: (out_dir / p).is_file())
    summary = what_was_built(len(rows), len(feeds), len(issues))
    untils = [dt.datetime.fromisoformat(row.until) for row in rows if row.until]
    next_snapshot = Snapshot(rows, pieces, snapshot.heads, zones, feeds, len(issues),
                             snapshot.lines, snapshot.pieces_file)
    state = {LEDGER_FILE: next_ledger or ledger_bytes({**ledger, **stamps})}
    return files, gone, state, summary, next_snapshot, min(untils, default=None), warnings


def _issue_files(issues: tuple[Issue, ...], touching: list[Issue], rows: list[Row],
                 changed: list[Event], settings: Settings, now: dt.datetime,
                 inputs: RunInputs, cache_dir: Path) -> dict[str, bytes] | None:
    """The files of the `touching` issues, their archive and feed, as the full build renders
    them: each issue's events decoded from the build cache (or parsed, if a rebuild changed
    their file since), the changed ones as parsed; None if one cannot be read."""
    from pipeline.cache.events import EventCache
    from pipeline.cache.shares import decode_facts
    from pipeline.newsletter.issues import render_newsletter_files
    from pipeline.selection import issue_members
    from pipeline.sources.yamlsource import warnings_said

    facts = [decode_facts(row.facts) for row in rows]  # in the feeds' order, as the build's
    parsed = {event.id: event for event in changed}
    wanted = {event_id for issue in touching for event_id in issue_members(facts, issue)}
    cache = EventCache(cache_dir, now, inputs.files)
    problems: list[Problem] = []
    # These files are as the last run read them: one the cache does not have was changed by
    # an earlier rebuild, which showed its warnings. Read again, they would show every hour.
    with warnings_said():
        found = cache.load_facts([Path(row.path) for row in rows
                                  if row.id in wanted and row.id not in parsed], settings,
                                 problems)
    if problems or None in found:
        return None

    def events_of(issue: Issue) -> tuple[Event, ...]:
        return tuple(parsed.get(event_id) or cache.event(event_id)
                     for event_id in issue_members(facts, issue))

    kept = [issue.id for issue in issues if issue not in touching]
    return render_newsletter_files(issues, settings, events_of, kept)


def _calendar_files(rows: list[Row], pieces: list[Pieces], changed: set[str],
                    snapshot: Snapshot, feeds: list[str], feeds_changed: int,
                    ) -> tuple[dict[str, bytes], dict[ZoneKey, bytes]]:
    """The feeds, joined from their heads, VTIMEZONEs and the rows' VEVENTs (in row order),
    and the .ics of each event in `changed` (ids) or in a zone whose VTIMEZONE changed; and
    each zone's VTIMEZONE, made again when its span moved. A feed whose bit is not in
    `feeds_changed` is left out when none of its VTIMEZONEs changed: its bytes are the
    published ones."""
    from pipeline.calendar.feeds import event_file, vtimezone_bytes
    from pipeline.calendar.links import event_ics_path

    zones = {key: snapshot.zones.get(key) or vtimezone_bytes(
        key[0], moment(key[1]), None if key[2] is None else moment(key[2]))
        for key in zone_spans(rows)}
    texts = {zone: text for (zone, _, _), text in zones.items()}
    before = {zone: text for (zone, _, _), text in snapshot.zones.items()}
    held: list[list[bytes]] = [[] for _ in feeds]
    named: list[set[str]] = [set() for _ in feeds]  # the zones each feed's events name
    files = {}
    for row, (vevent, _, _) in zip(rows, pieces, strict=True):
        bits, bit = row.feeds, 0
        while bits:
            if bits & 1:
                held[bit].append(vevent)
                if row.zone:
                    named[bit].add(row.zone)
            bits, bit = bits >> 1, bit + 1
        if row.id in changed or (row.zone and texts[row.zone] != before.get(row.zone)):
            files[event_ics_path(row.id)] = event_file(vevent, texts.get(row.zone))
    for bit, path in enumerate(feeds):
        if not feeds_changed >> bit & 1 and all(texts[zone] == before.get(zone)
                                                for zone in named[bit]):
            continue
        files[path] = join_feed(snapshot.heads[bit], [texts[zone] for zone in sorted(named[bit])],
                                held[bit])
    return files, zones


def _listed(row: Row, pieces: Pieces) -> Listed:
    """An unchanged event's listing entry, from its row and pieces."""
    url, upcoming, year, sort_at = row.card
    card = EventCard(url, upcoming, year, (dt.datetime.fromisoformat(sort_at), row.id), pieces[1])
    return Listed(card, pieces[2], row.feeds)
