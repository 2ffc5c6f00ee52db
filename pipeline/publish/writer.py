"""The publish step: the only code that writes under --out; atomic, churn-free, pruned, locked.

What "consistent" means, also after a crash (power loss, kill -9) at any point:

1. Every file under the publish root is whole: byte for byte either its previous or its
   new version (each is written to a temp file in the same folder, made durable, then
   renamed over the old one with os.replace). A batch of staged files is made durable with
   one os.sync() before the first rename instead of one fsync each: 10k fsyncs took 4-26 s.
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
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import click

from pipeline.errors import PipelineError, display_path
from pipeline.publish.lock import output_lock
from pipeline.publish.manifest import MANIFEST, manifest_bytes, manifest_entry, read_manifest

JOURNAL = ".publish-journal.json"
TEMP_SUFFIX = ".pipeline-tmp"  # staged files: `.<name>.<random>.pipeline-tmp`
SAFE_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]*$")
STATE_NAME = re.compile(r"^\.[A-Za-z0-9][A-Za-z0-9_.-]*$")
RESERVED_STATE = (JOURNAL, ".pipeline.lock")


@dataclass(slots=True)
class PublishReport:
    """What one publish did; paths are relative to the publish root, sorted."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    manifest_sha256: str = ""  # of the manifest this run leaves (a later no-op run checks it)

    @property
    def files(self) -> int:
        """How many artifacts the publish root holds for this run (manifest excluded)."""
        return len(self.written) + len(self.unchanged)

    def summary_line(self, summary: str) -> str:
        """The one line a run prints: what was built and what changed on disk."""
        counts = (f"{self.files} files: {len(self.written)} written, {len(self.unchanged)} "
                  f"unchanged, {len(self.removed)} removed in {self.seconds:.2f}s")
        return f"built: {summary}; {counts}" if summary else f"published {counts}"


def _is_safe(path: str) -> bool:
    """A relative posix path of plain names: no '..', no dot-files, no temp names."""
    parts = path.split("/")
    return (path != MANIFEST and all(SAFE_PART.match(part) for part in parts)
            and not any(part.endswith(TEMP_SUFFIX) for part in parts))


def validate_paths(paths: Iterable[str]) -> None:
    """Reject artifact paths that could escape the root, hide, or clash; a bug, said clearly."""
    bad: list[str] = []
    files = set(paths)
    for path in sorted(files):
        parts = path.split("/")
        if not _is_safe(path):
            bad.append(f"{path!r} is not a safe relative path (no '..', no absolute path, "
                       f"no dot-files, not {MANIFEST})")
        elif any("/".join(parts[:i]) in files for i in range(1, len(parts))):
            bad.append(f"{path!r} needs a folder where another artifact is a file")
    if bad:
        raise PipelineError("cannot publish: " + "; ".join(bad))


def validate_state_names(state: Mapping[str, bytes]) -> None:
    """State files are plain dot-file names in the root, and not the step's own files."""
    bad = [name for name in state if not STATE_NAME.match(name) or name in RESERVED_STATE
           or name.endswith(TEMP_SUFFIX)]
    if bad:
        raise PipelineError(f"cannot publish state files {bad}: a state file is a dot-file name "
                            f"in the publish root, other than {', '.join(RESERVED_STATE)}")


def _read_journal(out_dir: Path) -> set[str]:
    """Paths an interrupted earlier run was writing or removing (ours to prune)."""
    try:
        return set(json.loads((out_dir / JOURNAL).read_bytes())["paths"])
    except FileNotFoundError:
        return set()
    except (ValueError, KeyError, TypeError):
        return set()


def _current_bytes(path: str | Path) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise PipelineError(f"cannot publish {display_path(Path(path))}: a folder is in the way; "
                            "move it away") from None


def _names_in(folders: Iterable[str]) -> dict[str, frozenset[str]]:
    """The names in each folder (none if it is missing), once the temp files a killed run
    left there are deleted (we hold the lock: none are in use).

    One listing per folder serves both, and spares a failed open per new file (most of them
    in a cold build) when the caller asks which targets exist.
    """
    names: dict[str, frozenset[str]] = {}
    for folder in folders:
        try:
            listed = frozenset(os.listdir(folder))
        except (FileNotFoundError, NotADirectoryError):
            names[folder] = frozenset()
            continue
        stale = {name for name in listed if name.startswith(".") and name.endswith(TEMP_SUFFIX)}
        _unlink_all(os.path.join(folder, name) for name in stale)
        names[folder] = listed - stale
    return names


