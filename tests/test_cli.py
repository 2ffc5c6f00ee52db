"""The command line: version, help for every option, exit statuses, messages on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pipeline import __version__
from pipeline.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def test_check_passes_on_the_bundled_data(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "ok: 10 events, 1 newsletter issue\n"


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert (result.exit_code, result.stdout) == (0, f"pipeline, version {__version__}\n")


def test_python_dash_m_runs_the_cli():
    result = subprocess.run([sys.executable, "-m", "pipeline", "--version"], capture_output=True,
                            text=True, check=False, cwd=ROOT)
    assert (result.returncode, result.stdout) == (0, f"pipeline, version {__version__}\n")


def test_top_level_help_lists_commands_and_exit_statuses():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in cli.commands:
        assert f"  {name} " in result.stdout
    for status in ("0 success", "1 invalid input", "2 wrong usage", "75"):
        assert status in " ".join(result.stdout.split())


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_help_documents_every_option(command):
    result = CliRunner().invoke(cli, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    for param in cli.commands[command].params:
        if not isinstance(param, click.Option):
            continue
        assert param.help, f"{command} {param.opts[0]} has no help text"
        for opt in param.opts:
            assert opt in result.stdout, f"{opt} missing from 'pipeline {command} --help'"
        assert " ".join(param.help.split()) in " ".join(result.stdout.split())


def test_contract_options_exist():
    options = {name: {opt for p in cmd.params for opt in p.opts} for name, cmd in cli.commands.items()}
    assert {"--events", "--newsletters", "--out", "--now", "--config"} <= options["build"]
    assert {"--events", "--newsletters", "--config"} <= options["check"]
    assert {"--from", "--to", "--title", "--events", "--out", "--now"} <= options["newsletter"]


def test_bad_now_is_a_usage_error():
    result = CliRunner().invoke(cli, ["build", "--now", "yesterday"])
    assert result.exit_code == 2
    assert "'yesterday' is not an ISO date or date-time" in result.stderr


def test_newsletter_to_before_from_is_a_usage_error(in_tmp):
    result = CliRunner().invoke(cli, ["newsletter", "--from", "2024-12-31", "--to", "2024-01-01"])
    assert result.exit_code == 2
    assert "--to is before --from" in result.stderr


def test_unknown_command_is_a_usage_error():
    assert CliRunner().invoke(cli, ["publish"]).exit_code == 2


def test_problems_go_to_stderr_without_error_prefix(write_yaml, in_tmp):
    write_yaml("events/a.yaml", "title: A\nkind: meetp\nstart: 2024-11-30\n")
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == ("events/a.yaml:2: kind 'meetp' is not allowed; did you mean 'meetup'?\n"
                             "1 problem found; nothing was published.\n")


def test_build_with_bad_input_exits_1_and_writes_nothing(write_yaml, in_tmp):
    write_yaml("events/a.yaml", "title: A\nkind: meetup\nstart: 2024-11-31\n")
    result = CliRunner().invoke(cli, ["build", "--now", "2025-01-06"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.splitlines()[0] == (
        "events/a.yaml:3: 'start' '2024-11-31' is not a date or date-time; write YYYY-MM-DD for an "
        "all-day event or YYYY-MM-DD HH:MM for a timed one")
    assert not (in_tmp / "output").exists()


def test_events_option_points_at_another_folder(write_yaml, in_tmp):
    write_yaml("data/ev/a.yaml", "title: A\nkind: meetup\nstart: 2024-11-30\n")
    result = CliRunner().invoke(cli, ["check", "--events", "data/ev", "--newsletters", "none"])
    assert (result.exit_code, result.stdout) == (0, "ok: 1 event, 0 newsletter issues\n")
