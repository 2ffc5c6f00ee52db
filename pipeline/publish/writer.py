"""The publish step: the only code that writes under --out; atomic, churn-free, pruned, locked.

Every write goes through folders.RootFolders: no symlink inside the root is ever followed.

What "consistent" means, also after a crash (power loss, kill -9) at any point:

1. Every file under the publish root is whole: byte for byte either its previous or its
   new version (each is written to a temp file in the same folder, made durable, then
   renamed over the old one with os.replace). A batch of staged files is made durable with
   one os.sync() before the first rename instead of one fsync each: 10k fsyncs took 4-26 s.
   Renames are made durable by fsyncing their folders, or by one os.sync() after the
   renames when more than SYNC_FROM_FOLDERS folders were touched (a cold build's pages).
2. manifest.json is always a whole JSON document and is written last: it describes the
   last publish that finished. If a run dies midway, the only files that may differ from
   it are those listed in the journal `.publish-journal.json`, which the run wrote (and
   fsynced) before touching any published file and deletes once the manifest is written.
3. The next run repairs everything: it compares real bytes (with `trust_manifest`, the
   manifest's hashes, but never while a journal exists), rewrites what differs, and treats
   both the previous manifest's paths and the journal's paths as its own when it prunes.
   Files it never wrote (not in either) are never deleted.

New files are staged (written + fsynced under temporary dot-names) before the first rename,
so a failure while staging leaves the published files untouched, and the window in which
old and new versions are mixed is only as long as a burst of renames.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import click

from pipeline.errors import PipelineError, display_path
from pipeline.publish.folders import TEMP_SUFFIX, RootFolders
from pipeline.publish.lock import output_lock
from pipeline.publish.manifest import (
    MANIFEST,
    manifest_bytes,
    manifest_entry,
    patch_manifest,
    read_manifest,
    recorded_claims,
)
from pipeline.publish.paths import JOURNAL, is_safe, validate_paths, validate_state_names
from pipeline.publish.report import Progress, PublishReport

Recorded = tuple[str, int]  # an artifact's SHA-256 and size, as the manifest records them
# Past this many folders touched, one os.sync() makes the renames durable, not an fsync each:
# a delta rebuild touches a handful, and stays off the rest of the system's dirty data.
SYNC_FROM_FOLDERS = 16


def _read_journal(folders: RootFolders) -> set[str]:
    """Paths an interrupted earlier run was writing or removing (ours to prune)."""
    try:
        data = folders.read(JOURNAL)
        return set(json.loads(data)["paths"]) if data is not None else set()
    except (ValueError, KeyError, TypeError):
        return set()


def _names_in(folders: RootFolders, folder: str) -> frozenset[str]:
    """The names in `folder` (none if it is missing), once the temp files a killed run
    left there are deleted (we hold the lock: none are in use).

    One listing per folder serves both, and spares a failed open per new file (most of them
    in a cold build) when the caller asks which targets exist.
    """
    listed = folders.names(folder)
    stale = {name for name in listed if name.startswith(".") and name.endswith(TEMP_SUFFIX)}
    folders.unlink_all(f"{folder}/{name}" if folder else name for name in stale)
    return listed - stale


def _stage(folders: RootFolders, path: str, data: bytes, mode: int, sync: bool = True) -> str:
    """Write `data` to a new temp dot-file beside `path` (fsynced if `sync`); return its path."""
    return folders.stage(path, data, mode, sync)


def _write_root_file(folders: RootFolders, name: str, data: bytes, mode: int = 0o644) -> None:
    """Replace the root's file `name` so that readers see the old or the new file, never half."""
    temp = _stage(folders, name, data, mode)
    try:
        folders.replace(temp, name)
    except BaseException:
        folders.unlink(temp)
        raise
    folders.fsync("")


