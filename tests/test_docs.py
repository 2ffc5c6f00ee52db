"""docs/formats.md stays true: its tables list exactly the keys the code knows; examples load."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline.sources.events import EVENT_KEYS, LOCATION_KEYS, load_event
from pipeline.sources.issues import ISSUE_KEYS, load_issue
from pipeline.sources.schema import event_schema
from pipeline.sources.settings import FEED_KEYS, KEYS, Settings, load_settings, parse_duration

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
_EVENT = event_schema()["properties"]

# Heading of each table -> the keys the code reads there.
TABLES = {
    "Event files": EVENT_KEYS,
    "`location` as a mapping": LOCATION_KEYS,
    "`image`": tuple(_EVENT["image"]["properties"]),
    "`links` items": tuple(_EVENT["links"]["items"]["properties"]),
    "`recurrence`": tuple(_EVENT["recurrence"]["properties"]),
    "`recurrence.changes` items": tuple(
        _EVENT["recurrence"]["properties"]["changes"]["items"]["properties"]),
    "Newsletter issue files": ISSUE_KEYS,
    "Settings file": KEYS,
    "`feeds` items": FEED_KEYS,
}


def tables() -> dict[str, list[tuple[str, list[str]]]]:
    """Heading -> rows (key, cells) of the tables under it."""
    found: dict[str, list[tuple[str, list[str]]]] = {}
    heading, in_code = "", False
    for line in DOC.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif in_code:
            continue  # a YAML comment is not a heading
        elif line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            found.setdefault(heading, []).append((cells[0].strip("`"), cells))
    return found


def yaml_examples() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", DOC, flags=re.S)


def test_every_table_is_one_the_test_knows():
    assert set(tables()) == set(TABLES)


@pytest.mark.parametrize("heading", TABLES)
def test_table_lists_exactly_the_keys_of_the_code(heading):
    documented = [key for key, _ in tables()[heading]]
    assert len(documented) == len(set(documented)), "a key is listed twice"
    assert set(documented) - set(TABLES[heading]) == set(), "documented but unknown to the code"
    assert set(TABLES[heading]) - set(documented) == set(), "known to the code but not documented"


def test_documented_settings_defaults_are_the_code_defaults():
    rows = {key: cells for key, cells in tables()["Settings file"]}
    defaults = Settings()
    for key in ("site_name", "base_url", "sender"):
        assert rows[key][2] == f"`{getattr(defaults, key)}`", key
    assert parse_duration(rows["refresh_interval"][2].strip("`")) == defaults.refresh_interval


def test_the_doc_has_an_example_of_each_file():
    firsts = sorted(example.splitlines()[0].split("/")[0] for example in yaml_examples())
    assert firsts == ["# events", "# events", "# events", "# newsletters", "# pipeline.yaml"]


@pytest.mark.parametrize("example", yaml_examples(), ids=lambda e: e.splitlines()[0][2:])
def test_yaml_example_loads_without_problems(tmp_path, example):
    name = example.splitlines()[0].removeprefix("# ").strip()
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(example, encoding="utf-8")
    problems: list = []
    if name.startswith("events/"):
        assert load_event(path, Settings(), problems) is not None
    elif name.startswith("newsletters/"):
        assert load_issue(path, Settings(), problems) is not None
    else:
        assert load_settings(path).kinds[-1] == "sprint"
    assert [str(p) for p in problems] == []


def test_yaml_language_server_line_points_at_the_schema_from_an_event_folder():
    (line,) = re.findall(r"^# yaml-language-server: \$schema=(\S+)$", DOC, flags=re.M)
    assert (ROOT / "events" / "2024" / line).resolve() == (ROOT / "schemas/event.schema.json")
    assert (ROOT / "events" / "2024" / line).is_file()


def test_vscode_maps_the_schema_to_event_files():
    mapping = json.loads((ROOT / ".vscode" / "settings.json").read_text())["yaml.schemas"]
    assert mapping == {"./schemas/event.schema.json": ["events/**/*.yaml", "events/**/*.yml"]}
    assert (ROOT / "schemas/event.schema.json").is_file()


README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("example", re.findall(r"```yaml\n(.*?)```", README, flags=re.S),
                         ids=lambda e: e.splitlines()[0][:30])
def test_readme_event_examples_load(tmp_path, example):
    path = tmp_path / "events" / "example.yaml"
    path.parent.mkdir()
    path.write_text(example, encoding="utf-8")
    problems: list = []
    assert load_event(path, Settings(), problems) is not None
    assert [str(p) for p in problems] == []


def test_readme_lists_the_built_in_kinds():
    (kinds,) = re.findall(r"^kind: \w+ +# (.*)$", README, flags=re.M)
    assert tuple(kinds.split(", ")) == Settings().kinds
