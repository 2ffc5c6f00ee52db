"""`pipeline import`: read every source, name and check each event, then write the files."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError, Problem, display_path
from pipeline.importer.csvfile import read_csv
from pipeline.importer.draft import Draft, base_id
from pipeline.importer.ics import Options, read_ics
from pipeline.importer.report import Note, Report
from pipeline.importer.yamlout import render, write_event
from pipeline.sources.events import load_event, yaml_files
from pipeline.sources.settings import Settings
from pipeline.sources.yamlsource import YamlProblem, read_mapping


class ImportRefused(PipelineError):
    """The sources cannot be read: every problem listed, nothing written."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems))
        count = len(self.problems)
        super().__init__("\n".join([*map(str, self.problems), f"{count} problem"
                                    f"{'s' if count != 1 else ''} found; nothing was written."]))

    def show(self, file: Any = None) -> None:  # type: ignore[override]
        import click

        click.echo(self.format_message(), err=True)


def read_sources(sources: list[str], options: Options,
                 ) -> tuple[list[Draft], list[Note], list[Problem]]:
    """Drafts, notes and problems of every source."""
    drafts: list[Draft] = []
    notes: list[Note] = []
    problems: list[Problem] = []
    for source in sources:
        shown = "<stdin>" if source == "-" else display_path(Path(source))
        try:
            data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        except OSError as error:
            problems.append(Problem(shown, 0, f"cannot read it: {error.strerror}"))
            continue
        if source.lower().endswith(".csv") or not data.lstrip(b"\xef\xbb\xbf \r\n").upper(
                ).startswith(b"BEGIN:"):
            found, trouble = read_csv(data, shown, options.default_kind)
        else:
            found, more, trouble = read_ics(data, shown, options)
            notes += more
        drafts += found
        problems += trouble
    return drafts, notes, problems


def existing_files(folder: Path) -> tuple[dict[str, tuple[Path, str, dict]], set[str]]:
    """source_uid -> (path, id, mapping) of the event files already there, and every id in use."""
    by_uid: dict[str, tuple[Path, str, dict]] = {}
    ids: set[str] = set()
    for path in yaml_files(folder) if folder.is_dir() else []:
        try:
            data = read_mapping(path, "event")
        except (YamlProblem, OSError, UnicodeDecodeError):
            ids.add(path.stem)
            continue
        event_id = str(data.get("id") or path.stem)
        ids.add(event_id)
        uid = data.get("source_uid")
        if uid is not None:
            by_uid.setdefault(str(uid), (path, event_id, data))
    return by_uid, ids


def _mapping(path: Path) -> dict | None:
    try:
        return read_mapping(path, "event")
    except (YamlProblem, OSError, UnicodeDecodeError):
        return None


def _trial(draft: Draft, event_id: str, mapping: dict | None, scratch: Path, settings: Settings,
           path: Path) -> tuple[str, list[Problem]]:
    """The file's text and what the loader says about it, read from a scratch folder."""
    text = render(draft, event_id, mapping)
    trial = scratch / f"{event_id}.yaml"
    trial.write_text(text, encoding="utf-8")
    found: list[Problem] = []
    load_event(trial, settings, found, shown=display_path(path))
    return text, found


def import_events(sources: list[str], events_dir: Path, settings: Settings, options: Options,
                  update: bool) -> Report:
    """Import every source into `events_dir`; the report says what was written and left out."""
    drafts, notes, problems = read_sources(sources, options)
    report = Report(notes=list(notes))
    by_uid, taken = existing_files(events_dir)
    planned: list[tuple[Draft, Path, str, dict | None]] = []
    drafts.sort(key=lambda d: (str(d.start), d.source_uid or "", d.title, d.origin))
    seen: dict[str, str] = {}
    for draft in drafts:
        if draft.source_uid in seen:  # the same event in two sources (or twice in one)
            report.notes.append(Note(draft.origin, f"'{draft.title}'", "not imported: its UID is "
                                     f"already imported from {seen[draft.source_uid]}"))
            continue
        if draft.source_uid:
            seen[draft.source_uid] = draft.origin
        known = by_uid.get(draft.source_uid) if draft.source_uid else None
        if known is not None:
            path, event_id, mapping = known
        else:
            event_id = base_id(draft)
            path = events_dir / f"{event_id}.yaml"
            if path.exists() and draft.source_uid is None:
                mapping = _mapping(path)  # a CSV row without uid: its slug is its identity
            else:
                number = 2
                while event_id in taken:
                    event_id = f"{base_id(draft)}-{number}"
                    number += 1
                path, mapping = events_dir / f"{event_id}.yaml", None
        taken.add(event_id)
        planned.append((draft, path, event_id, mapping))
    checked = []
    with tempfile.TemporaryDirectory() as scratch:
        for draft, path, event_id, mapping in planned:
            text, found = _trial(draft, event_id, mapping, Path(scratch), settings, path)
            if found and draft.changes and not draft.strict:
                # One odd override (e.g. moved onto another occurrence's day) must not cost the
                # whole series: keep the series, report the changes as not representable.
                reasons = "; ".join(p.message for p in found)
                draft = dataclasses.replace(draft, changes=(), notes=(*draft.notes, (
                    f"its {len(draft.changes)} changed occurrence(s) are left out, as the loader "
                    f"refuses them: {reasons}; the file shows the occurrences as the rule has them")))
                text, found = _trial(draft, event_id, mapping, Path(scratch), settings, path)
            if not found:
                checked.append((draft, path, text))
            elif draft.strict:  # a CSV row: the person wrote it in the loader's terms
                line = int(draft.origin.rsplit(":", 1)[1])
                problems += [Problem(draft.origin.rsplit(":", 1)[0], line, p.message) for p in found]
            else:
                report.notes += [Note(draft.origin, f"'{draft.title}'", "not imported: the event "
                                      f"file would be refused: {p.message}") for p in found]
    if problems:
        raise ImportRefused(problems)
    for draft, path, text in checked:
        outcome, detail = write_event(path, text, update)
        report.file(display_path(path), outcome, detail)
        if outcome == "new" and not draft.kind_named:
            report.defaulted[draft.kind] = report.defaulted.get(draft.kind, 0) + 1
        report.notes += [Note(draft.origin, f"'{draft.title}' -> {display_path(path)}", note)
                         for note in draft.notes]
    return report
