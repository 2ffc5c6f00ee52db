"""Per-event .ics files across builds: one made of what its record says is not made again,
and every rebuild still publishes the bytes of a cold build of its input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cachesite import FILES, build, cold_build, make_site, publish_elsewhere, rebuild

import pipeline.calendar.feeds as feeds_module

EVENTS = ["paris-docathon", "past-conference", "seoul-meetup", "weekly-call"]


@pytest.fixture
def site(in_tmp: Path) -> Path:
    return make_site(in_tmp)


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the events whose own .ics is assembled (feeds are not counted)."""
    seen: list[str] = []
    event_file = feeds_module.event_file

    def spy(vevent: bytes, zone: bytes | None) -> bytes:
        uid = re.search(rb"\r\nUID:([^@\r]+)@", b"\r\n" + vevent)
        assert uid is not None
        seen.append(uid.group(1).decode())
        return event_file(vevent, zone)

    monkeypatch.setattr(feeds_module, "event_file", spy)
    return seen


def test_unchanged_events_keep_their_ics(site, made):
    first = build()
    assert sorted(made) == EVENTS
    assert rebuild(made) == first
    assert made == []


def test_an_edit_makes_that_events_ics_alone(site, made, write_yaml):
    build()
    write_yaml("events/seoul-meetup.yaml", FILES["events/seoul-meetup.yaml"].replace(
        "Seoul meetup", "Seoul meetup (moved)"))
    output = rebuild(made)
    assert made == ["seoul-meetup"]
    assert b"SEQUENCE:1" in output["calendar/events/seoul-meetup.ics"]
    assert output == cold_build()


def test_a_changed_setting_makes_every_ics(site, made, write_yaml):
    build()
    write_yaml("pipeline.yaml", FILES["pipeline.yaml"].replace("Cache Test", "Cache Test 2"))
    output = rebuild(made)
    assert sorted(made) == EVENTS
    assert output == cold_build()


def test_an_ics_replaced_in_the_publish_root_is_made_again(site, made):
    first = build()
    publish_elsewhere("calendar/events/weekly-call.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    assert rebuild(made) == first
    assert made == ["weekly-call"]


def test_an_ics_of_an_interrupted_publish_is_made_again(site, made):
    first = build()
    Path("output/calendar/events/weekly-call.ics").write_bytes(b"half written")
    Path("output/.publish-journal.json").write_text('{"paths": []}')
    assert rebuild(made) == first
    assert sorted(made) == EVENTS  # a journal: no recorded hash may be trusted
