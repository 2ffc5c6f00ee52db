"""Issue 11, build side: what an attacker or a bad day did to `build`, each case held here."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import re
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def test_an_out_that_cannot_be_created_is_one_line(site: Path, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(os, "mkdir", refuse)  # as for a folder of someone else's, without root
    result = build("--out", "new/output")
    assert result.exit_code == 1
    assert result.output == ("Error: cannot write to --out new/output: Permission denied; "
                             "nothing was published\n")


def test_a_read_only_out_is_one_line(site: Path, small_disk: Path) -> None:
    import subprocess
    out = small_disk / "out"
    assert build("--out", str(out)).exit_code == 0
    (site / "events/meetup.yaml").write_text(plain_event(title="Renamed"))
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    result = build("--out", str(out))
    assert result.exit_code == 1
    assert result.output == ("Error: cannot write to --out disk/out: Read-only file system; "
                             "nothing was published\n")


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


# Items 8 and 9: input files that are links, secrets, controls or out of range.

def build_problems(*extra: str) -> list[str]:
    """`pipeline build` of the working folder: exit 1, no traceback; the problem lines."""
    result = build(*extra)
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[-1].endswith("found; nothing was published."), lines
    return lines[:-1]


PRIVATE_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\n"
               + "\n".join("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtz"
                           for _ in range(5)) + "\n-----END OPENSSH PRIVATE KEY-----\n")


@pytest.mark.parametrize("folder", ["events", "newsletters"])
def test_a_symlinked_input_file_is_refused_and_never_read(site: Path, folder: str) -> None:
    secret = site / "id_ed25519"
    secret.write_text(PRIVATE_KEY)
    (site / folder).mkdir(exist_ok=True)
    (site / folder / "meetup-copy.yaml").symlink_to(secret)
    assert build_problems() == [
        f"{folder}/meetup-copy.yaml:1: the file is a symbolic link; "
        f"{'event' if folder == 'events' else 'newsletter issue'} files must be regular files "
        "(copy the file here instead of linking it)"]


def test_a_symlink_to_a_good_event_inside_events_is_refused_too(site: Path) -> None:
    (site / "events/alias.yaml").symlink_to(site / "events/meetup.yaml")
    assert build_problems() == ["events/alias.yaml:1: the file is a symbolic link; event files "
                                "must be regular files (copy the file here instead of linking it)"]


def test_no_error_quotes_more_than_a_short_excerpt_of_a_file(site: Path, write_yaml) -> None:
    (site / "events/key.yaml").write_text(PRIVATE_KEY)
    long_value = "x" * 5000
    write_yaml("events/values.yaml", f"""
        title: A
        kind: {long_value}
        start: {long_value}
        url: {long_value}
        tags: [{long_value}]
        timezone: Europe/Paris
        duration: {long_value}
        recurrence: {{rule: "FREQ=WEEKLY;{long_value}"}}
    """)
    problems = build_problems()
    assert len(problems) >= 4
    for line in problems:
        assert len(line) < 300, line
    assert "b3BlbnNzaC1rZXktdjEAAAAA" not in "\n".join(problems)
    assert problems[0].startswith("events/key.yaml:1: the file holds the single value "
                                  "'-----BEGIN OPENSSH P'... (")


def plain_event(**extra: str) -> str:
    """The meetup event as written in a file (no indent), with `extra` keys after it."""
    text = "title: Meetup\nkind: meetup\nstart: 2025-03-05 19:00\nduration: 2h\n" \
           "timezone: Europe/Paris\n"
    for key, value in extra.items():
        if f"{key}:" in text:
            text = re.sub(rf"^{key}: .*$", lambda _, k=key, v=value: f"{k}: {v}", text,
                          flags=re.M)
        else:
            text += f"{key}: {value}\n"
    return text


@pytest.mark.parametrize("char", ["\x7f", "\x80", "\x9b", "\x9f"])
@pytest.mark.parametrize(("key", "line"), [("title", 1), ("location", 6), ("summary", 6)])
def test_del_and_c1_controls_are_refused_with_path_and_line(site: Path, char: str, key: str,
                                                            line: int) -> None:
    (site / "events/meetup.yaml").write_text(plain_event(**{key: f'"a\\u{ord(char):04x}b"'}))
    assert build_problems() == [f"events/meetup.yaml:{line}: '{key}' contains a control "
                                "character; remove it"]


def test_a_url_with_a_c1_control_is_refused(site: Path) -> None:
    (site / "events/meetup.yaml").write_text(plain_event(url='"https://a.org/\\u0090x"'))
    problem, = build_problems()
    assert problem == "events/meetup.yaml:6: 'url' contains a control character; remove it"


def test_a_240_character_id_is_refused_at_load_time(site: Path) -> None:
    (site / "events/meetup.yaml").write_text(plain_event(id="a" * 240))
    assert build_problems() == ["events/meetup.yaml:6: 'id' is 240 characters long; at most 100 "
                                "(it becomes a file name): shorten it"]


def test_a_240_character_file_name_is_refused_at_load_time(site: Path, write_yaml) -> None:
    write_yaml(f"events/{'b' * 240}.yaml", EVENT.format(title="Long"))
    problem, = build_problems()
    assert problem.startswith(f"events/{'b' * 240}.yaml:1: the file name 'bbbb")
    assert "is over 100 characters, so it cannot be the event's id" in problem


def test_a_240_character_issue_id_is_refused_at_load_time(site: Path, write_yaml) -> None:
    write_yaml("newsletters/recap.yaml", f"""
        id: {'c' * 240}
        title: Recap
        date: 2025-01-06
        period: {{from: 2024-01-01, to: 2024-12-31}}
    """)
    assert build_problems() == ["newsletters/recap.yaml:1: 'id' is 240 characters long; at most "
                                "100 (it becomes a file name): shorten it"]


@pytest.mark.parametrize(("start", "extra"), [
    ("9999-12-31", ""), ("0001-01-01", ""), ("9999-12-31 23:00", "duration: 2h\n"),
    ("0001-01-01 00:30", "duration: 2h\n"), ("2025-01-01", "end: 9999-12-31\n"),
])
def test_years_9999_and_0001_are_refused_with_path_and_line(site: Path, write_yaml, start: str,
                                                            extra: str) -> None:
    timed = " " in start
    write_yaml("events/meetup.yaml", f"title: A\nkind: meetup\nstart: {start}\n{extra}"
               + ("timezone: Pacific/Kiritimati\n" if timed else ""))
    problem, = build_problems()
    assert re.fullmatch(r"events/meetup\.yaml:[34]: '(start|end)' \S+( \S+)? is outside the "
                        r"years 1900 to 2199 that calendars are published for; check the year",
                        problem), problem


@pytest.mark.parametrize("rule", ["FREQ=YEARLY;UNTIL=99991231T000000Z", "FREQ=YEARLY;COUNT=9000"])
def test_a_series_ending_after_2199_is_refused(site: Path, write_yaml, rule: str) -> None:
    (site / "events/meetup.yaml").write_text(plain_event(recurrence=f'{{rule: "{rule}"}}'))
    assert build_problems() == [f"events/meetup.yaml:6: rule '{rule}' ends in the year 9999, "
                                "after 2199; end it earlier (UNTIL, COUNT) or leave it open-ended"]


def test_the_last_years_allowed_build(site: Path, write_yaml) -> None:
    write_yaml("events/meetup.yaml", "title: A\nkind: meetup\nstart: 2199-12-31 23:00\n"
               "duration: 366d\ntimezone: Pacific/Kiritimati\nrecurrence: {rule: FREQ=YEARLY}\n")
    write_yaml("events/first.yaml", "title: B\nkind: meetup\nstart: 1900-01-01\n")
    assert build().exit_code == 0


@pytest.mark.parametrize("duration", ["99999999h", "367d", "9999999999999999999999m"])
def test_huge_durations_are_refused_with_path_and_line(site: Path, write_yaml,
                                                       duration: str) -> None:
    (site / "events/meetup.yaml").write_text(plain_event(duration=duration))
    assert build_problems() == [f"events/meetup.yaml:4: 'duration' {duration} is longer than 366 "
                                "days; check it, or make it an all-day event with 'end' (its "
                                "last day)"]


@pytest.mark.parametrize("rule", ["FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
                                  "FREQ=DAILY;BYMONTH=4,6;BYMONTHDAY=31",
                                  "FREQ=WEEKLY;BYMONTH=2;BYMONTHDAY=30,31;BYDAY=MO"])
def test_a_rule_that_never_matches_is_refused_quickly(site: Path, write_yaml, rule: str) -> None:
    (site / "events/meetup.yaml").write_text(plain_event(recurrence=f'{{rule: "{rule}"}}'))
    started = time.monotonic()
    problem, = build_problems()
    assert time.monotonic() - started < 3
    assert problem == (f"events/meetup.yaml:6: this rule has no occurrence: no date ever matches "
                       f"'{rule}'; check its BYMONTH, BYMONTHDAY and BYDAY parts")


def test_a_rule_matching_rarely_is_searched_in_bounded_time(site: Path, write_yaml) -> None:
    # Day 60 is in February or March, never in January: no quick test says so; the search
    # covers one 400-year cycle of the calendar instead of running to the year 9999.
    import datetime as dt

    from dateutil.rrule import rrulestr

    from pipeline.sources.recurrence import first_occurrence
    start = dt.datetime(2025, 1, 6, 19, 0)
    started = time.monotonic()
    assert first_occurrence(rrulestr("FREQ=YEARLY;BYYEARDAY=60;BYMONTH=1", dtstart=start),
                            start) is None
    assert first_occurrence(rrulestr("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", dtstart=start),
                            start) == dt.datetime(2028, 2, 29, 19, 0)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("interval", ["9999999999999999999999m", "367d"])
def test_a_huge_refresh_interval_is_refused_with_path_and_line(site: Path, write_yaml,
                                                               interval: str) -> None:
    write_yaml("pipeline.yaml", SETTINGS + f"    refresh_interval: {interval}\n")
    assert build_problems() == [f"pipeline.yaml:4: 'refresh_interval' {interval} is longer than "
                                "366 days; write e.g. 12h or 1d"]


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 256 KiB tmpfs (root only; skipped where mounting is not allowed)."""
    import subprocess
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs",
                                            str(mount)], capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root (the monkeypatched ENOSPC test runs)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_really_full_disk_is_one_line_and_publishes_nothing(site: Path, small_disk: Path) -> None:
    out = small_disk / "out"
    assert build("--out", str(out)).exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (site / "events/meetup.yaml").write_text(plain_event(title="Renamed"))
    filler = small_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:  # fill the disk to the last byte
        with pytest.raises(OSError, match="No space left"):
            while True:
                os.write(fd, b"\0" * 512)
    finally:
        os.close(fd)
    result = build("--out", str(out))
    assert result.exit_code == 1
    assert result.output.endswith("No space left on device; nothing was published\n")
    assert result.output.count("\n") == 1
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    filler.unlink()
    assert build("--out", str(out)).exit_code == 0
    assert b"SUMMARY:Renamed" in (out / "calendar/events/meetup.ics").read_bytes()


