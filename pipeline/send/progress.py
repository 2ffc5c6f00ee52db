"""The send's progress line on a terminal: done/total, rate, time left, rewritten in place."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


def duration(seconds: float) -> str:
    """`42s`, `3m05s`, `1h02m`: short enough for one terminal line."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """Rewrites one line (carriage return) at most every `interval` seconds; silent when
    the stream is not a terminal (cron mail and CI logs get the summary only)."""

    def __init__(self, total: int, stream: TextIO, enabled: bool,
                 clock: Callable[[], float] = time.monotonic, interval: float = 0.2) -> None:
        self.total, self.stream, self.clock, self.interval = total, stream, clock, interval
        self.enabled = enabled and total > 0 and stream.isatty()
        self.started = clock()
        self.shown_at: float | None = None
        self.done = 0
        self.width = 0

    def step(self, failed: int = 0) -> None:
        """One more address handled; redraw when the interval has passed or at the end."""
        self.done += 1
        if not self.enabled:
            return
        now = self.clock()
        if self.done < self.total and self.shown_at is not None and \
                now - self.shown_at < self.interval:
            return
        self.shown_at = now
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate else 0.0
        line = (f"sending: {self.done}/{self.total} ({100 * self.done // self.total}%), "
                f"{rate:.1f}/s, {duration(left)} left" + (f", {failed} failed" if failed else ""))
        self.stream.write("\r" + line.ljust(self.width))
        self.stream.flush()
        self.width = len(line)

    def finish(self) -> None:
        """End the progress line so the summary starts on its own line."""
        if self.enabled and self.shown_at is not None:
            self.stream.write("\n")
            self.stream.flush()
