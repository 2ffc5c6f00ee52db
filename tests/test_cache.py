"""The build cache: each change misses exactly the entries it must; output equals a cold build."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

import pipeline.cache as cache_module
import pipeline.calendar.feeds as calendar_module
from pipeline.build import build_site
from pipeline.cache import CACHE_DIR, PACK, EventCache
from pipeline.calendar.stamps import LEDGER_FILE

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
FILES = {
    "pipeline.yaml": """\
        site_name: Cache Test
        base_url: https://events.example.org/
        feeds:
          - id: korea
            name: Korea
            tags: [korea]
        """,
    "events/seoul-meetup.yaml": """\
        title: Seoul meetup 서울
        kind: meetup
        start: 2025-04-10 19:00
        duration: 2h
        timezone: Asia/Seoul
        tags: [korea]
        """,
    "events/2025/paris-docathon.yaml": """\
        title: Paris docathon
        kind: docathon
        start: 2025-03-29
        end: 2025-03-30
        timezone: Europe/Paris
        """,
    "events/2025/weekly-call.yaml": """\
        title: Weekly call
        kind: meeting
        start: 2025-01-08 17:00
        duration: 1h
        timezone: America/Los_Angeles
        recurrence:
          rule: FREQ=WEEKLY;BYDAY=WE;COUNT=20
        """,
    "events/past-conference.yaml": """\
        title: Past conference
        kind: conference
        start: 2025-01-15 09:00
        end: 2025-01-15 18:00
        timezone: Europe/London
        summary: Talks and posters.
        """,
    "newsletters/2025-q1.yaml": """\
        title: Q1 2025
        date: 2025-02-15
        period: {from: 2025-01-01, to: 2025-01-31}
        """,
}


@pytest.fixture
def site(in_tmp: Path, write_yaml) -> Path:
    """A small site with the project's e-mail templates, in the working directory."""
    for path, text in FILES.items():
        write_yaml(path, text)
    shutil.copytree(ROOT / "templates", in_tmp / "templates")
    return in_tmp


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Records which files are parsed and which events are serialized (the probe excluded)."""
    seen: dict[str, list[str]] = {"parsed": [], "serialized": []}
    load_event, vevent = cache_module.load_event, calendar_module._vevent

    def parse(path, settings, problems, shown=None):
        seen["parsed"].append(path.as_posix())
        return load_event(path, settings, problems, shown)

    def serialize(event, settings):
        if event.id != "probe":
            seen["serialized"].append(event.id)
        return vevent(event, settings)

    monkeypatch.setattr(cache_module, "load_event", parse)
    monkeypatch.setattr(calendar_module, "_vevent", serialize)
    return seen


def build(out: str = "output", now: dt.datetime = NOW) -> dict[str, bytes]:
    """`pipeline build` of the working directory; every published file's bytes."""
    build_site(Path("events"), Path("newsletters"), Path(out), now, Path("pipeline.yaml"),
               quiet=True, site=Path("."))  # the site's own templates/ (a copy) are used
    root = Path(out)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def cold_build(now: dt.datetime = NOW) -> dict[str, bytes]:
    """The same build from nothing: a fresh publish root with a fresh cache beside it."""
    shutil.rmtree("cold", ignore_errors=True)
    # ...but the warm root's publication ledger: stamps are state of the publish root, not cache.
    Path("cold/output").mkdir(parents=True)
    if Path("output", LEDGER_FILE).exists():
        shutil.copy2(Path("output", LEDGER_FILE), Path("cold/output", LEDGER_FILE))
    return build("cold/output", now)


def warm(spy: dict[str, list[str]]) -> None:
    """A first build fills the cache; forget what it parsed."""
    build()
    spy["parsed"].clear()
    spy["serialized"].clear()


def test_unchanged_run_parses_and_serializes_nothing(site, spy):
    first = build()
    assert len(spy["parsed"]) == 4 and len(spy["serialized"]) == 4
    spy["parsed"].clear()
    spy["serialized"].clear()
    assert build() == first == cold_build()
    assert spy["parsed"] == ["events/2025/paris-docathon.yaml", "events/2025/weekly-call.yaml",
                             "events/past-conference.yaml", "events/seoul-meetup.yaml"]  # cold


def test_second_run_is_all_hits(site, spy):
    warm(spy)
    build()
    assert spy == {"parsed": [], "serialized": []}


