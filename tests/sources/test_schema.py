"""The editor schema agrees with the loader: same keys, same refusals, bundled events valid."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import require, require_executable
from jsonschema import Draft202012Validator

from pipeline.sources.events import EVENT_KEYS, LOCATION_KEYS, load_event, yaml_files
from pipeline.sources.schema import event_schema, main, render_schema
from pipeline.sources.settings import BUILTIN_KINDS, Settings, load_settings
from pipeline.sources.yamlsource import read_mapping

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "schemas" / "event.schema.json"
VALIDATOR = Draft202012Validator(event_schema())

VALID = "title: Seoul meetup\nkind: meetup\nstart: 2024-11-30\n"
TIMED = "title: SIG\nkind: meeting\nstart: 2024-12-04 14:00\ntimezone: Asia/Seoul\n"

# Files the loader refuses for a key, type, enum or pattern reason: the schema must refuse them.
REFUSED = {
    "unknown-key": VALID + "titel: typo\n",
    "unknown-location-key": VALID + "location:\n  citty: Paris\n",
    "unknown-image-key": VALID + "image:\n  src: a.jpg\n  alt: A\n  width: 3\n",
    "unknown-link-key": VALID + "links:\n  - {title: a, url: 'https://a.org', kind: x}\n",
    "unknown-recurrence-key": VALID + "recurrence:\n  rule: FREQ=WEEKLY\n  until: 2025-01-01\n",
    "missing-title": "kind: meetup\nstart: 2024-11-30\n",
    "missing-kind": "title: A\nstart: 2024-11-30\n",
    "missing-start": "title: A\nkind: meetup\n",
    "title-list": "title: [a]\nkind: meetup\nstart: 2024-11-30\n",
    "title-blank": "title: '  '\nkind: meetup\nstart: 2024-11-30\n",
    "title-newline": 'title: "a\\nb"\nkind: meetup\nstart: 2024-11-30\n',
    "title-control-char": 'title: "a\\u0007b"\nkind: meetup\nstart: 2024-11-30\n',
    "tags-text": VALID + "tags: korea\n",
    "tag-not-slug": VALID + "tags: [Korea]\n",
    "online-yes": VALID + "location:\n  name: Zoom\n  online: yes\n",
    "location-list": VALID + "location: [a]\n",
    "location-empty": VALID + "location:\n  online: false\n",
    "image-text": VALID + "image: a.jpg\n",
    "image-without-alt": VALID + "image:\n  src: a.jpg\n",
    "unknown-kind": "title: A\nkind: meetp\nstart: 2024-11-30\n",
    "unknown-status": VALID + "status: canceled\n",
    "start-format": "title: A\nkind: meetup\nstart: 30/11/2024\n",
    "start-number": "title: A\nkind: meetup\nstart: 20241130\n",
    "end-format": VALID + "end: tomorrow\n",
    "id-not-slug": "id: Seoul Meetup\n" + VALID,
    "url-ftp": VALID + "url: ftp://example.org/\n",
    "url-no-host": VALID + "url: https:///path\n",
    "url-space": VALID + "url: https://example.org/a b\n",
    "link-javascript": VALID + "links:\n  - {title: x, url: 'javascript:alert(1)'}\n",
    "link-without-url": VALID + "links:\n  - {title: x}\n",
    "duration-on-all-day": VALID + "duration: 2h\n",
    "duration-number": TIMED + "duration: 90\n",
    "duration-words": TIMED + "duration: two hours\n",
    "timed-without-zone": "title: A\nkind: meetup\nstart: 2024-12-04 14:00\nduration: 1h\n",
    "timed-without-end": TIMED,
    "timed-end-and-duration": TIMED + "end: 2024-12-04 15:00\nduration: 1h\n",
    "timezone-number": "title: A\nkind: meetup\nstart: 2024-11-30\ntimezone: 9\n",
    "rule-without-freq": VALID + "recurrence:\n  rule: BYDAY=SA\n",
    "rule-with-dtstart": VALID + "recurrence:\n  rule: 'DTSTART:20241130'\n",
    "recurrence-without-rule": VALID + "recurrence:\n  except: [2024-12-07]\n",
    "except-not-a-date": VALID + "recurrence:\n  rule: FREQ=WEEKLY\n  except: [next week]\n",
    "highlights-mapping": VALID + "highlights:\n  - {a: b}\n",
    "change-cancelled-and-moved": VALID + "recurrence:\n  rule: FREQ=WEEKLY\n  changes:\n"
    "    - {occurrence: 2024-12-07, status: cancelled, start: 2024-12-08}\n",
    "change-of-nothing": VALID + "recurrence:\n  rule: FREQ=WEEKLY\n  changes:\n"
    "    - {occurrence: 2024-12-07}\n",
    "change-unknown-key": VALID + "recurrence:\n  rule: FREQ=WEEKLY\n  changes:\n"
    "    - {occurrence: 2024-12-07, cancelled: true}\n",
    "moved-from-words": VALID + "moved_from: last week\n",
}


def test_committed_schema_is_the_generated_one():
    # `python -m pipeline.schema` adds the kinds of ./pipeline.yaml: run from the root.
    kinds = load_settings(ROOT / "pipeline.yaml").kinds
    assert COMMITTED.read_bytes() == render_schema(kinds), (
        "schemas/event.schema.json is stale; run: python -m pipeline.schema")


def test_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(json.loads(COMMITTED.read_text()))
    assert json.loads(COMMITTED.read_text())["$schema"] == (
        "https://json-schema.org/draft/2020-12/schema")


def test_schema_keys_are_the_loaders_keys():
    schema = event_schema()
    assert tuple(schema["properties"]) == EVENT_KEYS
    place = schema["properties"]["location"]["oneOf"][1]
    assert tuple(place["properties"]) == LOCATION_KEYS
    assert schema["properties"]["kind"]["enum"] == list(BUILTIN_KINDS)
    assert schema["additionalProperties"] is False


def test_settings_kinds_go_into_the_schema():
    assert event_schema((*BUILTIN_KINDS, "sprint"))["properties"]["kind"]["enum"][-1] == "sprint"


@pytest.mark.parametrize("path", yaml_files(ROOT / "events"), ids=lambda p: p.name)
def test_bundled_events_validate(path):
    errors = [e.message for e in VALIDATOR.iter_errors(read_mapping(path, "event"))]
    assert errors == []


@pytest.mark.parametrize("text", [
    VALID, TIMED + "duration: 1h30m\n", TIMED + "end: 2024-12-04T15:30:00\n",
    VALID + "location: Meta, Bellevue\nstatus: cancelled\nid: x-1\n",
    VALID + "location:\n  online: true\n", "title: |\n  Trailing newline only\nkind: social\n"
    "start: 2024-11-30\n", "title: 2024\nkind: meetup\nstart: 2024-11-30\nurl: HTTPS://A.ORG\n",
    TIMED + "duration: 1h\nrecurrence:\n  rule: freq=weekly;byday=we\n  except: [2024-12-11]\n",
    TIMED + "duration: 1h\nrecurrence:\n  rule: FREQ=WEEKLY\n  changes:\n"
    "    - {occurrence: 2024-12-11, start: 2024-12-12 15:00, duration: 2h, location: Cafe}\n"
    "    - {occurrence: 2024-12-18 14:00, status: cancelled, title: Off}\n",
    TIMED + "duration: 1h\nmoved_from: 2024-11-27 14:00\n",
], ids=["all-day", "duration", "end", "text-location", "online", "block-title", "number-title",
        "lowercase-rule", "changes", "moved-from"])
def test_files_the_loader_accepts_validate(tmp_path, text):
    path = tmp_path / "ok.yaml"
    path.write_text(text, encoding="utf-8")
    problems: list = []
    assert load_event(path, Settings(), problems) is not None, problems
    assert [e.message for e in VALIDATOR.iter_errors(read_mapping(path, "event"))] == []


@pytest.mark.parametrize("text", REFUSED.values(), ids=REFUSED.keys())
def test_files_the_loader_refuses_the_schema_refuses(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    problems: list = []
    assert load_event(path, Settings(), problems) is None and problems
    assert list(VALIDATOR.iter_errors(read_mapping(path, "event"))), (
        f"the loader says {problems[0]} but the schema accepts the file")


def test_main_writes_the_schema(in_tmp, capsys):
    assert main(["out/event.schema.json"]) == 0
    assert (in_tmp / "out/event.schema.json").read_bytes() == render_schema()
    assert capsys.readouterr().out == "wrote out/event.schema.json\n"


def test_yaml_language_server_reports_what_the_schema_refuses(tmp_path):
    # The editor side for real: yaml-language-server (VS Code's YAML extension, Neovim, Helix)
    # with .vscode/settings.json's mapping and with the documented modeline.
    node = require_executable("node")
    found = subprocess.run([node, "-e", "require.resolve('yaml-language-server/package.json')"],
                           cwd=ROOT, capture_output=True, check=False)
    require(found.returncode == 0, "yaml-language-server is missing; run `npm ci` at the root")
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    shutil.copytree(ROOT / ".vscode", tmp_path / ".vscode")
    events = tmp_path / "events" / "2024"
    events.mkdir(parents=True)
    shutil.copy(ROOT / "events" / "2024" / "pytorch-coresig.yaml", events / "good.yaml")
    (events / "bad.yaml").write_text(
        "title: A\nkind: meetp\nstart: 2024-11-30 10:00\ntitel: x\nurl: ftp://x\n")
    elsewhere = tmp_path / "drafts"  # outside events/: only the modeline names the schema
    elsewhere.mkdir()
    (elsewhere / "draft.yaml").write_text(
        "# yaml-language-server: $schema=../schemas/event.schema.json\ntitle: A\nkind: party\n"
        "start: 2024-11-30\n")
    result = subprocess.run(
        [node, str(ROOT / "tests" / "interop" / "yaml_language_server.js"), str(tmp_path),
         str(events / "good.yaml"), str(events / "bad.yaml"), str(elsewhere / "draft.yaml")],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    diagnostics = json.loads(result.stdout)
    assert diagnostics["good.yaml"] == []
    assert sorted(diagnostics["bad.yaml"]) == [
        '1: Missing property "end".', '1: Missing property "timezone".',
        '2: Value is not accepted. Valid values: "conference", "meetup", "hackathon", "docathon", '
        '"webinar", "social", "meeting".',
        "4: Property titel is not allowed.",
        "5: Write a full http:// or https:// URL without spaces."]
    assert [d.split(":")[0] for d in diagnostics["draft.yaml"]] == ["3"]


def test_main_help_does_not_write_a_file(in_tmp, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    assert "JSON Schema of event files" in capsys.readouterr().out
    assert list(in_tmp.iterdir()) == []
