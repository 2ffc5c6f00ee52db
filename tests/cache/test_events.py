"""The build cache: each change misses exactly the entries it must; output equals a cold build."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from cachesite import FILES, build, cold_build, forget_last_run, make_site

import pipeline.cache.events as cache_module
import pipeline.calendar.feeds as calendar_module
from pipeline.cache import cache_dir_for
from pipeline.cache.events import PACK


@pytest.fixture
def site(in_tmp: Path) -> Path:
    """A small site with the project's e-mail templates, in the working directory."""
    return make_site(in_tmp)


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
    # ...and where a delta rebuild parses a changed file (pipeline/rebuild.py)
    monkeypatch.setattr("pipeline.sources.events.load_event", parse)
    monkeypatch.setattr(calendar_module, "_vevent", serialize)
    return seen


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
    forget_last_run()  # else it stops before loading anything (tests/cache/test_run.py)
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


def test_edited_file_reuses_every_vtimezone_of_the_last_build(site, spy, write_yaml,
                                                             monkeypatch):
    # Bug: the build saved its cache before rendering the calendars, so the VTIMEZONEs that
    # rendering computes (about 30 ms a zone) were never kept and every edit paid them again.
    warm(spy)
    computed: list[str] = []
    vtimezone = calendar_module.vtimezone

    def counted(name, *args, **kwargs):
        computed.append(name)
        return vtimezone(name, *args, **kwargs)

    monkeypatch.setattr(calendar_module, "vtimezone", counted)
    write_yaml("events/seoul-meetup.yaml", FILES["events/seoul-meetup.yaml"].replace(
        "Seoul meetup", "Seoul meetup (renamed)"))
    assert b"Seoul meetup (renamed)" in build()["calendar/events/seoul-meetup.ics"]
    assert computed == []


def test_renamed_file_is_a_new_entry_and_the_old_one_goes(site, spy):
    warm(spy)
    Path("events/seoul-meetup.yaml").rename("events/seoul-meetup-2025.yaml")
    forget_last_run()  # the full build's records (a delta rebuild leaves them as they are)
    warm_output = build()
    assert spy == {"parsed": ["events/seoul-meetup-2025.yaml"],
                   "serialized": ["seoul-meetup-2025"]}
    assert "calendar/events/seoul-meetup.ics" not in warm_output
    assert warm_output == cold_build()
    pack = (cache_dir_for(Path("output")) / PACK).read_text(encoding="utf-8")
    assert "seoul-meetup-2025.yaml" in pack and "seoul-meetup.yaml" not in pack


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
    import pipeline.cache.run as run_module

    for module in (cache_module, run_module):
        monkeypatch.setattr(module, "code_version", lambda: "another version")
    warm_output = build()
    assert len(spy["parsed"]) == 4
    assert warm_output == cold_build()


def test_damaged_cache_is_a_miss_not_an_error(site, spy):
    warm(spy)
    forget_last_run()
    (cache_dir_for(Path("output")) / PACK).write_bytes(b"\x80\x05 not a cache")
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
    # Parsed by every build (the delta rebuild's attempt, pipeline/rebuild.py, reads it
    # too before handing over to the full build, which reports it).
    assert set(spy["parsed"]) == {"events/broken.yaml"} and len(spy["parsed"]) >= 2


def test_cache_lives_in_the_users_private_cache_folder_and_is_not_published(
        site, private_cache_home):
    files = build()
    folder = cache_dir_for(Path("output"))
    assert folder.parent == private_cache_home / "pipeline" and (folder / PACK).is_file()
    assert [p.stat().st_mode & 0o777 for p in (folder.parent, folder, folder / PACK)] == [
        0o700, 0o700, 0o600]
    assert not any(path.startswith(".") for path in files)
    assert not (site / ".pipeline-cache").exists()


def test_parallel_parsing_gives_the_serial_output_and_problems(site, monkeypatch, write_yaml):
    from pipeline.errors import InvalidInput

    serial = cold_build()
    monkeypatch.setattr(cache_module, "PARALLEL_FROM", 2)  # fork workers even for 4 files
    shutil.rmtree(cache_dir_for(Path("output")), ignore_errors=True)
    assert build() == serial
    write_yaml("events/broken.yaml", "title: Broken\nkind: meetup\n")
    shutil.rmtree(cache_dir_for(Path("output")))
    with pytest.raises(InvalidInput, match=r"events/broken\.yaml:1: missing required key 'start'"):
        build()
