"""Errors users see: one line each, never a traceback (MkDocs-style ClickException tree)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import click


@dataclass(frozen=True, order=True, slots=True)
class Problem:
    """One thing wrong with one input file, at one line."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"


def display_path(path: Path) -> str:
    """The path as the user would type it: relative to the working directory when inside it."""
    try:
        relative = os.path.relpath(path)
        return relative if not relative.startswith("..") else str(path)
    except ValueError:  # another drive on Windows
        return str(path)


class PipelineError(click.ClickException):
    """Base of every error the command line reports without a traceback."""

    exit_code = 1


class InvalidInput(PipelineError):
    """Input files break the contract; every problem found is listed."""

    def __init__(self, problems: list[Problem], outcome: str = "nothing was published") -> None:
        self.problems = sorted(set(problems))
        count = len(self.problems)
        summary = f"{count} problem{'s' if count != 1 else ''} found; {outcome}."
        super().__init__("\n".join([*map(str, self.problems), summary]))

    def format_message(self) -> str:
        return self.message

    def show(self, file=None) -> None:  # type: ignore[override]
        # ClickException prefixes "Error: "; `path:line: message` lines must stay grep-able.
        click.echo(self.format_message(), err=True)


class BuildLocked(PipelineError):
    """Another build holds the output folder's lock."""

    exit_code = 75