def _fsync_dir(directory: str | Path) -> None:
    """Make renames and deletions in `directory` durable (POSIX needs the folder fsynced)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _stage(target: str, data: bytes, mode: int, sync: bool = True) -> str:
    """Write `data` to a new temp dot-file beside `target` (fsynced if `sync`); return its path."""
    folder, name = os.path.split(target)
    # O_EXCL never follows or reuses an existing name. We hold the lock and removed stale
    # temps, so this fixed name is free unless something else created it since: then, a
    # random name.
    temp = os.path.join(folder, f".{name}.{os.getpid()}{TEMP_SUFFIX}")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    except FileExistsError:
        fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=TEMP_SUFFIX)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, mode)  # the exact mode: not narrowed by the umask or mkstemp's 0600
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return temp


def write_atomically(target: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace `target` with `data` so that readers see the old or the new file, never half."""
    temp = _stage(os.fspath(target), data, mode)
    try:
        os.replace(temp, target)
    except BaseException:
        _unlink_all([temp])
        raise
    _fsync_dir(target.parent)


def _file_mode() -> int:
    """0666 minus the process umask: what a plain open() would have created."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


class Progress:
    """`publishing 12/40` on a terminal's stderr; silent in cron logs and with --quiet."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled and total > 0 and sys.stderr.isatty()

    def step(self, done: int) -> None:
        if self.enabled:
            click.echo(f"\rpublishing {done}/{self.total}", nl=False, err=True)

    def close(self) -> None:
        if self.enabled:
            click.echo("\r\033[K", nl=False, err=True)


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
    started = time.perf_counter() if started is None else started
    validate_paths(artifacts)
    validate_state_names(state or {})
    if out_dir.exists() and not out_dir.is_dir():
        raise PipelineError(f"--out {display_path(out_dir)} is a file, not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    with output_lock(out_dir, lock_timeout):
        report = _publish_locked(artifacts, out_dir, prune, quiet, verbose, trust_manifest)
        for name, data in sorted((state or {}).items()):
            if _current_bytes(out_dir / name) != data:
                write_atomically(out_dir / name, data, _file_mode())
    report.seconds = time.perf_counter() - started
    if not quiet:
        if verbose:
            for label, paths in (("written", report.written), ("unchanged", report.unchanged),
                                 ("removed", report.removed)):
                for path in paths:
                    click.echo(f"  {label:9} {path}")
        click.echo(report.summary_line(summary))
    return report


def _publish_locked(artifacts: Mapping[str, bytes], out_dir: Path, prune: bool, quiet: bool,
                    verbose: bool, trust_manifest: bool = False) -> PublishReport:
    report = PublishReport()
    previous = read_manifest(out_dir)
    if previous is None:
        # Without a manifest we cannot tell our files from the user's: prune nothing.
        click.echo(f"warning: {display_path(out_dir / MANIFEST)} is unreadable; removing "
                   "nothing this time, it will be rewritten", err=True)
        previous = {}
    # Kept files (ad-hoc issues) stay until deleted by hand; then their entries go too.
    kept = {path: entry for path, entry in previous.items() if entry.get("kept") is True
            and path not in artifacts and _is_safe(path) and (out_dir / path).is_file()}
    # Only safe relative paths are ours: a tampered manifest must not delete outside the root.
    owned = {p for p in set(previous) | _read_journal(out_dir) if _is_safe(p)} - set(kept)
    # Plain strings, not Paths, for what runs once per file: 10k Paths cost a tenth of a second.
    targets = {path: os.path.join(out_dir, path) for path in artifacts}
    folders = {os.path.dirname(target) for target in targets.values()}
    present = _names_in({os.fspath(out_dir), *folders})

    entries = [manifest_entry(path, data, kept=not prune) for path, data in artifacts.items()]
    # The previous manifest's record of a file stands for its bytes only when no interrupted
    # run (journal) may have left the file different from it.
    recorded = previous if trust_manifest and not (out_dir / JOURNAL).exists() else {}
    changed: dict[str, bytes] = {}
    for entry in sorted(entries, key=lambda e: str(e["path"])):
        path = str(entry["path"])
        folder, name = os.path.split(targets[path])
        known = recorded.get(path)
        if name in present[folder] and (
                known.get("sha256") == entry["sha256"] and known.get("bytes") == entry["bytes"]
                if isinstance(known, dict) else _current_bytes(targets[path]) == artifacts[path]):
            report.unchanged.append(path)  # same bytes: not rewritten, mtime and ETag kept
        else:
            changed[path] = artifacts[path]
    gone = sorted(p for p in owned - set(artifacts) if prune and (out_dir / p).is_file()
                  and not (out_dir / p).is_symlink())
    if prune:
        entries += kept.values()
    else:  # merge: keep what earlier runs published and is still there
        entries += [entry for path, entry in previous.items()
                    if path not in artifacts and _is_safe(path) and (out_dir / path).is_file()]
    manifest = manifest_bytes(entries)
    manifest_changed = _current_bytes(out_dir / MANIFEST) != manifest
    report.manifest_sha256 = hashlib.sha256(manifest).hexdigest()

    staged = _stage_all(out_dir, changed, quiet)
    if changed or gone:
        # Journal before the first rename: should we die below, the next run knows which
        # paths are ours (to prune) and which ones may differ from the manifest.
        try:
            write_atomically(out_dir / JOURNAL, json.dumps(
                {"paths": sorted({*changed, *owned})}, indent=1).encode() + b"\n")
        except BaseException:
            _unlink_all(staged.values())
            raise
    _commit(out_dir, staged, gone, quiet, report)
    if manifest_changed:
        write_atomically(out_dir / MANIFEST, manifest, _file_mode())
    if (out_dir / JOURNAL).exists():  # this run's, or one an interrupted run left behind
        (out_dir / JOURNAL).unlink()
        _fsync_dir(out_dir)
    return report


def _unlink_all(paths: Iterable[str]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _stage_all(out_dir: Path, changed: dict[str, bytes], quiet: bool) -> dict[str, str]:
    """Write every changed file under a temp name; on failure undo it all (nothing shows)."""
    mode = _file_mode()
    batch = len(changed) > 1 and hasattr(os, "sync")
    progress = Progress(len(changed), enabled=not quiet)
    staged: dict[str, str] = {}
    created: list[Path] = []
    ready: set[str] = set()
    try:
        for done, (path, data) in enumerate(changed.items(), 1):
            target = os.path.join(out_dir, path)
            folder = os.path.dirname(target)
            if folder not in ready:  # 10k files share a few folders: stat each once
                parent = Path(folder)
                missing = [f for f in (parent, *parent.parents) if not f.exists()]
                parent.mkdir(parents=True, exist_ok=True)
                created += reversed(missing)
                ready.add(folder)
            staged[path] = _stage(target, data, mode, sync=not batch)
            progress.step(done)
        if batch:
            os.sync()  # every staged file is on disk before the first rename
    except BaseException:
        _unlink_all(staged.values())
        for folder in reversed(created):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    finally:
        progress.close()
    return staged


def _commit(out_dir: Path, staged: dict[str, str], gone: list[str], quiet: bool,
            report: PublishReport) -> None:
    """Rename every staged file into place, then prune; fsync the folders touched."""
    folders: set[str] = set()
    try:
        for path, temp in staged.items():
            os.replace(temp, os.path.join(out_dir, path))
            folders.add(os.path.dirname(temp))
            report.written.append(path)
    except BaseException:
        written = set(report.written)
        _unlink_all(temp for path, temp in staged.items() if path not in written)
        raise
    for path in gone:
        target = out_dir / path
        target.unlink(missing_ok=True)
        report.removed.append(path)
        folders.add(str(target.parent))
        _remove_empty_folders(out_dir, target.parent)
    for folder in folders:
        if os.path.isdir(folder):
            _fsync_dir(folder)


def _remove_empty_folders(out_dir: Path, folder: Path) -> None:
    """Remove `folder` and its parents below the root once pruning emptied them."""
    root = out_dir.resolve()
    while folder.resolve() != root and folder.resolve().is_relative_to(root):
        with contextlib.suppress(OSError):  # not empty (user files) or already gone
            folder.rmdir()
        if folder.exists():
            return
        folder = folder.parent
