"""Shared fixtures: YAML fixture folders, pinned 'now', golden files, tools CI must have."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.sources.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# The bundled data's "now" for golden files: the 2024 recap's publication day.
PINNED_NOW = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true",
                     help="rewrite tests/golden/ from the current output instead of comparing")


def require(condition: bool, reason: str) -> None:
    """Skip locally when a tool is missing; in CI (CI=true) a missing tool is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


def require_executable(name: str) -> str:
    """Path of `name` on PATH, or skip/fail as `require` does."""
    path = shutil.which(name)
    require(path is not None, f"{name} is not installed")
    return path  # type: ignore[return-value]


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, bytes], None]:
    """Compare bytes with tests/golden/<name>; `pytest --update-goldens` rewrites them."""
    update = request.config.getoption("--update-goldens")

    def check(name: str, actual: bytes) -> None:
        path = GOLDEN / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(actual)
            return
        assert path.exists(), f"no golden file {path}; run pytest --update-goldens and review it"
        assert actual == path.read_bytes(), (
            f"{name} differs from its golden file; if the change is intended, run "
            "pytest --update-goldens and review the diff")

    return check


@pytest.fixture
def settings() -> Settings:
    """Settings as a small site would write them."""
    return Settings(site_name="Test Community", base_url="https://events.example.org/",
                    uid_domain="events.example.org", sender="News <news@example.org>")


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[..., Path]:
    """Write dedented YAML files under tmp_path: write_yaml('events/a.yaml', 'title: A')."""

    def write(relative: str, text: str) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture(autouse=True)
def private_cache_home(tmp_path_factory: pytest.TempPathFactory,
                       monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test's build cache under its own $XDG_CACHE_HOME, never the user's ~/.cache."""
    home = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test inside tmp_path, so that messages show short relative paths."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def check_problems(in_tmp: Path) -> Callable[..., list[str]]:
    """Run `pipeline check ARGS` in tmp_path; assert exit 1 and no traceback; the problem lines."""
    from click.testing import CliRunner

    from pipeline.cli import cli

    def run(*args: str) -> list[str]:
        result = CliRunner().invoke(cli, ["check", *args])
        assert "Traceback" not in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code == 1, result.output
        lines = result.stderr.splitlines()
        assert lines[-1].endswith("found; nothing was published."), lines
        assert result.stdout == ""
        return lines[:-1]

    return run
