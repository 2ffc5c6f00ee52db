"""What the build says about the calendar: a published event that vanished, an empty feed."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import cli

EVENT = "title: {title}\nkind: meetup\nstart: {day}\n"


def build(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["build", *args])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout, result.stderr


def test_a_renamed_event_file_is_reported_once_with_the_fix(in_tmp: Path, write_yaml) -> None:
    write_yaml("events/typing-night.yaml", EVENT.format(title="Typing night", day="2030-03-12"))
    assert build("--now", "2030-03-01")[0] == 0
    (in_tmp / "events/typing-night.yaml").rename(in_tmp / "events/typing-night-2030.yaml")
    code, _, err = build("--now", "2030-03-01")
    assert code == 0  # a warning: removing an event can be meant
    assert err.splitlines() == [
        "warning: event 'typing-night' was published and is gone from events/: subscribers' "
        "calendars drop it at their next refresh, and calendar/events/typing-night.ics, linked "
        "from newsletters already sent, will answer 404. If its file was renamed, add "
        "`id: typing-night` to the renamed file to keep it; if it was removed on purpose, "
        "nothing to do (this is said once)"]
    assert build("--now", "2030-03-01")[2] == ""  # said once
    # The fix: the renamed file keeps the old id, and the old .ics comes back.
    write_yaml("events/typing-night-2030.yaml", "id: typing-night\n" + EVENT.format(
        title="Typing night", day="2030-03-12"))
    code, _, err = build("--now", "2030-03-01")
    # The in-between id was published by the build before: that one is said to go now.
    assert code == 0 and "'typing-night'" not in err and "'typing-night-2030'" in err
    assert (in_tmp / "output/calendar/events/typing-night.ics").is_file()


def test_an_empty_feed_is_explained_in_the_summary(in_tmp: Path, write_yaml) -> None:
    for name in ("a", "b"):
        write_yaml(f"events/{name}.yaml", EVENT.format(title=name, day="2024-03-12"))
    code, out, _ = build("--now", "2025-01-06")
    assert code == 0
    assert out.startswith("built: 2 events, 1 feed, 0 issues; upcoming.ics: 0 events, all 2 "
                          "are over at 2025-01-06 00:00 UTC; --now previews another date; ")
    code, out, _ = build("--now", "2024-03-01")
    assert "upcoming.ics: 0 events" not in out
