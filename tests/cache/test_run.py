"""Rebuilds cost what changed, and every one publishes the bytes of a cold build of its input."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from cachesite import FILES, NOW, build, cold_build, forget_last_run, make_site

import pipeline.cache.events as events_module
import pipeline.cache.fragments as fragments_module
import pipeline.cache.run as run_module
from pipeline.build import build_site
from pipeline.cache import cache_dir_for
from pipeline.cache.events import PACK
from pipeline.cache.run import RUN
from pipeline.publish.writer import JOURNAL

# Past conference: over on 2025-01-15; Paris docathon: over at the end of 2025-03-30 (Paris);
# Seoul meetup: 2025-04-10 21:00 Seoul. NOW is 2025-03-01.
DOCATHON_OVER = dt.datetime(2025, 3, 30, 22, 0, tzinfo=dt.UTC)  # 2025-03-31 00:00 Paris (CEST)


@pytest.fixture
def site(in_tmp: Path) -> Path:
    return make_site(in_tmp)


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The event files the build parses (the cold build's included)."""
    seen: list[str] = []
    load_event = events_module.load_event

    def parse(path, settings, problems, shown=None):
        seen.append(path.as_posix())
        return load_event(path, settings, problems, shown)

    monkeypatch.setattr(events_module, "load_event", parse)
    # ...and where a delta rebuild parses a changed file (pipeline/rebuild.py)
    monkeypatch.setattr("pipeline.sources.events.load_event", parse)
    return seen


def settle() -> None:
    """Let the file system's clock pass the last write: a stat from the same tick is not
    trusted (racy-timestamp rule), which would make every quick test take the slow path."""
    time.sleep(0.02)


def warm(parsed: list[str], now: dt.datetime = NOW) -> dict[str, bytes]:
    settle()
    first = build(now=now)
    settle()
    parsed.clear()
    return first


def test_unchanged_build_stops_at_the_stats_and_says_the_whole_runs_time(site, parsed, capsys,
                                                                         monkeypatch):
    import pipeline.build as build_module

    first = warm(parsed)
    capsys.readouterr()
    with monkeypatch.context() as patch:
        patch.setattr(build_module, "load_inputs", None)  # a call would fail: none is made
        build_site(Path("events"), Path("newsletters"), Path("output"), NOW, Path("pipeline.yaml"))
    out = capsys.readouterr().out
    assert re.fullmatch(r"built: 4 events, 2 feeds, 1 issue; (\d+) files: 0 written, \1 unchanged, "
                        r"0 removed in \d+\.\d\ds\n", out), out
    assert build() == first == cold_build()


def test_summary_time_counts_the_whole_run_not_only_publishing(site, monkeypatch, capsys):
    import pipeline.build as build_module

    load_facts = build_module.load_facts

    def slow_load(*args, **kwargs):
        time.sleep(0.5)
        return load_facts(*args, **kwargs)

    monkeypatch.setattr(build_module, "load_facts", slow_load)
    build_site(Path("events"), Path("newsletters"), Path("output"), NOW, Path("pipeline.yaml"),
               started=time.perf_counter())
    seconds = float(re.search(r" in ([0-9.]+)s$", capsys.readouterr().out.strip()).group(1))
    assert seconds >= 0.5


@pytest.mark.parametrize("later", [
    dt.datetime(2025, 3, 20, tzinfo=dt.UTC),  # before anything ends: still a no-op
    DOCATHON_OVER - dt.timedelta(seconds=1),
    DOCATHON_OVER,  # the docathon is over: upcoming.ics changes
    dt.datetime(2025, 4, 20, tzinfo=dt.UTC),  # the meetup is over too
])
def test_a_later_now_gives_the_cold_build_at_that_now(site, parsed, later):
    warm(parsed)
    output = build(now=later)
    assert (b"paris-docathon@" in output["calendar/upcoming.ics"]) == (later < DOCATHON_OVER)
    if later < DOCATHON_OVER:
        assert parsed == []  # the record knew nothing changes before the docathon ends
    assert output == cold_build(later)


def test_an_earlier_now_is_not_taken_for_a_no_op(site, parsed):
    warm(parsed, now=NOW + dt.timedelta(days=1))
    assert build(now=NOW) == cold_build(NOW)


def test_an_edited_event_gives_the_cold_build(site, parsed, write_yaml):
    warm(parsed)
    write_yaml("events/seoul-meetup.yaml", FILES["events/seoul-meetup.yaml"].replace(
        "Seoul meetup", "Seoul meetup (moved)"))
    output = build()
    assert parsed == ["events/seoul-meetup.yaml"]
    assert b"Seoul meetup (moved)" in output["calendar/upcoming.ics"]
    assert output == cold_build()


def test_an_edit_keeping_size_and_mtime_is_still_seen(site, parsed):
    # The racy case: same size, same mtime. The inode or ctime changes, or the stat is too
    # recent to be trusted; in every case the file is hashed again.
    warm(parsed)
    path = Path("events/seoul-meetup.yaml")
    info = path.stat()
    path.write_text(path.read_text(encoding="utf-8").replace("19:00", "18:00"), encoding="utf-8")
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert path.stat().st_size == info.st_size
    output = build()
    assert b"T180000" in output["calendar/events/seoul-meetup.ics"]
    assert output == cold_build()


def test_a_changed_setting_gives_the_cold_build(site, parsed, write_yaml):
    warm(parsed)
    write_yaml("pipeline.yaml", FILES["pipeline.yaml"].replace("Cache Test", "Renamed Site"))
    output = build()
    assert b"Renamed Site" in output["calendar/upcoming.ics"] and len(parsed) == 4
    assert output == cold_build()


