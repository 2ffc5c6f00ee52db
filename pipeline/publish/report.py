"""What a publish did, and the one line a run prints about it."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import click


@dataclass(slots=True)
class PublishReport:
    """What one publish did; paths are relative to the publish root, sorted."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    manifest_sha256: str = ""  # of the manifest this run leaves (a later no-op run checks it)
    unlisted: int = 0  # files left unchanged without being named (a delta rebuild's)

    @property
    def files(self) -> int:
        """How many artifacts the publish root holds for this run (manifest excluded)."""
        return len(self.written) + len(self.unchanged) + self.unlisted

    def echo(self, summary: str, verbose: bool = False) -> None:
        """Print the summary line (after each path and what became of it, when `verbose`)."""
        if verbose:
            for label, paths in (("written", self.written), ("unchanged", self.unchanged),
                                 ("removed", self.removed)):
                for path in paths:
                    click.echo(f"  {label:9} {path}")
        click.echo(self.summary_line(summary))

    def summary_line(self, summary: str) -> str:
        """The one line a run prints: what was built and what changed on disk."""
        counts = (f"{self.files} files: {len(self.written)} written, "
                  f"{len(self.unchanged) + self.unlisted} "
                  f"unchanged, {len(self.removed)} removed in {self.seconds:.2f}s")
        return f"built: {summary}; {counts}" if summary else f"published {counts}"


def plural(count: int, noun: str) -> str:
    """`1 event`, `2 events`."""
    return f"{count} {noun}{'s' if count != 1 else ''}"


def what_was_built(events: int, feeds: int, issues: int, notes: Sequence[str] = ()) -> str:
    """The summary line's account of a build, before what it changed on disk."""
    counts = ((events, "event"), (feeds, "feed"), (issues, "issue"))
    return "; ".join([", ".join(plural(n, noun) for n, noun in counts), *notes])


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
