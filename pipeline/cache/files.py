"""Which input files changed: a stat first, the content's SHA-256 only when the stat moved.

An event file whose stat (size, mtime_ns, inode, ctime_ns) is the one recorded, and was
older than the run that recorded it (git's racy-timestamp rule: a file written in the same
tick as the record could change again without its stat showing it), is not read again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.errors import display_path
from pipeline.fileread import read_sized
from pipeline.sources.yamlsource import MAX_FILE_BYTES

Signature = list[int]  # size, mtime_ns, inode, ctime_ns


def signature(info: os.stat_result) -> Signature:
    """What a record keeps of a file's stat."""
    return [info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns]


def fingerprint(path: Path, record: dict[str, Any] | None, trusted_before: int,
                stats: Mapping[str, Signature] | None = None) -> tuple[Signature, str] | None:
    """The file's stat signature and content hash; the hash is read only when stat changed.

    `stats`: signatures this run took already (cache/run.py's walk), by os.fspath(path).
    """
    known = stats.get(os.fspath(path)) if stats else None
    if known is None:
        try:
            known = signature(os.stat(path))
        except OSError:
            return None
    _, mtime_ns, _, ctime_ns = known
    if (record is not None and record.get("stat") == known
            and mtime_ns < trusted_before and ctime_ns < trusted_before
            and isinstance(record.get("digest"), str)):
        return known, record["digest"]  # racily clean files (mtime >= that) are read
    try:
        fd = os.open(path, os.O_RDONLY)  # no buffered file object: 10k files per run
        try:
            info = os.fstat(fd)  # the stat of what is read, should it have changed since
            data = read_sized(fd, info.st_size, MAX_FILE_BYTES + 1)
        finally:
            os.close(fd)
    except OSError:
        return None
    if len(data) > MAX_FILE_BYTES:
        return None  # load_event reports it
    return signature(info), hashlib.sha256(data).hexdigest()


def entry_key(context: bytes, shown: str, digest: str) -> str:
    """The entry of one file: its shown path and content hash under `context` (a hash of the
    code, the settings and the rest: kilobytes that were hashed again for every file)."""
    return hashlib.sha256(context + b"\0" + shown.encode() + b"\0" + digest.encode()).hexdigest()


class ShownPaths:
    """display_path() of many files, computed once per folder (relpath costs ~40 us a call)."""

    def __init__(self) -> None:
        self.folders: dict[str, str] = {}

    def __call__(self, path: Path) -> str:
        # On the path's text: Path.parent and Path.name build objects (10k files a build).
        parent, sep, name = os.fspath(path).rpartition(os.sep)
        parent = parent or sep or "."  # "/x.yaml": the root; "x.yaml": here
        folder = self.folders.get(parent)
        if folder is None:
            folder = self.folders[parent] = display_path(Path(parent))
        return name if folder == "." else os.path.join(folder, name)
