"""The build: gather and validate every input, render everything in memory, then publish."""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections.abc import Callable, Collection, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pipeline.calendar.stamps import EMPTY_LEDGER, Ledger
from pipeline.publish.report import plural, what_was_built

if TYPE_CHECKING:  # loading imports dateutil and icalendar: not for `pipeline --version`,
    # nor for a build that stops at the stats (pipeline/cache/run.py)
    from pipeline.cache.events import EventCache
    from pipeline.cache.run import RunInputs
    from pipeline.calendar.feeds import Calendars
    from pipeline.model import Event, EventFacts, Issue
    from pipeline.sources.events import LoadFiles
    from pipeline.sources.settings import Settings
    from pipeline.web.pages import WebBuild
    from pipeline.web.rendered import EventWeb

Artifacts = dict[str, bytes]  # path under the publish root -> bytes
Loaded = TypeVar("Loaded")  # what the events folder is read as: Events, or EventFacts


def load_inputs(events_dir: Path, newsletters_dir: Path | None, config: Path | None,
                load: LoadFiles | None = None, site: Path | None = None,
                ) -> tuple[tuple[Event, ...], tuple[Issue, ...], Settings]:
    """Settings, events and issues, validated; raises InvalidInput listing every problem.

    `load` reads a list of event files (default: loading.load_files; the build's cache).
    `site`: the site folder, whose templates/email/ override the packaged theme.
    """
    from pipeline.sources.events import load_events, load_files

    return _gather(lambda settings: load_events(events_dir, settings, load or load_files),
                   newsletters_dir, config, site)


def load_facts(events_dir: Path, newsletters_dir: Path, config: Path | None, cache: EventCache,
               site: Path | None) -> tuple[tuple[EventFacts, ...], tuple[Issue, ...], Settings]:
    """load_inputs through the build cache: each event's facts, its Event decoded on demand."""
    from pipeline.sources.events import load_event_facts

    return _gather(lambda settings: load_event_facts(events_dir, settings, cache.load_facts),
                   newsletters_dir, config, site)


def _gather(read_events: Callable[[Settings], tuple[Loaded, ...]], newsletters_dir: Path | None,
            config: Path | None, site: Path | None,
            ) -> tuple[tuple[Loaded, ...], tuple[Issue, ...], Settings]:
    from pipeline.errors import InvalidInput
    from pipeline.sources.issues import load_issues
    from pipeline.sources.settings import read_settings

    # Settings with problems still give the other files a check: every problem, one run.
    settings, problems = read_settings(config, site)
    events: tuple[Loaded, ...] = ()
    issues: tuple[Issue, ...] = ()
    # Both folders are checked even when the first has problems, for the same reason.
    try:
        events = read_events(settings)
    except InvalidInput as error:
        problems += error.problems
    if newsletters_dir is not None:
        try:
            issues = load_issues(newsletters_dir, settings)
        except InvalidInput as error:
            problems += error.problems
    if problems:
        raise InvalidInput(problems)
    return events, issues, settings


def render_site(events: tuple[Event, ...], issues: tuple[Issue, ...], settings: Settings,
                now: dt.datetime, vevents: Mapping[str, bytes] | None = None,
                zone_memo: MutableMapping[tuple, bytes] | None = None,
                ledger: Ledger = EMPTY_LEDGER) -> tuple[Artifacts, Ledger]:
    """Every artifact of the publish root except the manifest, as bytes; and the next ledger.

    `ledger`: the publication ledger of the previous build, for the calendar's stamps; the
    one returned is what the publish root's ledger becomes once the artifacts are published.
    `vevents` and `zone_memo`: the build cache's serialized VEVENTs and VTIMEZONEs.
    """
    from pipeline.calendar.feeds import render_calendars_and_ledger

    calendars, next_ledger = render_calendars_and_ledger(events, settings, now, vevents,
                                                         zone_memo, ledger)
    return {**calendars, **render_all_unstamped(events, issues, settings, now)}, next_ledger


def render_all_unstamped(events: tuple[Event, ...], issues: tuple[Issue, ...],
                         settings: Settings, now: dt.datetime) -> Artifacts:
    """render_unstamped's files when nothing is kept from an earlier build."""
    by_id = {event.id: event for event in events}
    return render_unstamped([e.facts for e in events], issues, settings, now,
                            by_id.__getitem__).files