def _file_mode() -> int:
    """0666 minus the process umask: what a plain open() would have created."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def prepare_root(out_dir: Path) -> None:
    """Create the publish root if missing; one-line errors for a file, a dangling link, no access."""
    shown = display_path(out_dir)
    if out_dir.is_symlink() and not out_dir.exists():
        raise PipelineError(f"--out {shown} is a symbolic link to {os.readlink(out_dir)}, which "
                            "does not exist; create that folder or point --out elsewhere")
    if out_dir.exists() and not out_dir.is_dir():
        raise PipelineError(f"--out {shown} is a file, not a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PipelineError(f"cannot write to --out {shown}: {error.strerror}; nothing was "
                            "published") from None


class PublishRoot:
    """A publish root whose lock this process holds: read its state, then publish into it."""

    def __init__(self, out_dir: Path, folders: RootFolders) -> None:
        self.out_dir = out_dir
        self._folders = folders
        self._previous: list[dict[str, dict[str, object]] | None] = []
        self._claims: dict[str, tuple[object, object]] | None = None

    def previous(self) -> dict[str, dict[str, object]] | None:
        """The manifest of the last finished publish (read once); None when unreadable."""
        if not self._previous:
            self._previous.append(read_manifest(self.out_dir))
        return self._previous[0]

    def stale(self, unchanged: Mapping[str, Recorded]) -> set[str]:
        """The paths of `unchanged` this root may not hold as recorded: render those again.

        All of them after an interrupted publish (its journal), else those the manifest
        lists with another hash or size, or not at all.
        """
        if JOURNAL in self._folders.names(""):
            return set(unchanged)
        if self._claims is None:  # made once: a build checks 20k claims three times
            self._claims = recorded_claims(self.previous() or {})
        return {path for path, claim in unchanged.items() if self._claims.get(path) != claim}

    def publish(self, artifacts: Mapping[str, bytes], summary: str = "", *, quiet: bool = False,
                verbose: bool = False, prune: bool = True,
                state: Mapping[str, bytes] | None = None, started: float | None = None,
                trust_manifest: bool = False,
                unchanged: Mapping[str, Recorded] | None = None) -> PublishReport:
        """Write `artifacts` and `state` into this root; see `publish`.

        `unchanged`: paths (-> SHA-256 and size) the caller did not render again because
        their inputs did not change; none of them may be `stale`. They are kept as they are.
        """
        started = time.perf_counter() if started is None else started
        unchanged = unchanged or {}
        validate_paths([*artifacts, *unchanged])
        validate_state_names(state or {})
        if self.stale(unchanged) or not unchanged.keys().isdisjoint(artifacts):
            raise PipelineError("cannot publish: a file kept as published is not (a bug)")
        report = PublishReport()
        try:
            _publish_locked(artifacts, self.out_dir, self._folders, prune, quiet, report,
                            trust_manifest, self.previous(), unchanged)
            self._write_state(state or {})
        except OSError as error:
            raise self._failed(error, report) from None
        report.seconds = time.perf_counter() - started
        if not quiet:
            report.echo(summary, verbose)
        return report


    def publish_changes(self, artifacts: Mapping[str, bytes], gone: Collection[str],
                        state: Mapping[str, bytes]) -> PublishReport | None:
        """publish(trust_manifest=True) for a build that knows every path that may change:
        `artifacts` (written unless the manifest has their bytes) and `gone` (removed); the
        manifest's other entries stay as they are, patched by path, not made again.

        None, with nothing written, when the root is not as a finished publish left it (a
        journal), the manifest is not manifest_bytes' (publish then), or it has kept files
        (ad-hoc issues: publish drops those whose file was deleted by hand).
        """
        validate_paths(artifacts)
        validate_state_names(state)
        data = self._folders.read(MANIFEST)
        if data is None or b'"kept": true' in data or JOURNAL in self._folders.names(""):
            return None
        entries = {path: manifest_entry(path, content) for path, content in artifacts.items()}
        patched = patch_manifest(data, {**{path: None for path in gone}, **entries})
        if patched is None:
            return None
        manifest, old, count = patched
        report = PublishReport(unlisted=count - len(artifacts))
        present = {folder: _names_in(self._folders, folder)
                   for folder in {path.rpartition("/")[0] for path in artifacts}}
        changed = {}
        for path in sorted(artifacts):
            known = old.get(path)
            if (path.rpartition("/")[2] in present[path.rpartition("/")[0]] and known is not None
                    and (known.get("sha256"), known.get("bytes"))
                    == (entries[path]["sha256"], entries[path]["bytes"])):
                report.unchanged.append(path)
            else:
                changed[path] = artifacts[path]
        removed = sorted(path for path in gone if path in old and path not in artifacts
                         and is_safe(path) and self._folders.is_file(path))
        report.manifest_sha256 = hashlib.sha256(manifest).hexdigest()
        try:
            _apply(self._folders, changed, removed, {*changed, *removed}, manifest,
                   manifest != data, report, quiet=True)
            self._write_state(state)
        except OSError as error:
            raise self._failed(error, report) from None
        return report

    def _write_state(self, state: Mapping[str, bytes]) -> None:
        """Write the root's dot-files whose bytes changed (after the manifest)."""
        for name, data in sorted(state.items()):
            if self._folders.read(name) != data:
                _write_root_file(self._folders, name, data, _file_mode())

    def _failed(self, error: OSError, report: PublishReport) -> PipelineError:
        """A full or failing disk: one line, never a traceback."""
        done = (f"{len(report.written)} files were replaced whole before that; run the "
                "build again to finish" if report.written else "nothing was published")
        return PipelineError(f"cannot publish to --out {display_path(self.out_dir)}: "
                             f"{error.strerror or error}; {done}")


