"""`pipeline init`: a new site that checks and builds at once, and never overwrites."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.init import starter_files


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def test_init_then_build_publishes_the_examples_at_once(in_tmp: Path) -> None:
    assert run("init", "site")[0] == 0
    assert sorted(str(p.relative_to(in_tmp / "site")) for p in (in_tmp / "site").rglob("*")
                  if p.is_file()) == sorted(starter_files(in_tmp / "site", dt.date.today()))
    # The real clock, as a new user's first build: the example events are upcoming.
    code, output = run("build", "--site", "site")
    assert code == 0, output
    upcoming = (in_tmp / "site/output/calendar/upcoming.ics").read_text()
    assert "SUMMARY:First meetup: lightning talks" in upcoming
    assert "SUMMARY:Monthly community call" in upcoming
    text = next((in_tmp / "site/output/newsletter").glob("*-welcome/index.txt")).read_text()
    assert "First meetup: lightning talks" in text and "1 Example Street" in text
    assert "Write to us at hello@example.org." in text  # the footer's address, written once
    page = next((in_tmp / "site/output/newsletter").glob("*-welcome/index.html")).read_text()
    assert 'href="mailto:hello@example.org"' in page and ">mailto:" not in page
    assert (in_tmp / "site/.gitignore").read_text().splitlines()[1:] == ["/output/",
                                                                        "/.pipeline-cache/"]
    readme = (in_tmp / "site/README.md").read_text()
    assert f"17 * * * * cd {(in_tmp / 'site').resolve()} && pipeline build --quiet" in readme
    assert "OnCalendar=hourly" in readme


@pytest.mark.parametrize("today", [dt.date(2025, 1, 1), dt.date(2025, 1, 22), dt.date(2024, 2, 29),
                                   dt.date(2025, 12, 25)])
def test_the_example_series_starts_on_a_day_its_rule_names(today: dt.date) -> None:
    from dateutil.rrule import rrulestr

    text = starter_files(Path("x"), today)["events/community-call.yaml"]
    start = dt.datetime.fromisoformat(text.split('start: "')[1].split('"')[0])
    rule = text.split('rule: "')[1].split('"')[0]
    assert start.date() > today
    assert next(iter(rrulestr(rule, dtstart=start))) == start


def test_init_refuses_to_overwrite_and_writes_nothing(in_tmp: Path) -> None:
    (in_tmp / "pipeline.yaml").write_text("site_name: Mine\n")
    code, output = run("init")
    assert code == 1
    assert "already has pipeline.yaml; nothing was written" in output
    assert (in_tmp / "pipeline.yaml").read_text() == "site_name: Mine\n"
    assert not (in_tmp / "events").exists()
