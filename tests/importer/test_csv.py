"""CSV files with a header row: the documented example imports; a bad row stops the import."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.sources.events import load_events
from pipeline.sources.settings import Settings

DOC = (Path(__file__).resolve().parent.parent.parent / "docs" / "import.md").read_text()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["import", *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_documented_csv_example_imports_and_checks(tmp_path):
    (example,) = re.findall(r"```csv\n(.*?)```", DOC, flags=re.S)
    source = tmp_path / "events.csv"
    source.write_text(example, encoding="utf-8")
    code, report, errors = run(str(source), "--events", str(tmp_path / "events"))
    assert code == 0, errors
    events = {e.id: e for e in load_events(tmp_path / "events", Settings())}
    berlin = events["pytorch-berlin-meetup-2025-03-13"]
    assert berlin.recurrence and berlin.recurrence.rule == "FREQ=MONTHLY;BYDAY=2TH"
    assert berlin.tags == ("berlin", "community") and berlin.source_uid == "berlin-monthly"
    assert str(berlin.recurrence.exceptions[0]) == "2025-08-14 18:30:00+02:00"
    docathon = events["docathon-2025-2025-06-02"]
    assert (str(docathon.start), str(docathon.end), docathon.kind) == ("2025-06-02", "2025-06-13", "docathon")
    code, report, _ = run(str(source), "--events", str(tmp_path / "events"))
    assert "2 unchanged" in report


def test_semicolon_delimited_sheets_are_read(tmp_path):
    source = tmp_path / "sheet.csv"
    source.write_text("title;start;timezone;end\nSprint;2025-04-01 10:00;Europe/Paris;2025-04-01 16:00\n")
    code, _, errors = run(str(source), "--events", str(tmp_path / "events"))
    assert code == 0, errors
    assert (tmp_path / "events" / "sprint-2025-04-01.yaml").is_file()


def test_every_bad_row_is_reported_at_its_line_and_nothing_is_written(tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text("title,start,end,timezone\n"
                      "Good,2025-04-01,,\n"
                      "\"Two\nlines\",2025-04-02 18:00,,Europe/Paris\n"  # no end: the loader refuses
                      "Late,tomorrow,,\n")
    code, _, errors = run(str(source), "--events", str(tmp_path / "events"))
    assert code == 1
    assert "bad.csv:3:" in errors and "'end'" in errors
    assert "bad.csv:5: column 'start': 'tomorrow' is not a date" in errors
    assert not (tmp_path / "events").exists()


def test_an_unknown_column_is_named(tmp_path):
    source = tmp_path / "x.csv"
    source.write_text("title,start,colour\nA,2025-04-01,red\n")
    code, _, errors = run(str(source), "--events", str(tmp_path / "events"))
    assert code == 1 and "x.csv:1: unknown column 'colour'" in errors


def test_the_documented_columns_are_the_columns_read():
    from pipeline.importer.csvfile import COLUMNS

    table = DOC.split("## CSV files", 1)[1].split("```csv", 1)[0]
    assert tuple(re.findall(r"^\| `(\w+)` \|", table, flags=re.M)) == COLUMNS


def test_csv_on_standard_input(tmp_path):
    result = CliRunner().invoke(cli, ["import", "-", "--events", str(tmp_path / "e")],
                                input="title,start\nPicnic,2025-06-21\n")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "e" / "picnic-2025-06-21.yaml").read_text() == (
        "id: picnic-2025-06-21\ntitle: Picnic\nkind: meetup\nstart: 2025-06-21\n")
    assert "1 new event took the kind 'meetup': the source names none" in result.stdout