@contextmanager
def locked_root(out_dir: Path, lock_timeout: float | None = None) -> Iterator[PublishRoot]:
    """Create `out_dir` if needed and hold its lock: what is read inside (the ledger) is what
    the publish inside replaces, with no other build in between."""
    prepare_root(out_dir)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(output_lock(out_dir, lock_timeout))
            folders = RootFolders(out_dir)
        except OSError as error:  # a read-only file system or folder; a planted folder
            raise PipelineError(f"cannot write to --out {display_path(out_dir)}: "
                                f"{error.strerror}; nothing was published") from None
        stack.callback(folders.close)
        yield PublishRoot(out_dir, folders)


def publish(artifacts: Mapping[str, bytes], out_dir: Path, summary: str = "", *,
            quiet: bool = False, verbose: bool = False, prune: bool = True,
            lock_timeout: float | None = None,
            state: Mapping[str, bytes] | None = None,
            started: float | None = None, trust_manifest: bool = False) -> PublishReport:
    """Write `artifacts` (posix path under the root -> bytes) to `out_dir`; see module doc.

    prune=True removes files the previous publish made whose artifact is gone; prune=False
    removes nothing and merges the new artifacts into the manifest marked `"kept": true`
    (ad-hoc issues): pruning runs keep those until the user deletes them by hand.
    `state` holds dot-files of the root (e.g. `.pipeline-state.json`): written atomically
    after the manifest when their bytes changed, never listed, never pruned, not counted.
    `started`: the time.perf_counter() the summary line's time counts from (default: now).
    `trust_manifest`: when no journal says a run was interrupted, a file the previous
    manifest lists with the new bytes' size and SHA-256 is taken as unchanged without being
    read back (a file edited by hand is then repaired only once its artifact changes).
    """
    validate_paths(artifacts)  # a bug is reported before the root is even created
    validate_state_names(state or {})
    with locked_root(out_dir, lock_timeout) as root:
        return root.publish(artifacts, summary, quiet=quiet, verbose=verbose, prune=prune,
                            state=state, started=started, trust_manifest=trust_manifest)


def _publish_locked(artifacts: Mapping[str, bytes], out_dir: Path, folders: RootFolders,
                    prune: bool, quiet: bool, report: PublishReport, trust_manifest: bool,
                    previous: dict[str, dict[str, object]] | None,
                    unchanged: Mapping[str, Recorded]) -> None:
    if previous is None:
        # Without a manifest we cannot tell our files from the user's: prune nothing.
        click.echo(f"warning: {display_path(out_dir / MANIFEST)} is unreadable; removing "
                   "nothing this time, it will be rewritten", err=True)
        previous = {}
    # Kept files (ad-hoc issues) stay until deleted by hand; then their entries go too.
    kept = {path: entry for path, entry in previous.items() if entry.get("kept") is True
            and path not in artifacts and path not in unchanged and is_safe(path)
            and folders.is_file(path)}
    # Only safe relative paths are ours: a tampered manifest must not delete outside the root.
    owned = {p for p in set(previous) | _read_journal(folders) if is_safe(p)} - set(kept)
    # Every folder touched is opened (and checked for symlinks) before anything is written.
    located = {path: path.rpartition("/") for path in artifacts}
    present = {folder: _names_in(folders, folder)
               for folder in {"", *(folder for folder, _, _ in located.values())}}

    changed: dict[str, bytes] = {}
    entries = [manifest_entry(path, data, kept=not prune) for path, data in artifacts.items()]
    # The previous manifest's record of a file stands for its bytes only when no interrupted
    # run (journal) may have left the file different from it.
    recorded = previous if trust_manifest and JOURNAL not in present[""] else {}
    for entry in sorted(entries, key=lambda e: str(e["path"])):
        path = str(entry["path"])
        folder, _, name = located[path]
        known = recorded.get(path)
        if name in present[folder] and (
                known.get("sha256") == entry["sha256"] and known.get("bytes") == entry["bytes"]
                if isinstance(known, dict) else folders.read(path) == artifacts[path]):
            report.unchanged.append(path)  # same bytes: not rewritten, mtime and ETag kept
        else:
            changed[path] = artifacts[path]
    # Files not rendered again stay as the manifest records them (PublishRoot.stale).
    names = sorted(unchanged)
    entries += [previous[path] for path in names]
    report.unchanged += names
    gone = sorted(p for p in owned - set(artifacts) - set(unchanged)
                  if prune and folders.is_file(p))
    if prune:
        entries += kept.values()
    else:  # merge: keep what earlier runs published and is still there
        entries += [entry for path, entry in previous.items()
                    if path not in artifacts and is_safe(path) and folders.is_file(path)]
    manifest = manifest_bytes(entries)
    manifest_changed = folders.read(MANIFEST) != manifest
    report.manifest_sha256 = hashlib.sha256(manifest).hexdigest()

    _apply(folders, changed, gone, {*changed, *gone, *(owned - previous.keys())}, manifest,
           manifest_changed, report, quiet)