def render_unstamped(events: Sequence[EventFacts], issues: tuple[Issue, ...], settings: Settings,
                     now: dt.datetime, resolve: Callable[[str], Event],
                     known: Mapping[str, EventWeb] | None = None,
                     kept_issues: Collection[str] = ()) -> WebBuild:
    """The artifacts that do not read the publication ledger: newsletters and event pages.

    The one list of them that `build`, `check` and `render_site` share, so that a new
    generator cannot be left out of one (event pages once were, from `build`).
    `resolve` gives the Event of an id; `known`: the build cache's web shares (see
    web.pages.build_pages); `kept_issues`: ids of issues whose files are not rendered again.
    """
    from pipeline.newsletter.issues import render_newsletter_files
    from pipeline.selection import issue_members
    from pipeline.web.pages import build_pages

    web = build_pages(events, settings, now, resolve, known)
    web.files.update(render_newsletter_files(
        issues, settings, lambda issue: tuple(map(resolve, issue_members(events, issue))),
        kept_issues))
    return web


def check_site(events_dir: Path, newsletters_dir: Path, config: Path | None,
               site: Path | None, now: dt.datetime) -> str:
    """`pipeline check`: validate, then render every issue and page in memory (nothing is written).

    Rendering finds what only rendering can: template mistakes, MJML errors, bad links.
    """
    events, issues, settings = load_inputs(events_dir, newsletters_dir, config, site=site)
    render_all_unstamped(events, issues, settings, now)
    return f"ok: {plural(len(events), 'event')}, {plural(len(issues), 'newsletter issue')}"


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off for a build, as it was before afterwards.

    A rebuild holds a few objects per event (10k events: about a million) and makes few
    cycles; each collection walks the objects held, which cost a 10k edit 1.5 s of its 4.9 s.
    Measured at 10k: the cold build's peak memory is the same with the collector off.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # What the build allocated goes to the oldest generation unwalked (freeze, then
            # unfreeze): enabled as it stood, the next allocation walked all of it at once,
            # 0.05 s of a 10k rebuild. Its cycles wait for the next full collection.
            gc.freeze()
            gc.enable()
            gc.unfreeze()


def build_site(events_dir: Path, newsletters_dir: Path, out_dir: Path, now: dt.datetime,
               config: Path | None, quiet: bool = False, verbose: bool = False,
               lock_timeout: float | None = None, site: Path | None = None,
               allow_empty: bool = False, started: float | None = None) -> None:
    """`pipeline build`: nothing under `out_dir` changes unless everything rendered.

    `started`: the time.perf_counter() of the run's start, for the summary line's time.
    """
    with collector_paused():
        _build_site(events_dir, newsletters_dir, out_dir, now, config, quiet, verbose,
                    lock_timeout, site, allow_empty, started)


