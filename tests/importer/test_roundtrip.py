"""Importing the project's own published feeds gives back events with the same occurrences."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.model import Status
from pipeline.sources.events import load_events
from pipeline.sources.settings import Settings

ROOT = Path(__file__).resolve().parent.parent.parent
UNTIL = dt.datetime(2027, 1, 6, tzinfo=dt.UTC)


def occurrences(folder: Path) -> set[tuple]:
    """Every occurrence until 2027 as (title, start, end, cancelled), timed ones in UTC."""
    found = set()
    for event in load_events(folder, Settings()):
        for o in event.occurrences(before=UNTIL):
            start, end = ((o.start, o.end) if event.all_day else
                          (o.start.astimezone(dt.UTC), o.end.astimezone(dt.UTC)))  # type: ignore[union-attr]
            found.add((event.title, start, end, event.status is Status.CANCELLED))
    return found


def test_bundled_feeds_import_to_the_same_occurrences_and_build_again(tmp_path):
    out, events, again = tmp_path / "out", tmp_path / "events", tmp_path / "again"
    runner = CliRunner()
    built = runner.invoke(cli, ["build", "--events", str(ROOT / "events"), "--newsletters",
                                str(ROOT / "newsletters"), "--out", str(out), "--now",
                                "2025-01-06", "-q"])
    assert built.exit_code == 0, built.output
    feeds = sorted(str(p) for p in (out / "calendar" / "events").glob("*.ics"))
    imported = runner.invoke(cli, ["import", *feeds, "--events", str(events)])
    assert imported.exit_code == 0, imported.output
    assert occurrences(events) == occurrences(ROOT / "events")
    rebuilt = runner.invoke(cli, ["build", "--events", str(events), "--newsletters",
                                  str(tmp_path / "none"), "--out", str(again), "--now",
                                  "2025-01-06", "-q"])
    assert rebuilt.exit_code == 0, rebuilt.output
    # The series with its 'except' date comes back as a series, not as many events.
    assert len(list(events.glob("*.yaml"))) == len(feeds)
    assert "  rule: FREQ=WEEKLY;UNTIL=20251231T235959Z;BYDAY=WE\n" in (
        events / "pytorch-coresig-2024-12-04.yaml").read_text()


def test_the_feeds_own_page_link_becomes_url_not_text(tmp_path):
    out, events = tmp_path / "out", tmp_path / "events"
    runner = CliRunner()
    runner.invoke(cli, ["build", "--events", str(ROOT / "events"), "--newsletters",
                        str(ROOT / "newsletters"), "--out", str(out), "--now", "2025-01-06", "-q"])
    runner.invoke(cli, ["import", str(out / "calendar" / "events" / "pytorch-conference-2025.ics"),
                        "--events", str(events)])
    (text,) = [p.read_text() for p in events.glob("*.yaml")]
    assert "Event page:" not in text
    assert "\nurl: https://events.linuxfoundation.org/pytorch-conference-2025/\n" in text


def test_the_upcoming_feed_imports_to_its_events_occurrences(tmp_path):
    out, events = tmp_path / "out", tmp_path / "events"
    runner = CliRunner()
    runner.invoke(cli, ["build", "--events", str(ROOT / "events"), "--newsletters",
                        str(ROOT / "newsletters"), "--out", str(out), "--now", "2025-01-06", "-q"])
    result = runner.invoke(cli, ["import", str(out / "calendar" / "upcoming.ics"), "--events",
                                 str(events)])
    assert result.exit_code == 0, result.output
    imported = occurrences(events)
    titles = {title for title, *_ in imported}
    assert titles == {"PyTorch CoreSIG", "PyTorch Conference 2025"}  # what is upcoming then
    assert imported == {o for o in occurrences(ROOT / "events") if o[0] in titles}


def test_moved_and_cancelled_occurrences_survive_a_round_trip_through_the_feeds(tmp_path):
    source, out, events = tmp_path / "src", tmp_path / "out", tmp_path / "events"
    source.mkdir()
    (source / "community-call.yaml").write_text(
        "title: Community call\nkind: meeting\nstart: 2025-01-09 18:00\nduration: 1h\n"
        "timezone: Europe/Paris\nrecurrence:\n  rule: FREQ=MONTHLY;BYDAY=2TH;COUNT=12\n"
        "  except: [2025-03-13]\n  changes:\n    - occurrence: 2025-04-10\n"
        "      start: 2025-04-17 17:00\n      title: Community call (moved)\n"
        "    - occurrence: 2025-05-08\n      status: cancelled\n")
    runner = CliRunner()
    built = runner.invoke(cli, ["build", "--events", str(source), "--newsletters",
                                str(tmp_path / "none"), "--out", str(out), "--now", "2025-01-06", "-q"])
    assert built.exit_code == 0, built.output
    result = runner.invoke(cli, ["import", str(out / "calendar" / "events" / "community-call.ics"),
                                 "--events", str(events)])
    assert result.exit_code == 0, result.output

    def moments(folder: Path) -> set[tuple]:
        return {(o.start.astimezone(dt.UTC), o.end.astimezone(dt.UTC),  # type: ignore[union-attr]
                 bool(o.change and o.change.cancelled), o.change.title if o.change else None)
                for event in load_events(folder, Settings()) for o in event.occurrences()}

    assert moments(events) == moments(source)
    assert len(moments(events)) == 11
