"""A rebuild of the changed event files alone publishes the bytes of a cold build, or gives up.

Every test changes the site the way a user would, builds through the last build's snapshot
(pipeline/rebuild.py), and compares every published file with a build of the same input
from nothing. `paths` records which way each build went: "delta" or "full".
"""

from __future__ import annotations

import datetime as dt
import inspect
import random
import shutil
import textwrap
import time
from pathlib import Path

import pytest
from cachesite import ROOT, build, cold_build

import pipeline.rebuild as rebuild_module
import pipeline.sources.events as events_module
from pipeline.cache import cache_dir_for
from pipeline.cache.snapshot import PIECES, SNAPSHOT
from pipeline.errors import InvalidInput
from pipeline.publish.writer import PublishRoot

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
SETTINGS = """\
    site_name: Delta Test
    base_url: https://events.example.org/
    feeds:
      - id: korea
        name: Korea
        tags: [korea]
      - id: meetups
        name: Meetups
        kinds: [meetup]
    """
# Picks only: an edit of any other event touches no issue, so it can take the delta path.
ISSUE = """\
    title: Q1 2025
    date: 2025-02-15
    period: {from: 2025-01-01, to: 2025-01-31}
    select: {tags: [pick]}
    looking_ahead: 2
    """
ZONES = ("Asia/Seoul", "Europe/Paris", "America/Los_Angeles", "Europe/London")


def event_text(number: int, title: str | None = None, day: int | None = None,
               zone: str | None = None) -> str:
    """A meetup, docathon or conference in one of ZONES; every third is in Korea."""
    kind = ("meetup", "docathon", "conference")[number % 3]
    zone = zone or ZONES[number % len(ZONES)]
    day = day if day is not None else 3 + number * 2 % 25
    tags = "[korea]" if number % 3 == 0 else "[europe, online]"
    return textwrap.dedent(f"""\
        title: {title or f'Event {number}'}
        kind: {kind}
        start: 2025-04-{day:02d} 18:00
        duration: 2h
        timezone: {zone}
        tags: {tags}
        summary: Number {number}, in {zone}.
        """)