def test_a_changed_template_gives_the_cold_build(site, parsed):
    before = warm(parsed)
    template = next(Path("templates/email").glob("*.txt.j2"))
    template.write_text(template.read_text(encoding="utf-8") + "\nEdited footer line.\n",
                        encoding="utf-8")
    output = build()
    assert output != before and parsed == []  # events from the cache, the issue rendered again
    assert output == cold_build()


def test_an_added_renamed_and_deleted_file_give_the_cold_build(site, parsed, write_yaml):
    warm(parsed)
    Path("events/seoul-meetup.yaml").rename("events/seoul-meetup-2025.yaml")
    assert build() == cold_build()
    settle()
    write_yaml("events/new-meetup.yaml", FILES["events/seoul-meetup.yaml"])
    assert "calendar/events/new-meetup.ics" in (added := build())
    assert added == cold_build()
    settle()
    Path("events/past-conference.yaml").unlink()
    assert "calendar/events/past-conference.ics" not in (deleted := build())
    assert deleted == cold_build()


@pytest.mark.parametrize("how", ["deleted", "damaged", "other version"])
def test_a_lost_damaged_or_foreign_cache_gives_the_cold_build(site, parsed, monkeypatch, how):
    first = warm(parsed)
    folder = cache_dir_for(Path("output"))
    if how == "deleted":
        shutil.rmtree(folder)
    elif how == "damaged":
        for name in (PACK, RUN):
            data = (folder / name).read_bytes()
            (folder / name).write_bytes(data[: len(data) // 2] + b"\x00" + data[len(data) // 2:])
    else:
        for module in (events_module, run_module):
            monkeypatch.setattr(module, "code_version", lambda: "another version")
    assert build() == first == cold_build()
    # The cold build parsed every file, and so did this one: the records are one sealed line.
    assert len(parsed) == 4 + 4


def test_a_publish_root_changed_by_someone_else_is_rebuilt(site, parsed):
    first = warm(parsed)
    Path("output/calendar/upcoming.ics").write_bytes(b"tampered")
    Path("output/manifest.json").write_bytes(b"{}")
    assert build() == first


@pytest.mark.parametrize("name", ["manifest.json", ".pipeline-state.json"])
def test_a_state_file_rewritten_in_place_with_its_size_and_mtime_is_seen(site, parsed, name):
    # The no-op trusts the manifest and ledger by the stat recorded after the publish; a
    # rewrite in place keeps the inode and can keep size and mtime, never the ctime.
    first = warm(parsed)
    path = Path("output", name)
    data, info = path.read_bytes(), os.stat(path)
    time.sleep(0.05)  # past the file system's clock tick of the publish
    with open(path, "r+b") as handle:  # in place: the same inode
        handle.write(data.replace(b"2", b"3", 1))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert os.stat(path).st_ino == info.st_ino and os.stat(path).st_size == info.st_size
    output = build()
    if name == "manifest.json":  # rebuilt, not taken for a no-op: the manifest repaired
        assert output == first and path.read_bytes() == data
    else:  # rebuilt from the ledger as it now is (a no-op would have published nothing)
        assert output != first


def test_an_interrupted_publish_is_repaired_not_taken_for_a_no_op(site, parsed):
    first = warm(parsed)
    Path("output/calendar/upcoming.ics").write_bytes(b"half written")
    Path("output", JOURNAL).write_text('{"paths": ["calendar/upcoming.ics"]}\n')
    assert build() == first


def test_compacted_fragments_serve_the_next_build_as_the_old_ones_did(site, parsed, write_yaml,
                                                                      monkeypatch):
    # fragments.bin is written anew with its live spans once less than half of it is live;
    # the records then point into the new file, and the next build reads every one of them.
    monkeypatch.setattr(fragments_module, "COMPACT_SLACK", 0)  # compact even a small file
    fragments = cache_dir_for(Path("output")) / fragments_module.FRAGMENTS
    warm(parsed)
    title, sizes = "Seoul meetup", [fragments.stat().st_size]
    while len(sizes) < 10 and sizes[-1] >= max(sizes):  # until a save writes it anew
        title += " again"  # each edit appends the event's bytes: the old ones are dead
        write_yaml("events/seoul-meetup.yaml",
                   FILES["events/seoul-meetup.yaml"].replace("Seoul meetup", title))
        settle()
        forget_last_run()  # the full build's records (a delta rebuild leaves them alone)
        build()
        settle()
        sizes.append(fragments.stat().st_size)
    assert sizes[-1] < max(sizes), sizes  # compacted by the last build
    parsed.clear()
    write_yaml("events/past-conference.yaml",
               FILES["events/past-conference.yaml"].replace("Talks", "Talks and demos"))
    output = build()
    assert parsed == ["events/past-conference.yaml"]  # the others, from the compacted file
    assert output == cold_build()


def test_an_input_dated_past_2262_is_stat_like_any_other(site, parsed, write_yaml):
    # Its nanosecond mtime does not fit 64 bits: the no-op check's digest must take it
    # (it once would have stopped the build with a struct.error) and still see its edit.
    far = 14_000_000_000 * 10**9  # in the year 2413 (ext4 stores times to 2446)
    os.utime("events/seoul-meetup.yaml", ns=(far, far))
    if os.stat("events/seoul-meetup.yaml").st_mtime_ns != far:
        pytest.skip("this file system cannot store a time past 2262")
    first = warm(parsed)
    assert build() == first and parsed == []  # a no-op
    write_yaml("events/seoul-meetup.yaml", FILES["events/seoul-meetup.yaml"].replace(
        "Seoul meetup", "Seoul meetup (far)"))
    os.utime("events/seoul-meetup.yaml", ns=(far + 1, far + 1))
    output = build()
    assert parsed == ["events/seoul-meetup.yaml"]
    assert output == cold_build()