def _apply(folders: RootFolders, changed: dict[str, bytes], gone: list[str],
           journaled: set[str], manifest: bytes, manifest_changed: bool,
           report: PublishReport, quiet: bool) -> None:
    """Stage the changed files, journal `journaled`, rename, prune, then write the manifest."""
    staged = _stage_all(folders, changed, quiet)
    if changed or gone:
        # Journal before the first rename: should we die below, the next run knows which
        # paths are ours (to prune) and which ones may differ from the manifest.
        try:
            # The paths this run changes or removes, and those of ours the manifest on disk
            # does not list (it stays until this run's replaces it; the next run reads both):
            # an edit journals a few paths, not the site's 20k. A path a line, by json's C
            # encoder.
            _write_root_file(folders, JOURNAL, json.dumps(
                {"paths": sorted(journaled)}, separators=(",\n", ": ")).encode() + b"\n")
        except BaseException:
            folders.unlink_all(staged.values())
            folders.remove_created()
            raise
    _commit(folders, staged, gone, report)
    if manifest_changed:
        _write_root_file(folders, MANIFEST, manifest, _file_mode())
    if JOURNAL in folders.names(""):  # this run's, or one an interrupted run left behind
        folders.unlink(JOURNAL)
        folders.fsync("")


def _stage_all(folders: RootFolders, changed: dict[str, bytes], quiet: bool) -> dict[str, str]:
    """Write every changed file under a temp name; on failure undo it all (nothing shows)."""
    mode = _file_mode()
    batch = len(changed) > 1 and hasattr(os, "sync")
    progress = Progress(len(changed), enabled=not quiet)
    staged: dict[str, str] = {}
    try:
        for done, (path, data) in enumerate(changed.items(), 1):
            staged[path] = _stage(folders, path, data, mode, sync=not batch)
            progress.step(done)
        if batch:
            os.sync()  # every staged file is on disk before the first rename
    except BaseException:
        folders.unlink_all(staged.values())
        folders.remove_created()
        raise
    finally:
        progress.close()
    return staged


def _commit(folders: RootFolders, staged: dict[str, str], gone: list[str],
            report: PublishReport) -> None:
    """Rename every staged file into place, then prune; make the folders touched durable."""
    touched: set[str] = set()
    try:
        for path, temp in staged.items():
            folders.replace(temp, path)
            touched.add(path.rpartition("/")[0])
            report.written.append(path)
    except BaseException:
        written = set(report.written)
        folders.unlink_all(temp for path, temp in staged.items() if path not in written)
        raise
    for path in gone:
        folders.unlink(path)
        report.removed.append(path)
        folder = path.rpartition("/")[0]
        touched.add(folder)
        folders.remove_empty(folder)
    if len(touched) > SYNC_FROM_FOLDERS and hasattr(os, "sync"):
        os.sync()  # at 10k event folders, an fsync each was 10k opens and 1.4 s of a build
    else:
        for folder in sorted(touched):
            folders.fsync(folder)