@pytest.fixture
def site(in_tmp: Path) -> Path:
    """Twelve upcoming events, a past one, an issue, two feeds and the project's templates."""
    Path("pipeline.yaml").write_text(textwrap.dedent(SETTINGS))
    Path("newsletters").mkdir()
    Path("newsletters/2025-q1.yaml").write_text(textwrap.dedent(ISSUE))
    Path("events/2025").mkdir(parents=True)
    for number in range(12):
        Path(f"events/2025/event-{number:02d}.yaml").write_text(event_text(number))
    Path("events/past-pick.yaml").write_text(textwrap.dedent("""\
        title: Past pick
        kind: conference
        start: 2025-01-15 09:00
        end: 2025-01-15 18:00
        timezone: Europe/London
        tags: [pick]
        """))
    shutil.copytree(ROOT / "templates", "templates")
    return in_tmp


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which way each build went: 'delta' (rebuild_changed published) or 'full'."""
    taken: list[str] = []
    real = rebuild_module.rebuild_changed

    def spy(*args, **kwargs) -> bool:
        done = real(*args, **kwargs)
        out = inspect.signature(real).bind(*args, **kwargs).arguments["out_dir"]
        if out == Path("output"):  # not the cold builds compared with
            taken.append("delta" if done else "full")
        return done

    monkeypatch.setattr(rebuild_module, "rebuild_changed", spy)
    return taken


def settle() -> None:
    """Past the file system clock's tick: a stat from the last build's tick is not trusted."""
    time.sleep(0.02)


def rebuilt(now: dt.datetime = NOW) -> dict[str, bytes]:
    """A build after a change; asserts it published what a cold build of the input does."""
    settle()
    warm = build(now=now)
    settle()
    assert warm == cold_build(now), "the rebuild differs from a cold build"
    return warm


def first_build(paths: list[str]) -> dict[str, bytes]:
    settle()
    files = build(now=NOW)
    paths.clear()
    return files


def test_an_edited_title_takes_the_delta_path(site: Path, paths: list[str]) -> None:
    before = first_build(paths)
    path = Path("events/2025/event-04.yaml")
    path.write_text(path.read_text().replace("title: Event 4", "title: Event four edited"))
    after = rebuilt()
    assert paths == ["delta"]
    assert b"Event four edited" in after["calendar/upcoming.ics"]
    changed = sorted(name for name in after if after[name] != before.get(name))
    assert "events/event-04/index.html" in changed and "calendar/events/event-04.ics" in changed
    assert "events/event-05/index.html" not in changed


def test_moved_added_deleted_and_renamed_files_take_the_delta_path(site: Path,
                                                                    paths: list[str]) -> None:
    first_build(paths)
    path = Path("events/2025/event-07.yaml")
    path.write_text(event_text(7, day=28))  # now last in the feeds and the listing
    rebuilt()
    Path("events/2025/event-20.yaml").write_text(event_text(20, day=4))
    rebuilt()
    Path("events/2025/event-02.yaml").unlink()
    rebuilt()
    Path("events/2025/event-05.yaml").rename("events/event-05-renamed.yaml")  # a new id
    rebuilt()
    Path("events/2025/event-01.yaml").write_text(event_text(1, zone="Pacific/Honolulu"))
    rebuilt()  # the feeds gain a VTIMEZONE
    Path("events/2025/event-08.yaml").rename("events/kept-id.yaml")
    Path("events/kept-id.yaml").write_text("id: event-08\n" + event_text(8))  # the same id
    rebuilt()
    assert paths == ["delta"] * 6


def test_an_event_of_another_era_changes_its_zones_vtimezone_everywhere(
        site: Path, paths: list[str]) -> None:
    # One VTIMEZONE per zone spans every event in it (feeds and per-event files alike);
    # New York's rules changed in 2007, so an event of 2005 adds that era's rules to it:
    # also in the feeds of event 3 (a Korean meetup), though the past event is in no feed.
    first_build(paths)
    Path("events/2025/event-03.yaml").write_text(event_text(3, zone="America/New_York"))
    rebuilt()
    old = Path("events/old-new-york.yaml")
    old.write_text(event_text(40, zone="America/New_York").replace("2025-04", "2005-04"))
    files = rebuilt()
    for path in ("calendar/events/event-03.ics", "calendar/korea.ics", "calendar/meetups.ics"):
        assert b"UNTIL=20061030T060000Z" in files[path], path
    old.unlink()
    assert b"UNTIL=20061030T060000Z" not in rebuilt()["calendar/korea.ics"]
    assert paths == ["delta"] * 3


def test_the_feeds_a_change_is_not_in_are_not_made_again(
        site: Path, paths: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[set[str]] = []  # the paths each rebuild hands to the publish step
    publish_changes = PublishRoot.publish_changes
    monkeypatch.setattr(PublishRoot, "publish_changes", lambda root, artifacts, *args: (
        made.append(set(artifacts)), publish_changes(root, artifacts, *args))[1])
    first_build(paths)
    korea = {"calendar/korea.ics", "events/feeds/korea/index.html"}
    meetups = {"calendar/meetups.ics", "events/feeds/meetups/index.html"}
    # Event 4 is a docathon tagged europe and online: in the upcoming feed, not these two.
    Path("events/2025/event-04.yaml").write_text(event_text(4, title="Only upcoming"))
    rebuilt()
    assert "calendar/upcoming.ics" in made[0] and not made[0] & (korea | meetups)
    # Event 6 is a Korean meetup: both of its feeds and their pages are made again.
    Path("events/2025/event-06.yaml").write_text(event_text(6, title="Korean meetup"))
    files = rebuilt()
    assert made[1] >= korea | meetups
    assert b"Korean meetup" in files["calendar/korea.ics"]
    assert b"Korean meetup" in files["events/feeds/meetups/index.html"]
    assert paths == ["delta"] * 2


def test_files_touched_but_not_changed_are_hashed_not_parsed(
        site: Path, paths: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    first = first_build(paths)
    parsed: list[str] = []
    load_event = events_module.load_event
    monkeypatch.setattr(events_module, "load_event",
                        lambda path, *args: parsed.append(path.as_posix()) or load_event(path, *args))
    for number in (1, 2, 3):  # as a checkout rewrites files: new stats, the same bytes
        path = Path(f"events/2025/event-{number:02d}.yaml")
        path.write_bytes(path.read_bytes())
    assert rebuilt() == first
    assert paths == ["delta"] and parsed == []
    assert build() == first and paths == ["delta"]  # then a no-op: the new stats are kept


def test_a_deleted_event_is_warned_about_once(site: Path, paths: list[str],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    first_build(paths)
    capsys.readouterr()
    Path("events/2025/event-03.yaml").unlink()
    files = rebuilt()
    assert paths[0] == "delta"
    assert "calendar/events/event-03.ics" not in files
    assert capsys.readouterr().err.count("warning: event 'event-03' was published") == 1


def test_a_deletion_the_delta_path_gives_up_on_is_warned_about_once(
        site: Path, paths: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    first_build(paths)
    capsys.readouterr()
    Path("events/2025/event-03.yaml").unlink()
    Path("events/2025/event-05.yaml").write_text(event_text(5, title="Edited"))
    Path("events/2025/event-06.yaml").write_text(event_text(6, title="Edited"))  # one too many
    rebuilt()
    assert paths == ["full"]
    assert capsys.readouterr().err.count("warning: event 'event-03' was published") == 1


@pytest.mark.parametrize("change", ["problem", "duplicate", "three files",
                                    "settings", "template", "issue", "symlink", "over"])
def test_what_the_delta_path_cannot_be_sure_of_goes_the_full_way(
        site: Path, paths: list[str], change: str) -> None:
    first_build(paths)
    now = NOW
    if change == "problem":
        Path("events/2025/event-01.yaml").write_text("title: [unclosed\n")
    elif change == "duplicate":
        Path("events/twin.yaml").write_text("id: event-01\n" + event_text(1))
    elif change == "three files":  # more than 2 + one in fifty of a 13-event site
        for number in (1, 2, 3):
            Path(f"events/2025/event-{number:02d}.yaml").write_text(event_text(number, title="New"))
    elif change == "settings":
        Path("pipeline.yaml").write_text(textwrap.dedent(SETTINGS).replace("Delta", "Full"))
        Path("events/2025/event-01.yaml").write_text(event_text(1, title="One"))
    elif change == "template":  # a web template: every page may change
        listing = Path("templates/web/listing.html.j2")
        listing.write_text(listing.read_text() + "\n{# edited #}\n")
        Path("events/2025/event-01.yaml").write_text(event_text(1, title="One"))
    elif change == "issue":  # an issue file: its files may change
        Path("newsletters/2025-q1.yaml").write_text(textwrap.dedent(ISSUE).replace(
            "Q1 2025", "First quarter"))
        Path("events/2025/event-01.yaml").write_text(event_text(1, title="One"))
    elif change == "symlink":  # refused by the full build, with its problem
        Path("elsewhere.yaml").write_text(event_text(1, title="Linked"))
        Path("events/2025/event-01.yaml").unlink()
        Path("events/2025/event-01.yaml").symlink_to(Path("elsewhere.yaml").resolve())
    elif change == "over":  # `now` past an event's end: the feeds change with no file edited
        Path("events/2025/event-01.yaml").write_text(event_text(1, title="One"))
        now = dt.datetime(2025, 4, 30, tzinfo=dt.UTC)
    if change in ("problem", "duplicate", "symlink"):
        settle()
        with pytest.raises(InvalidInput):
            build(now=now)
        assert paths == ["full"]
        return
    rebuilt(now)
    assert paths == ["full"]


def test_an_issue_that_may_show_a_changed_event_is_rendered_again(site: Path,
                                                                  paths: list[str]) -> None:
    before = first_build(paths)
    Path("events/2025/event-01.yaml").write_text(  # now a pick the issue looks ahead to
        event_text(1, title="Picked").replace("[europe, online]", "[pick]"))
    after = rebuilt()
    assert b"Picked" in after["newsletter/2025-q1/index.html"]
    Path("events/2025/event-01.yaml").write_text(event_text(1))  # not a pick any more
    assert b"Picked" not in rebuilt()["newsletter/2025-q1/index.html"]
    Path("events/past-pick.yaml").write_text(  # an event the issue recaps
        Path("events/past-pick.yaml").read_text().replace("Past pick", "Recapped"))
    assert b"Recapped" in rebuilt()["newsletter/2025-q1/index.html"]
    assert paths == ["delta"] * 3
    assert before["newsletter/2025-q1/index.html"] != after["newsletter/2025-q1/index.html"]


def test_a_damaged_or_missing_snapshot_goes_the_full_way(site: Path, paths: list[str]) -> None:
    first_build(paths)
    snapshot = cache_dir_for(Path("output")) / SNAPSHOT
    data = bytearray(snapshot.read_bytes())
    data[-10] ^= 0xFF  # a byte of the last event's events.json item
    snapshot.write_bytes(bytes(data))
    Path("events/2025/event-04.yaml").write_text(event_text(4, title="Damaged"))
    rebuilt()
    snapshot.unlink()
    Path("events/2025/event-04.yaml").write_text(event_text(4, title="Missing"))
    rebuilt()
    assert paths == ["full", "full"]
    Path("events/2025/event-04.yaml").write_text(event_text(4, title="Back"))
    rebuilt()  # the full build wrote a snapshot again
    assert paths[-1] == "delta"


@pytest.mark.parametrize("name", [SNAPSHOT, PIECES])
@pytest.mark.parametrize("where", [0.1, 0.5, 0.9])
def test_any_damaged_byte_of_the_snapshot_gives_the_cold_builds_bytes(
        site: Path, paths: list[str], name: str, where: float) -> None:
    first_build(paths)
    path = cache_dir_for(Path("output")) / name
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= 0x20
    path.write_bytes(bytes(data))
    Path("events/2025/event-04.yaml").write_text(event_text(4, title="After damage"))
    rebuilt()
    assert paths == ["full"]


def test_a_full_build_after_delta_builds_reads_the_files_they_changed(
        site: Path, paths: list[str]) -> None:
    first_build(paths)
    Path("events/2025/event-04.yaml").write_text(event_text(4, title="Delta one"))
    rebuilt()
    Path("events/2025/event-06.yaml").write_text(event_text(6, title="Delta two"))
    rebuilt()
    Path("events/2025/event-04.yaml").write_text(event_text(4))  # as it was at first
    Path("events/2025/event-06.yaml").write_text(event_text(6))
    Path("events/2025/event-08.yaml").write_text(event_text(8, title="Third"))  # too many
    rebuilt()
    assert paths == ["delta", "delta", "full"]


def test_a_random_series_of_edits_matches_cold_builds(site: Path, paths: list[str]) -> None:
    """Seeded: edits, moves, adds, deletes and renames, one a build, in any order."""
    first_build(paths)
    chance = random.Random(17)
    for step in range(14):
        files = sorted(Path("events").rglob("event-*.yaml"))
        chosen = chance.choice(files)
        action = chance.choice(("title", "day", "zone", "add", "delete", "rename"))
        number = int(chosen.stem.split("-")[1])
        if action == "title":
            chosen.write_text(event_text(number, title=f"Step {step} title"))
        elif action == "day":
            chosen.write_text(event_text(number, day=chance.randrange(2, 28)))
        elif action == "zone":
            chosen.write_text(event_text(number, zone=chance.choice(ZONES)))
        elif action == "add":
            Path(f"events/event-{30 + step}.yaml").write_text(event_text(30 + step))
        elif action == "delete" and len(files) > 3:
            chosen.unlink()
        elif action == "rename":
            chosen.rename(chosen.with_name(f"event-{50 + step}.yaml"))
        rebuilt()
    assert "delta" in paths


def test_a_files_warning_is_shown_by_the_rebuild_that_read_it_not_by_later_ones(
        site: Path, paths: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Bug: an issue rendered again read the files earlier rebuilds had changed (the cache
    lacks them) and printed their warnings again, each hour an event changed."""
    Path("newsletters/2025-q1.yaml").write_text(textwrap.dedent(ISSUE).replace(
        "select: {tags: [pick]}\n", ""))  # it looks ahead to every upcoming event
    first_build(paths)
    warned = "warning: the value is only 'Lisbon Python'"
    Path("events/2025/event-04.yaml").write_text(event_text(4, title="Lisbon Python #41: Typing"))
    settle()
    capsys.readouterr()
    build()
    assert capsys.readouterr().err.count(warned) == 1
    Path("events/2025/event-06.yaml").write_text(event_text(6, title="Sixth"))
    settle()
    build()
    assert warned not in capsys.readouterr().err
    assert paths == ["delta", "delta"]
    rebuilt()  # the same bytes as a cold build


def test_a_series_with_changed_occurrences_keeps_the_delta_path(site: Path,
                                                                paths: list[str]) -> None:
    """Bug: such a series could not be cached, so no snapshot was written: all full builds."""
    shutil.copy(ROOT / "tests/fixtures/series/moved-and-cancelled.yaml", "events/call.yaml")
    first_build(paths)
    Path("events/2025/event-04.yaml").write_text(event_text(4, title="Edited"))
    rebuilt()
    Path("events/call.yaml").write_text(Path("events/call.yaml").read_text().replace(
        "status: cancelled", "title: Call, in English"))
    files = rebuilt()
    assert paths == ["delta", "delta"]
    assert b"SUMMARY:Call\\, in English" in files["calendar/events/call.ics"]
