"""Event pages across builds: an unchanged event's page is not rendered again, and every
rebuild still publishes the bytes of a cold build of its input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cachesite import FILES, NOW, build, cold_build, make_site, publish_elsewhere, rebuild

import pipeline.web.pages as pages_module
from pipeline.cache import cache_dir_for
from pipeline.cache.fragments import FRAGMENTS as DATA
from pipeline.errors import PipelineError

SEOUL_OVER = dt.datetime(2025, 4, 10, 12, 0, tzinfo=dt.UTC)  # 21:00 in Seoul
CALL_ENDS = dt.datetime(2025, 3, 6, 2, 0, tzinfo=dt.UTC)  # Wed 5 Mar 18:00 Los Angeles (PST)


@pytest.fixture
def site(in_tmp: Path) -> Path:
    return make_site(in_tmp)


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the events whose page is rendered (in this process)."""
    seen: list[str] = []
    render_event = pages_module.render_event

    def spy(event, *args):
        seen.append(event.id)
        return render_event(event, *args)

    monkeypatch.setattr(pages_module, "render_event", spy)
    return seen


def test_unchanged_events_keep_their_pages(site, rendered):
    first = build()
    assert sorted(rendered) == ["paris-docathon", "past-conference", "seoul-meetup",
                                "weekly-call"]
    assert rebuild(rendered) == first
    assert rendered == []


def test_an_edit_renders_that_events_page_alone(site, rendered, write_yaml):
    build()
    write_yaml("events/seoul-meetup.yaml", FILES["events/seoul-meetup.yaml"].replace(
        "Seoul meetup", "Seoul meetup (moved)"))
    output = rebuild(rendered)
    assert rendered == ["seoul-meetup"]
    assert b"Seoul meetup (moved)" in output["events/seoul-meetup/index.html"]
    assert b"Seoul meetup (moved)" in output["events/index.html"]  # the listing's card
    assert output == cold_build()


def test_a_changed_template_renders_every_page(site, rendered):
    build()
    template = Path("templates/web/event.html.j2")
    template.write_text(template.read_text().replace("<h1", "<h1 data-edited"))
    output = rebuild(rendered)
    assert len(rendered) == 4
    assert b"data-edited" in output["events/weekly-call/index.html"]
    assert output == cold_build()


def test_a_changed_setting_renders_every_page(site, rendered, write_yaml):
    build()
    write_yaml("pipeline.yaml", FILES["pipeline.yaml"].replace("Cache Test", "Cache Test 2"))
    output = rebuild(rendered)
    assert len(rendered) == 4
    assert output == cold_build()


@pytest.mark.parametrize(("later", "changed"), [
    (CALL_ENDS, "weekly-call"),  # one date of the series is over: its next dates move
    (SEOUL_OVER, "seoul-meetup"),  # the meetup is over: it moves to the past events
])
def test_a_clock_passing_an_end_renders_that_events_page(site, rendered, later, changed):
    build(now=later - dt.timedelta(hours=1))
    before = rebuild(rendered, now=later - dt.timedelta(seconds=1))
    assert rendered == []
    after = rebuild(rendered, now=later)
    assert rendered == [changed]
    assert after[f"events/{changed}/index.html"] != before[f"events/{changed}/index.html"]
    assert after == cold_build(later)


def test_a_page_replaced_in_the_publish_root_is_rendered_again(site, rendered):
    first = build()
    # Another build (of other input) published this page since: the manifest says so.
    publish_elsewhere("events/paris-docathon/index.html", b"<p>someone else's page</p>")
    assert rebuild(rendered) == first
    assert rendered == ["paris-docathon"]


def test_a_page_of_an_interrupted_publish_is_rendered_again(site, rendered):
    first = build()
    Path("output/events/seoul-meetup/index.html").write_bytes(b"half")
    Path("output/.publish-journal.json").write_text(
        json.dumps({"paths": ["events/seoul-meetup/index.html"]}))
    assert rebuild(rendered) == first
    assert len(rendered) == 4  # a journal: no recorded hash may be trusted


def test_damaged_event_data_is_read_from_the_files_again(site, rendered):
    # Every page needs its event (a changed template); the cache's copies of the events are
    # damaged: each event file is parsed again, and the output is still a cold build's.
    build()
    data = cache_dir_for(Path("output")) / DATA
    data.write_bytes(data.read_bytes().replace(b"Seoul", b"Seoux").replace(b"Paris", b"Parix"))
    template = Path("templates/web/event.html.j2")
    template.write_text(template.read_text().replace("<h1", "<h1 data-edited"))
    output = rebuild(rendered)
    assert len(rendered) == 4
    assert b"Seoux" not in output["events/seoul-meetup/index.html"]
    assert output == cold_build()


def test_a_template_mistake_in_a_worker_is_reported_as_in_a_serial_build(site, monkeypatch):
    # Pages rendered in forked workers: the error comes back as the template's line.
    monkeypatch.setattr(pages_module, "PARALLEL_FROM", 2)
    template = Path("templates/web/event.html.j2")
    template.write_text(template.read_text().replace("<h1", "{{ page.no_such_field }}<h1", 1))
    with pytest.raises(PipelineError, match=r"event\.html\.j2:\d+: rendering event '.*' failed"):
        build()
    assert not Path("output/events").exists()


def test_an_earlier_now_renders_every_page_as_a_cold_build_would(site, rendered):
    build()
    earlier = NOW - dt.timedelta(days=60)  # before every event: all of them upcoming again
    output = rebuild(rendered, now=earlier)
    assert len(rendered) == 4  # no window reaches back before the `now` it was made at
    assert output == cold_build(earlier)
