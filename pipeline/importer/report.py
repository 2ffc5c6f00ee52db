"""What an import did, file by file, and every part of the source it could not keep, with why."""

from __future__ import annotations

from dataclasses import dataclass, field

import click


@dataclass(frozen=True, slots=True, order=True)
class Note:
    """One thing of the source the event files do not say, or an item that was not imported."""

    origin: str  # path:line of the source item
    subject: str  # the item, e.g. "VEVENT 'Monthly meetup'"
    message: str


@dataclass
class Report:
    """Outcome per written file, plus the notes; printed once at the end."""

    written: list[tuple[str, str, str]] = field(default_factory=list)  # (path, outcome, detail)
    notes: list[Note] = field(default_factory=list)
    defaulted: dict[str, int] = field(default_factory=dict)  # new files that took --kind's kind

    def file(self, path: str, outcome: str, detail: str = "") -> None:
        """Record what happened to one event file: new, updated, unchanged, kept."""
        self.written.append((path, outcome, detail))

    def count(self, outcome: str) -> int:
        """How many files had this outcome."""
        return sum(1 for _, done, _ in self.written if done == outcome)

    def lines(self) -> list[str]:
        """The report as printed: files, then notes grouped per source item, then a summary."""
        out = [f"{outcome:<9} {path}" + (f"  ({detail})" if detail else "")
               for path, outcome, detail in self.written]
        subject = None
        for note in sorted(self.notes):
            if (note.origin, note.subject) != subject:
                subject = (note.origin, note.subject)
                out.append(f"{note.origin}: {note.subject}")
            out.append(f"  - {note.message}")
        out += [f"{n} new event{'s' if n != 1 else ''} took the kind '{kind}': the source names "
                "none; pass --kind for another, or edit their 'kind:'"
                for kind, n in sorted(self.defaulted.items())]
        counts = ", ".join(f"{self.count(o)} {o}" for o in ("new", "updated", "unchanged", "kept")
                           if self.count(o))
        out.append(f"{counts or 'no event files'}; {len(self.notes)} "
                   f"note{'s' if len(self.notes) != 1 else ''}"
                   + (" (what the files do not say, above)" if self.notes else ""))
        return out

    def show(self) -> None:
        """Print it on stdout."""
        for line in self.lines():
            click.echo(line)
