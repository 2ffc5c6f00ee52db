"""Issue 11, build side: what an attacker or a bad day did to `build`, each case held here."""

from __future__ import annotations

import errno
import os
import re
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.calendar.stamps import LEDGER_FILE
from pipeline.cli import cli
from pipeline.errors import PipelineError
from pipeline.publish.manifest import MANIFEST
from pipeline.publish.writer import publish

SETTINGS = """
    site_name: Test Community
    base_url: https://events.example.org/
    sender: News <news@example.org>
"""
EVENT = """
    title: {title}
    kind: meetup
    start: 2025-03-05 19:00
    duration: 2h
    timezone: Europe/Paris
"""


def run(*args: str):
    """`pipeline ARGS` in the working folder; no traceback, ever."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result


def build(*extra: str, now: str = "2025-01-06T09:00:00Z"):
    return run("build", "--now", now, "--quiet", *extra)


@pytest.fixture
def site(write_yaml, in_tmp: Path) -> Path:
    write_yaml("pipeline.yaml", SETTINGS)
    write_yaml("events/meetup.yaml", EVENT.format(title="Meetup"))
    return in_tmp


def sequence(out: Path) -> int:
    match = re.search(rb"SEQUENCE:(\d+)", (out / "calendar/events/meetup.ics").read_bytes())
    assert match
    return int(match.group(1))


# Item 4: the ledger is read under the lock.

def test_overlapping_builds_never_move_sequence_backwards(site: Path, write_yaml,
                                                          monkeypatch) -> None:
    import pipeline.calendar.stamps as stamps
    import pipeline.publish.writer as writer

    assert build().exit_code == 0
    assert sequence(site / "output") == 0
    real_read, real_locked = stamps.read_ledger, writer._publish_locked
    second_read = threading.Event()
    reads: list[str] = []

    def read_ledger(out_dir):
        reads.append(threading.current_thread().name)
        if threading.current_thread().name == "second":
            second_read.set()
        return real_read(out_dir)

    def publish_locked(*args, **kwargs):
        if threading.current_thread().name == "first":
            # Hold the lock while the second build starts: had it read the ledger before
            # taking the lock, it would do so now and stamp its change with a stale SEQUENCE.
            second.start()
            second_read.wait(timeout=3)
        return real_locked(*args, **kwargs)

    monkeypatch.setattr(stamps, "read_ledger", read_ledger)
    monkeypatch.setattr(writer, "_publish_locked", publish_locked)
    results: dict[str, int] = {}

    def build_as(title: str, now: str) -> None:
        write_yaml(f"events-{title}/meetup.yaml", EVENT.format(title=title))
        results[title] = build("--events", f"events-{title}", now=now).exit_code

    first = threading.Thread(target=build_as, args=("First", "2025-01-07T09:00:00Z"),
                             name="first")
    second = threading.Thread(target=build_as, args=("Second", "2025-01-08T09:00:00Z"),
                              name="second")
    first.start()
    first.join(timeout=60)
    second.join(timeout=60)
    assert results == {"First": 0, "Second": 0}
    # Two content changes after SEQUENCE 0, one after the other: 1, then 2; never 1 twice.
    assert b"SUMMARY:Second" in (site / "output/calendar/events/meetup.ics").read_bytes()
    assert sequence(site / "output") == 2
    assert b'"meetup@' in (site / "output" / LEDGER_FILE).read_bytes()


# Item 7: nothing is written or deleted through a symlink inside the publish root.

OLD = {"calendar/events/a.ics": b"A", "calendar/events/b.ics": b"B", "calendar/upcoming.ics": b"U"}


def test_pruning_never_deletes_through_a_planted_folder_symlink(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    publish(OLD, out, quiet=True)
    outside.mkdir()
    (outside / "b.ics").write_bytes(b"someone else's file")
    for name in ("a.ics", "b.ics"):
        (out / "calendar/events" / name).unlink()
    (out / "calendar/events").rmdir()
    (out / "calendar/events").symlink_to(outside)
    before = (out / MANIFEST).read_bytes()
    with pytest.raises(PipelineError, match=r"calendar/events is a symbolic link") as caught:
        publish({"calendar/events/a.ics": b"A", "calendar/upcoming.ics": b"U2"}, out, quiet=True)
    assert "\n" not in caught.value.message
    assert (outside / "b.ics").read_bytes() == b"someone else's file"
    assert sorted(p.name for p in outside.iterdir()) == ["b.ics"]  # nothing written there
    assert (out / "calendar/upcoming.ics").read_bytes() == b"U"  # nothing published at all
    assert (out / MANIFEST).read_bytes() == before


def test_writes_never_go_through_a_planted_folder_symlink(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    out.mkdir()
    (out / "calendar").symlink_to(outside)
    (tmp_path / "e").mkdir()
    result = CliRunner().invoke(cli, ["build", "--out", str(out), "--events", str(tmp_path / "e"),
                                      "--now", "2025-01-06", "--allow-empty"])
    assert not list(outside.iterdir())
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "calendar is a symbolic link" in result.output


def test_a_symlinked_artifact_file_is_replaced_not_written_through(tmp_path: Path) -> None:
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    publish(OLD, out, quiet=True)
    victim.write_bytes(b"keep me")
    (out / "calendar/upcoming.ics").unlink()
    (out / "calendar/upcoming.ics").symlink_to(victim)
    publish(OLD, out, quiet=True)
    assert victim.read_bytes() == b"keep me"
    assert not (out / "calendar/upcoming.ics").is_symlink()
    assert (out / "calendar/upcoming.ics").read_bytes() == b"U"


# Item 9: an emptied events folder, a full disk, a bad --out.

def test_an_emptied_events_folder_unpublishes_nothing_without_allow_empty(site: Path) -> None:
    assert build().exit_code == 0
    (site / "events/meetup.yaml").unlink()
    result = build()
    assert result.exit_code == 1
    assert "has no events, but the last build published 1 event" in result.output
    assert "--allow-empty" in result.output and result.output.count("\n") == 1
    assert (site / "output/calendar/events/meetup.ics").exists()
    assert build("--allow-empty").exit_code == 0
    assert not (site / "output/calendar/events/meetup.ics").exists()
    assert build().exit_code == 0  # nothing left to lose: no flag needed any more


def test_a_first_build_without_events_needs_no_flag(site: Path) -> None:
    (site / "events/meetup.yaml").unlink()
    assert build().exit_code == 0
    assert (site / "output/calendar/upcoming.ics").exists()


def test_a_full_disk_is_one_line_and_publishes_nothing(site: Path, monkeypatch) -> None:
    assert build().exit_code == 0
    before = {p: p.read_bytes() for p in (site / "output").rglob("*") if p.is_file()}
    (site / "events/meetup.yaml").write_text(EVENT.format(title="Renamed"))
    real_write = os.write

    def write(fd: int, data) -> int:
        if len(data) > 40:  # the staged artifacts (not the lock's empty file)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    result = build()
    monkeypatch.setattr(os, "write", real_write)
    assert result.exit_code == 1
    assert result.output == ("Error: cannot publish to --out output: No space left on device; "
                             "nothing was published\n")
    after = {p: p.read_bytes() for p in (site / "output").rglob("*") if p.is_file()}
    assert after == before  # no temp file left, nothing replaced


def test_a_dangling_symlink_out_is_one_line(site: Path) -> None:
    (site / "gone").symlink_to(site / "missing-folder")
    result = build("--out", "gone")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "--out gone is a symbolic link to" in result.output and "does not exist" in result.output


def test_a_read_only_out_is_one_line(site: Path, monkeypatch) -> None:
    (site / "output").mkdir()
    real_access = os.access
    # chmod does not stop root; a read-only mount is what os.access then reports.
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if Path(path).name ==
                        "output" and mode & os.W_OK else real_access(path, mode, **kw))
    result = build()
    assert result.exit_code == 1
    assert result.output == ("Error: cannot write to --out output: Permission denied; nothing "
                             "was published\n")


@pytest.mark.parametrize("out", ["/", "HOME", ".", "events", "..", "newsletters", "events/.."])
def test_out_may_not_hold_the_system_a_home_or_the_inputs(site: Path, out: str,
                                                          monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(site))
    (site / "newsletters").mkdir()
    out = str(site) if out == "HOME" else out
    started = time.monotonic()
    result = build("--out", out)
    assert result.exit_code == 2 and time.monotonic() - started < 5
    assert "Invalid value for --out" in result.output
    assert "publish into a folder of its own" in result.output
    assert not (site / out / MANIFEST).exists() or out == "/"
