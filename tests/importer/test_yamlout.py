"""Event-file text from drafts: any text reads back as written; writes never clobber."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.importer.draft import Draft
from pipeline.importer.text import one_line, tidy
from pipeline.importer.yamlout import changed_keys, render, write_event
from pipeline.sources.events import load_event
from pipeline.sources.settings import Settings

# Text as calendars carry it, including what YAML would read as something else.
TRICKY = st.sampled_from(["yes", "no", "null", "~", "1.10", "0x1F", "2025-03-13", "- item",
                          "# not a comment", "key: value", "'quoted'", '"double"', "| pipe",
                          "> fold", "@at", "`tick`", "%percent", "&anchor", "*alias", "!tag"])
TEXT = st.one_of(TRICKY, st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=TEXT, place=TEXT, summary=TEXT, description=TEXT)
def test_any_text_reads_back_as_the_loader_sees_it(tmp_path, title, place, summary, description):
    title = one_line(title) or "x"
    draft = Draft(source_uid="uid-1", title=title, kind="meetup",
                  start=dt.datetime(2025, 3, 13, 18, 30), end=dt.datetime(2025, 3, 13, 20, 0),
                  timezone="Europe/Berlin", location=one_line(place) or None,
                  summary=one_line(summary) or None, description=tidy(description) or None)
    path = tmp_path / "e.yaml"
    path.write_text(render(draft, "e"), encoding="utf-8")
    problems: list = []
    event = load_event(path, Settings(), problems)
    assert problems == [] and event is not None
    assert event.title == title
    assert (event.location.name if event.location else None) == draft.location
    assert event.summary == draft.summary and event.description == draft.description
    assert event.source_uid == "uid-1"


def test_keys_come_in_the_documented_order():
    draft = Draft(source_uid="u", title="T", kind="meetup", start=dt.date(2025, 1, 2),
                  end=dt.date(2025, 1, 3), timezone="UTC", status="cancelled", location="L",
                  url="https://example.org", summary="S", tags=("a",), rule="FREQ=WEEKLY;COUNT=2")
    keys = [line.split(":")[0] for line in render(draft, "t").splitlines() if line[0] != " "
            and line[0] != "-"]
    assert keys == ["id", "title", "kind", "start", "end", "timezone", "status", "location", "url",
                    "summary", "tags", "recurrence", "source_uid"]


def test_changed_keys_names_what_differs_inside_recurrence():
    old = "title: A\nstart: 2025-01-02\nrecurrence:\n  rule: FREQ=WEEKLY\n"
    new = "title: B\nstart: 2025-01-02\nrecurrence:\n  rule: FREQ=WEEKLY\n  except: [2025-01-09]\nurl: https://x.org\n"
    assert changed_keys(old, new) == "changed: title, recurrence.except; added: url"


def test_write_event_never_overwrites_without_update_and_leaves_no_temp(tmp_path: Path):
    path = tmp_path / "e.yaml"
    assert write_event(path, "title: A\n", update=False) == ("new", "")
    outcome, detail = write_event(path, "title: B\n", update=False)
    assert outcome == "kept" and "changed: title" in detail and path.read_text() == "title: A\n"
    assert write_event(path, "title: B\n", update=True) == ("updated", "changed: title")
    assert write_event(path, "title: B\n", update=True) == ("unchanged", "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.yaml"]


def test_c1_control_characters_are_dropped_so_the_file_loads(tmp_path) -> None:
    # A calendar's text in a wrong encoding can carry C1 controls (\x80-\x9f); the loader refuses them.
    draft = Draft(source_uid="uid-1", title=one_line("Caf\x80e\x9f night"), kind="meetup",
                  start=dt.datetime(2025, 3, 13, 18, 30), end=dt.datetime(2025, 3, 13, 20, 0),
                  timezone="Europe/Berlin", description=tidy("Bring\x80 a friend\x9f."))
    path = tmp_path / "e.yaml"
    path.write_text(render(draft, "e"), encoding="utf-8")
    problems: list = []
    event = load_event(path, Settings(), problems)
    assert problems == [] and event is not None
    assert (event.title, event.description) == ("Caf e night", "Bring a friend.")