def test_a_lock_file_planted_as_a_symlink_creates_nothing_outside(tmp_path: Path) -> None:
    out, target = tmp_path / "out", tmp_path / "created-by-the-build"
    out.mkdir()
    (out / ".pipeline.lock").symlink_to(target)
    with pytest.raises(PipelineError, match=r"\.pipeline\.lock is a symbolic link"):
        publish(OLD, out, quiet=True)
    assert not target.exists() and not (out / MANIFEST).exists()


# Fuzz: whatever an event file says, the build reports it or renders it, never a traceback.


YEARS_TEXT = st.sampled_from(["0001", "1899", "1900", "2025", "2199", "2200", "9999"])
WALL = st.builds(lambda y, rest, time: f"{y}-{rest}{time}", YEARS_TEXT,
                 st.sampled_from(["01-01", "02-29", "03-30", "10-26", "12-31", "13-01"]),
                 st.sampled_from(["", " 00:30", " 02:30", " 23:59", " 24:00", "T12:00:00"]))
ODD_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
                   max_size=30)
VALUES = {
    "id": st.one_of(st.from_regex(r"[a-z0-9][a-z0-9-]{0,120}", fullmatch=True), ODD_TEXT),
    "title": ODD_TEXT,
    "start": WALL,
    "end": WALL,
    "duration": st.one_of(st.from_regex(r"[0-9]{1,25}[dhm]", fullmatch=True), ODD_TEXT),
    "timezone": st.sampled_from(["Europe/Paris", "Pacific/Kiritimati", "UTC", "Nowhere/X",
                                 "America/St_Johns"]),
    "url": st.one_of(ODD_TEXT, ODD_TEXT.map(lambda t: "https://a.example/" + t)),
    "recurrence": st.fixed_dictionaries({"rule": st.sampled_from([
        "FREQ=YEARLY", "FREQ=DAILY;COUNT=10000", "FREQ=WEEKLY;UNTIL=99991231T000000Z",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=MONTHLY;BYDAY=5FR", "FREQ=YEARLY;COUNT=9000",
        "FREQ=DAILY;INTERVAL=0", "FREQ=WEEKLY;UNTIL=21991231"])}),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(sorted(VALUES)), st.none(), max_size=8).flatmap(
    lambda keys: st.fixed_dictionaries({key: VALUES[key] for key in keys})))
def test_any_event_file_is_reported_or_rendered_never_a_traceback(tmp_path_factory,
                                                                  values: dict) -> None:
    from pipeline.calendar.feeds import render_calendars
    from pipeline.errors import InvalidInput
    from pipeline.sources.events import load_events
    from pipeline.sources.settings import Settings

    folder = tmp_path_factory.mktemp("events")
    # JSON is YAML: every value arrives exactly as generated, quoted where it must be.
    (folder / "fuzzed.yaml").write_text(json.dumps({"title": "T", "kind": "meetup",
                                                    "start": "2025-01-06", **values}))
    try:
        events = load_events(folder, Settings())
    except InvalidInput as error:
        for problem in error.problems:
            assert problem.path.endswith("fuzzed.yaml") and problem.line >= 1, problem
            assert "\n" not in problem.message and len(problem.message) < 400, problem
        return
    files = render_calendars(events, Settings(), dt.datetime(2025, 1, 6, tzinfo=dt.UTC))
    assert files["calendar/upcoming.ics"].startswith(b"BEGIN:VCALENDAR")
