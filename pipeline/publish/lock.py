"""Advisory file locks (fcntl) so that overlapping runs cannot interleave their writes."""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.errors import BuildLocked, PipelineError, display_path

LOCK_FILE = ".pipeline.lock"  # a dot-file in the publish root: never published, never listed
LOCK_TIMEOUT_ENV = "PIPELINE_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 60.0  # seconds: longer than a normal build, shorter than an hourly cron
POLL_SECONDS = 0.05


def lock_timeout(value: float | None = None) -> float:
    """`value`, else $PIPELINE_LOCK_TIMEOUT, else the default; seconds, never negative."""
    if value is None:
        raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
        if not raw:
            return DEFAULT_LOCK_TIMEOUT
        try:
            value = float(raw)
        except ValueError:
            raise PipelineError(f"{LOCK_TIMEOUT_ENV}={raw!r} is not a number of seconds; "
                                "write e.g. 60") from None
    if value < 0:
        raise PipelineError(f"the lock timeout must be 0 or more seconds, not {value}")
    return value


@contextmanager
def hold_lock(path: Path, timeout: float, holder: str) -> Iterator[None]:
    """Hold an exclusive lock on `path`, waiting up to `timeout` seconds; else BuildLocked.

    flock locks belong to the open file: the kernel releases them when the process dies,
    so a killed run never leaves a stale lock behind (the file itself may stay; harmless).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_NOFOLLOW: a lock file planted as a symlink must not create or open its target.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise
        raise PipelineError(f"{display_path(path)} is a symbolic link; remove it (the lock "
                            "file is never followed)") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise BuildLocked(
                        f"{holder} holds {display_path(path)}; gave up after waiting "
                        f"{timeout:g}s (raise --lock-timeout or {LOCK_TIMEOUT_ENV} to wait "
                        "longer)") from None
                time.sleep(POLL_SECONDS)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def output_lock(out_dir: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the publish root's lock: one writer at a time under `out_dir`."""
    with hold_lock(out_dir / LOCK_FILE, lock_timeout(timeout), "another build"):
        yield