def _build_site(events_dir: Path, newsletters_dir: Path, out_dir: Path, now: dt.datetime,
                config: Path | None, quiet: bool, verbose: bool, lock_timeout: float | None,
                site: Path | None, allow_empty: bool, started: float | None) -> None:
    from pipeline.cache import cache_dir_for
    from pipeline.cache.run import RunInputs

    started = time.perf_counter() if started is None else started
    cache_dir = cache_dir_for(out_dir)
    # Stats of every input first: a build whose inputs, window of `now` and publish root are
    # those of the last one stops here (pipeline/cache/run.py), before importing the parsers.
    inputs = RunInputs.of(events_dir, newsletters_dir, config, out_dir, cache_dir, site)
    if not verbose and _unchanged(inputs, now, out_dir, cache_dir, quiet, started):
        return
    from pipeline.rebuild import rebuild_changed

    # Only event files changed: their pages and .ics, the feeds and listings patched.
    if not verbose and rebuild_changed(inputs, now, newsletters_dir, config, site, out_dir,
                                       cache_dir, quiet, lock_timeout, started):
        return
    from pipeline.cache.events import EventCache
    from pipeline.cache.issues import IssueRecords
    from pipeline.cache.run import remember_run
    from pipeline.calendar.feeds import assemble_calendars
    from pipeline.calendar.links import event_ics_path
    from pipeline.calendar.stamps import LEDGER_FILE, ledger_bytes, read_ledger
    from pipeline.publish.manifest import MANIFEST
    from pipeline.publish.writer import locked_root

    # Unchanged event files are neither parsed nor decoded, their pages not rendered again,
    # and issues none of whose events changed are kept (see pipeline/cache/).
    cache = EventCache(cache_dir, now, inputs.files)
    events, issues, settings = load_facts(events_dir, newsletters_dir, config, cache, site)
    issue_records = IssueRecords(cache_dir if cache.usable else None)
    keys = _issue_keys(events, issues, settings, cache)
    kept = {issue.id: files for issue in issues
            if (files := issue_records.kept(issue.id, keys[issue.id])) is not None}
    # Newsletters and pages do not depend on the ledger: rendered before the lock, not holding it.
    web = render_unstamped(events, issues, settings, now, cache.event, cache.web, kept)
    unchanged = {**web.unchanged, **{path: recorded for files in kept.values()
                                     for path, recorded in files.items()}}
    with locked_root(out_dir, lock_timeout) as root:
        # What is kept from the last build must still be published as it was recorded: a file
        # another build replaced, or an interrupted publish may have left, is rendered again.
        stale = root.stale(unchanged)
        if stale:
            web.files.update(_render_stale(stale, events, issues, settings, now, cache))
            unchanged = {path: recorded for path, recorded in unchanged.items()
                         if path not in web.files}  # an issue's other files come along
        cache.forget_events()  # every page is rendered: what follows reads facts and bytes
        for issue in issues:
            if issue.id not in kept or any(path in stale for path in kept[issue.id]):
                issue_records.remember(issue.id, keys[issue.id], {
                    path: data for path, data in web.files.items()
                    if path.startswith(f"newsletter/{issue.id}/")})
        # Each event's DTSTAMP/LAST-MODIFIED/SEQUENCE come from the ledger the last build
        # published. Read, render and publish under one lock: a build overlapping ours
        # published either entirely before (we read its ledger) or entirely after (it reads
        # ours). Rendering the feeds is a small part of a build (the parsing above is most of
        # it), so holding the lock for it is cheaper than redoing it when the ledger moved.
        ledger = read_ledger(out_dir)
        if not events and not allow_empty:
            refuse_emptying(out_dir, events_dir)
        calendars = assemble_calendars(events, cache.vevents, settings, now, cache.zones, ledger,
                                       cache.ics)
        if stale_ics := root.stale(calendars.unchanged):  # replaced since: made again
            calendars = assemble_calendars(events, cache.vevents, settings, now, cache.zones,
                                           ledger, {event_id: record for event_id, record
                                                    in cache.ics.items()
                                                    if event_ics_path(event_id) not in stale_ics})
        unchanged.update(calendars.unchanged)
        artifacts = {**calendars.files, **web.files}
        notes = _calendar_notices(events, settings, now, ledger, out_dir)
        state = {LEDGER_FILE: ledger_bytes(calendars.ledger)}
        feeds = sum(1 for path in calendars.files if path.count("/") == 1)
        summary = what_was_built(len(events), feeds, len(issues), notes)
        # Each event's share knows when it next changes: the first of those is the run's.
        next_change = min((share.until for share in web.events.values() if share.until),
                          default=None)
        shares, ics_records = web.events, calendars.records
        seal = _write_snapshot(events, cache, inputs, calendars, web, settings, now, len(issues))
        # Publishing needs only the bytes: letting the parsed events go first keeps them out
        # of the build's peak memory (the manifest is made there; 100k: 170 MB).
        del events, issues, ledger, calendars, web
        try:  # quiet: the summary line is printed once the cache is saved, timing it too
            report = root.publish(artifacts, summary, quiet=True, state=state,
                                  trust_manifest=True,  # by recorded hash
                                  unchanged=unchanged)
        finally:
            # The cache once the pages are let go (100k events: 1.5 GB of output), also when
            # publishing failed: its records need only the shares, and say what each file
            # was made of, not that it was published (the next build checks the root).
            # After the calendars: rendering them filled its VEVENTs and VTIMEZONEs.
            del artifacts
            cache.save(shares, ics_records)
            issue_records.save()
    remember_run(inputs, now, next_change, report.manifest_sha256, state[LEDGER_FILE], summary,
                 report.files, cache_dir, out_dir, MANIFEST, LEDGER_FILE, seal)
    report.seconds = time.perf_counter() - started  # the whole run's, as the line says
    if not quiet:
        report.echo(summary, verbose)


def _write_snapshot(events: Sequence[EventFacts], cache: EventCache, inputs: RunInputs,
                    calendars: Calendars, web: WebBuild, settings: Settings, now: dt.datetime,
                    issues: int) -> str:
    """What the next delta rebuild starts from (pipeline/rebuild.py); its seal ('': none)."""
    from pipeline.cache.snapshot import snapshot_of, write_snapshot
    from pipeline.calendar.links import UPCOMING_PATH, feed_ics_path

    if not cache.usable or cache.directory is None:
        return ""
    feeds = [UPCOMING_PATH, *(feed_ics_path(spec.id) for spec in settings.feeds)]
    snapshot = snapshot_of(events, cache.file_paths(), inputs.files, calendars.vevents,
                           web.events, {path: calendars.files[path] for path in feeds},
                           calendars.zones, settings, now, issues)
    return "" if snapshot is None else write_snapshot(cache.directory, snapshot, fresh=True)