def test_edited_file_is_parsed_again_alone(site, spy, write_yaml):
    warm(spy)
    write_yaml("events/seoul-meetup.yaml", FILES["events/seoul-meetup.yaml"].replace(
        "Seoul meetup", "Seoul meetup (moved)"))
    warm_output = build()
    assert spy == {"parsed": ["events/seoul-meetup.yaml"], "serialized": ["seoul-meetup"]}
    assert b"Seoul meetup (moved)" in warm_output["calendar/events/seoul-meetup.ics"]
    assert warm_output == cold_build()


def test_renamed_file_is_a_new_entry_and_the_old_one_goes(site, spy):
    warm(spy)
    Path("events/seoul-meetup.yaml").rename("events/seoul-meetup-2025.yaml")
    warm_output = build()
    assert spy == {"parsed": ["events/seoul-meetup-2025.yaml"],
                   "serialized": ["seoul-meetup-2025"]}
    assert "calendar/events/seoul-meetup.ics" not in warm_output
    assert warm_output == cold_build()
    entries = EventCache(Path(CACHE_DIR), NOW)._read()["entries"]
    assert sorted(event.id for event, _ in entries.values()) == [
        "paris-docathon", "past-conference", "seoul-meetup-2025", "weekly-call"]


def test_changed_setting_misses_every_entry(site, spy, write_yaml):
    # Settings reach every VEVENT (UID domain, image URLs) and parsing (kinds): all entries go.
    warm(spy)
    write_yaml("pipeline.yaml", FILES["pipeline.yaml"].replace(
        "https://events.example.org/", "https://calendar.example.net/"))
    warm_output = build()
    assert len(spy["parsed"]) == 4 and len(spy["serialized"]) == 4
    assert b"UID:seoul-meetup@calendar.example.net" in warm_output["calendar/upcoming.ics"]
    assert warm_output == cold_build()


def test_changed_template_reuses_every_entry_but_renders_the_issue_again(site, spy):
    warm(spy)
    before = build()
    template = next(Path("templates/email").glob("*.txt.j2"))
    template.write_text(template.read_text(encoding="utf-8") + "\nEdited footer line.\n",
                        encoding="utf-8")
    warm_output = build()
    assert spy == {"parsed": [], "serialized": []}
    changed = {path for path in warm_output if warm_output[path] != before.get(path)}
    assert changed and all(p.startswith("newsletter/") or p == "manifest.json" for p in changed)
    assert warm_output == cold_build()


def test_new_now_reuses_every_entry_and_recomputes_what_is_upcoming(site, spy):
    warm(spy)
    later = dt.datetime(2025, 4, 20, tzinfo=dt.UTC)  # the docathon and the meetup are over
    warm_output = build(now=later)
    assert spy == {"parsed": [], "serialized": []}
    assert b"seoul-meetup@" not in warm_output["calendar/upcoming.ics"]
    assert warm_output == cold_build(later)


def test_new_code_version_misses_every_entry(site, spy, monkeypatch):
    warm(spy)
    monkeypatch.setattr(cache_module, "code_version", lambda: "another version")
    warm_output = build()
    assert len(spy["parsed"]) == 4
    assert warm_output == cold_build()


def test_damaged_cache_is_a_miss_not_an_error(site, spy):
    warm(spy)
    (Path(CACHE_DIR) / PACK).write_bytes(b"\x80\x05 not a pickle")
    warm_output = build()
    assert len(spy["parsed"]) == 4
    assert warm_output == cold_build()


def test_invalid_file_is_never_cached_and_still_reported(site, spy, write_yaml):
    from pipeline.errors import InvalidInput

    warm(spy)
    write_yaml("events/broken.yaml", "title: Broken\nkind: meetup\n")
    for _ in range(2):
        with pytest.raises(InvalidInput, match=r"events/broken\.yaml"):
            build()
    assert spy["parsed"] == ["events/broken.yaml", "events/broken.yaml"]


def test_cache_lives_beside_the_publish_root_and_is_not_published(site):
    files = build()
    assert (site / CACHE_DIR / PACK).is_file()
    assert not any(path.startswith(".") or CACHE_DIR in path for path in files)
    assert CACHE_DIR.encode() not in files["manifest.json"]


def test_parallel_parsing_gives_the_serial_output_and_problems(site, monkeypatch, write_yaml):
    from pipeline.errors import InvalidInput

    serial = cold_build()
    monkeypatch.setattr(cache_module, "PARALLEL_FROM", 2)  # fork workers even for 4 files
    shutil.rmtree(CACHE_DIR, ignore_errors=True)
    assert build() == serial
    write_yaml("events/broken.yaml", "title: Broken\nkind: meetup\n")
    shutil.rmtree(CACHE_DIR)
    with pytest.raises(InvalidInput, match=r"events/broken\.yaml:1: missing required key 'start'"):
        build()
