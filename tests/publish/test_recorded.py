"""publish(trust_manifest=True): unchanged files are known by the manifest's hashes, not read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.publish.folders import RootFolders
from pipeline.publish.writer import JOURNAL, publish

FILES = {"calendar/upcoming.ics": b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
         "calendar/events/a.ics": b"A", "newsletter/index.html": b"<html></html>"}


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which files the publish step reads back."""
    seen: list[str] = []
    current = RootFolders.read

    def spy(self, path):
        seen.append(Path(path).name)
        return current(self, path)

    monkeypatch.setattr(RootFolders, "read", spy)
    return seen


def test_unchanged_files_are_not_read_back(tmp_path: Path, reads: list[str]):
    publish(FILES, tmp_path, quiet=True)
    reads.clear()
    report = publish({**FILES, "calendar/events/a.ics": b"A2"}, tmp_path, quiet=True,
                     trust_manifest=True)
    assert report.written == ["calendar/events/a.ics"]
    assert not {"upcoming.ics", "index.html", "a.ics"} & set(reads)
    assert (tmp_path / "calendar/events/a.ics").read_bytes() == b"A2"


def test_after_an_interrupted_run_every_file_is_read_back_and_repaired(tmp_path: Path,
                                                                       reads: list[str]):
    publish(FILES, tmp_path, quiet=True)
    (tmp_path / "calendar/upcoming.ics").write_bytes(b"half")  # the manifest still says whole
    (tmp_path / JOURNAL).write_text(json.dumps({"paths": ["calendar/upcoming.ics"]}))
    report = publish(FILES, tmp_path, quiet=True, trust_manifest=True)
    assert report.written == ["calendar/upcoming.ics"]
    assert (tmp_path / "calendar/upcoming.ics").read_bytes() == FILES["calendar/upcoming.ics"]


def test_a_missing_file_is_written_again_whatever_the_manifest_says(tmp_path: Path):
    publish(FILES, tmp_path, quiet=True)
    (tmp_path / "newsletter/index.html").unlink()
    report = publish(FILES, tmp_path, quiet=True, trust_manifest=True)
    assert report.written == ["newsletter/index.html"]