def _issue_keys(events: Sequence[EventFacts], issues: tuple[Issue, ...], settings: Settings,
                cache: EventCache) -> dict[str, str | None]:
    """Each issue's record key (cache/issues.py): its events are those it may show."""
    from pipeline.cache.issues import issue_keys
    from pipeline.selection import issue_members

    return issue_keys(issues, settings, lambda issue: [
        (event_id, cache.key_of(event_id)) for event_id in issue_members(events, issue)])


def _render_stale(stale: set[str], events: Sequence[EventFacts], issues: tuple[Issue, ...],
                  settings: Settings, now: dt.datetime, cache: EventCache) -> Artifacts:
    """The kept files the publish root does not hold as recorded, rendered again."""
    from pipeline.calendar.links import event_page_path
    from pipeline.newsletter.issues import render_newsletter_files
    from pipeline.selection import issue_members
    from pipeline.web.pages import render_event_pages

    files = render_event_pages([cache.event(event.id) for event in events
                                if f"{event_page_path(event)}index.html" in stale], settings, now)
    again = tuple(issue for issue in issues
                  if any(path.startswith(f"newsletter/{issue.id}/") for path in stale))
    rendered = render_newsletter_files(again, settings, lambda issue: tuple(
        map(cache.event, issue_members(events, issue))))
    files.update({path: data for path, data in rendered.items()
                  if path.startswith("newsletter/") and path.count("/") == 2})
    return files


def refuse_emptying(out_dir: Path, events_dir: Path) -> None:
    """An events folder emptied by mistake must not unpublish every event the last build did."""
    from pipeline.errors import PipelineError, display_path
    from pipeline.publish.manifest import read_manifest

    # One file per event under calendar/events/ (calendar.links.event_ics_path).
    published = sum(1 for path in read_manifest(out_dir) or {}
                    if path.startswith("calendar/events/"))
    if published:
        raise PipelineError(
            f"{display_path(events_dir)} has no events, but the last build published "
            f"{plural(published, 'event')}; this build would remove them all from the feeds. "
            "Pass --allow-empty if that is what you want; nothing was published")


def _calendar_notices(events: Sequence[EventFacts], settings: Settings, now: dt.datetime,
                      ledger: Ledger, out_dir: Path) -> list[str]:
    """Warn (stderr) about published events that vanished; the summary's note on empty feeds."""
    import click

    from pipeline.calendar.notices import empty_feed_note, vanished_events

    for warning in vanished_events(ledger, events, settings, lambda p: (out_dir / p).is_file()):
        click.echo(warning, err=True)
    note = empty_feed_note(events, now)
    return [note] if note else []


def _unchanged(inputs: RunInputs, now: dt.datetime, out_dir: Path, cache_dir: Path | None, quiet: bool,
               started: float) -> bool:
    """True (and the summary printed) when the last build's record says nothing would change."""
    import click

    from pipeline.cache.run import unchanged_run
    from pipeline.calendar.stamps import LEDGER_FILE
    from pipeline.publish.manifest import MANIFEST
    from pipeline.publish.report import PublishReport
    from pipeline.publish.writer import JOURNAL

    record = unchanged_run(inputs, now, out_dir, LEDGER_FILE, JOURNAL, MANIFEST, cache_dir)
    if record is None:
        return False
    if not quiet:
        report = PublishReport(unchanged=[""] * int(record["count"]))
        report.seconds = time.perf_counter() - started
        click.echo(report.summary_line(str(record["summary"])))
    return True


def build_adhoc_issue(start: dt.date, end: dt.date, title: str | None, events_dir: Path,
                      out_dir: Path, now: dt.datetime, config: Path | None,
                      quiet: bool = False, verbose: bool = False,
                      lock_timeout: float | None = None, site: Path | None = None) -> None:
    """`pipeline newsletter`: one issue of the events between two dates, dated `now`."""
    from pipeline.locales import localizer
    from pipeline.model import Issue
    from pipeline.newsletter.issues import render_issue_files
    from pipeline.publish.writer import publish

    events, _, settings = load_inputs(events_dir, None, config, site=site)
    words = localizer(settings.locale)
    default_title = words.gettext("Events of %(period)s") % {"period": words.days(start, end)}
    issue = Issue(id=f"events-{start:%Y-%m-%d}-to-{end:%Y-%m-%d}", title=title or default_title,
                  date=now.date(), period_start=start, period_end=end, source="--from/--to")
    artifacts = render_issue_files(events, issue, settings, now)
    # An ad-hoc issue is added beside what `build` published; it removes nothing.
    publish(artifacts, out_dir, summary=f"issue {issue.id}", prune=False, quiet=quiet,
            verbose=verbose, lock_timeout=lock_timeout)
