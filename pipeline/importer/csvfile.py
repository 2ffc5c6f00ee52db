"""A CSV file with a header row (one event a row, the loader's own value formats) as Drafts."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

from pipeline.errors import Problem
from pipeline.importer.draft import Draft, slugify
from pipeline.importer.text import one_line, tidy
from pipeline.sources.fields import parse_wall_clock

COLUMNS = ("title", "start", "end", "duration", "timezone", "kind", "status", "location", "url",
           "summary", "description", "tags", "rule", "except", "uid")
REQUIRED = ("title", "start")


def _moment(value: str, column: str, origin: tuple[str, int], problems: list[Problem]) -> dt.date | None:
    parsed = parse_wall_clock(value)
    if parsed is None:
        problems.append(Problem(*origin, f"column '{column}': {value!r} is not a date or date-time; "
                                "write YYYY-MM-DD or YYYY-MM-DD HH:MM"))
    return parsed


def read_csv(data: bytes, path: str, default_kind: str) -> tuple[list[Draft], list[Problem]]:
    """Drafts of every row, or the problems of every row (then nothing is imported)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return [], [Problem(path, 1, f"not UTF-8 text ({error.reason} at byte {error.start}); save "
                            "the sheet as 'CSV UTF-8'")]
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","  # European spreadsheets
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = list(_numbered(reader))
    if not rows:
        return [], [Problem(path, 1, "empty file: the first row must name the columns")]
    _, names = rows[0]
    names = [n.strip().lower() for n in names]
    problems = [Problem(path, 1, f"unknown column '{n}'; the columns are {', '.join(COLUMNS)}")
                for n in names if n not in COLUMNS]
    problems += [Problem(path, 1, f"column '{n}' is missing; every row needs one")
                 for n in REQUIRED if n not in names]
    if problems:
        return [], problems
    drafts = []
    for line, cells in rows[1:]:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(names):
            problems.append(Problem(path, line, f"{len(cells)} cells for {len(names)} columns; "
                                    "quote cells that hold the delimiter"))
            continue
        row = {n: c.strip() for n, c in zip(names, cells, strict=True)}
        draft = _draft(row, (path, line), default_kind, problems)
        if draft is not None:
            drafts.append(draft)
    return drafts, problems  # the good rows too: the loader checks them, all problems at once


def _numbered(reader: Any) -> list[tuple[int, list[str]]]:
    """Each record with the line it starts on (a quoted cell may span lines)."""
    out, line = [], 1
    for cells in reader:
        out.append((line, cells))
        line = reader.line_num + 1
    return out


def _draft(row: dict[str, str], origin: tuple[str, int], default_kind: str,
           problems: list[Problem]) -> Draft | None:
    before = len(problems)
    for column in REQUIRED:
        if not row.get(column):
            problems.append(Problem(*origin, f"column '{column}' is empty; every event needs one"))
    if len(problems) > before:
        return None
    start = _moment(row["start"], "start", origin, problems)
    end = _moment(row["end"], "end", origin, problems) if row.get("end") else None
    exceptions = tuple(m for item in re.split(r"[,;]\s*|\s+(?=\d{4}-)", row.get("except", ""))
                       if item.strip() and (m := _moment(item.strip(), "except", origin, problems)))
    if start is None or len(problems) > before:
        return None
    text = tidy(row.get("description", "")) or None
    return Draft(
        source_uid=row.get("uid") or None, title=one_line(row["title"]),
        kind=row.get("kind", "").lower() or default_kind, start=start, end=end,
        duration=row.get("duration") or None, timezone=row.get("timezone") or None,
        status=row.get("status", "").lower() or None, location=one_line(row.get("location", "")) or None,
        url=row.get("url") or None, summary=one_line(row.get("summary", "")) or None,
        description=text, tags=tuple(t for t in (slugify(t) for t in row.get("tags", "").split(",")) if t),
        rule=row.get("rule") or None, exceptions=exceptions, origin=f"{origin[0]}:{origin[1]}",
        strict=True, kind_named=bool(row.get("kind", "").strip()))
