"""Where the build cache lives, and whether it may be trusted: the user's own, private folder.

By default `$XDG_CACHE_HOME/pipeline/<site>` (else `~/.cache/pipeline/<site>`), `<site>`
being a hash of the publish root's absolute path: outside any folder other users may share
(`/tmp`, `/var/www`), one folder per site. A folder or file not owned by this user, writable
by group or others, or a symlink, is not read and not written (treated as absent, with one
warning): whoever could write there could otherwise choose what the build publishes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path

import click

from pipeline.errors import display_path
from pipeline.fileread import read_sized

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
WRITE_BATCH = 512  # pieces per writev (IOV_MAX is 1024 on Linux)
UNSAFE_BITS = stat.S_IWGRP | stat.S_IWOTH


def cache_dir_for(out_dir: Path) -> Path | None:
    """This site's cache folder (see module doc); None when the user has no cache home."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec: a relative value is ignored
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    site = hashlib.sha256(os.fsencode(os.path.abspath(out_dir))).hexdigest()[:32]
    return Path(base) / "pipeline" / site


def why_untrusted(info: os.stat_result) -> str | None:
    """Why a cache folder or file with this (l)stat may not be used; None when it may."""
    if stat.S_ISLNK(info.st_mode):
        return "it is a symlink"
    if info.st_uid != os.geteuid():
        return f"it is owned by uid {info.st_uid}, not by this user ({os.geteuid()})"
    if info.st_mode & UNSAFE_BITS:
        return f"it is writable by group or others (mode {stat.S_IMODE(info.st_mode):04o})"
    return None


_warned: set[str] = set()


def warn(path: Path, reason: str) -> None:
    """One warning per path and process: the build goes on without the cache."""
    if str(path) not in _warned:
        _warned.add(str(path))
        click.echo(f"warning: ignoring the build cache {display_path(path)}: {reason}; this "
                   "build runs without it (make it private to this user, or delete it)", err=True)


def private_folder(folder: Path, create: bool) -> bool:
    """True when `folder` and its parent (`pipeline/`) are this user's own, private folders.

    With `create`, missing ones are made (mode 0700). A refused folder gets a warning.
    """
    for path in (folder.parent, folder):
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            if not create:
                return False
            try:
                os.makedirs(path, PRIVATE_DIR, exist_ok=True)
                info = os.lstat(path)
            except OSError:
                return False  # a read-only home: the build runs without a cache
        except OSError:
            return False
        reason = why_untrusted(info) or (None if stat.S_ISDIR(info.st_mode) else "not a folder")
        if reason:
            warn(path, reason)
            return False
    return True


def file_system_clock(directory: Path | None) -> int:
    """The file system's time now (what an mtime written now would say), as ns; 0 if unknown.

    The racy-timestamp rule compares input files' stats with it (cache/files.py, run.py).
    """
    if directory is None:
        return 0
    try:
        os.utime(directory)  # touches the cache folder: the same clock as the inputs' mtimes
        return os.stat(directory).st_mtime_ns
    except OSError:
        return 0


def read_private(path: Path, limit: int) -> tuple[bytes, int] | None:
    """A private cache file's bytes (at most `limit`) and mtime_ns; None if absent or refused."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        if not isinstance(error, FileNotFoundError):
            warn(path, f"it cannot be opened ({error.strerror})")
        return None
    try:
        info = os.fstat(fd)
        reason = why_untrusted(info) or (None if stat.S_ISREG(info.st_mode) else "not a file")
        if reason:
            warn(path, reason)
            return None
        if info.st_size > limit:
            return None
        return read_sized(fd, info.st_size), info.st_mtime_ns
    except OSError:
        return None
    finally:
        os.close(fd)


def write_all(fd: int, pieces: Sequence[bytes]) -> None:
    """Write `pieces` one after another, without joining them (100k events' fragments are
    hundreds of MB: a joined copy was the cold build's peak), a batch per system call."""
    for start in range(0, len(pieces), WRITE_BATCH):
        batch = [memoryview(piece) for piece in pieces[start:start + WRITE_BATCH] if piece]
        while batch:
            written = os.writev(fd, batch)
            while batch and written >= len(batch[0]):
                written -= len(batch[0])
                batch.pop(0)
            if batch and written:
                batch[0] = batch[0][written:]


def append_private(path: Path, pieces: Sequence[bytes], size: int, create: bool = False,
                   ) -> bool | None:
    """Append `pieces` to `path` and fsync it, when it is a private regular file of `size`
    bytes (made when missing and `create`): True; False (nothing written) when it is not
    that file; None when writing failed.

    O_APPEND after a check of what is there: a file that grew since its size was read (it
    cannot: builds of one root hold its lock) would shift every span that points past it.
    """
    flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags, PRIVATE_FILE)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if why_untrusted(info) or not stat.S_ISREG(info.st_mode) or info.st_size != size:
            return False
        write_all(fd, pieces)
        os.fsync(fd)  # the bytes are on disk before the records pointing at them
    except OSError:
        return None
    finally:
        os.close(fd)
    return True


def write_private(path: Path, data: bytes | Sequence[bytes]) -> int | None:
    """Replace `path` with `data` (mode 0600, atomically); its mtime_ns, or None if it failed.

    `data`: bytes, or pieces written one after another (see write_all).

    The mtime is the file system's clock at the write: the racy-timestamp rule compares
    input files' mtimes with it (see pipeline/cache/files.py).
    """
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     PRIVATE_FILE)
    except OSError:
        return None
    try:
        try:
            write_all(fd, [data] if isinstance(data, bytes) else data)
            os.fchmod(fd, PRIVATE_FILE)
            mtime = os.fstat(fd).st_mtime_ns
        finally:
            os.close(fd)
        os.replace(temp, path)  # readers see the old file or the new one
        return mtime
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        return None
