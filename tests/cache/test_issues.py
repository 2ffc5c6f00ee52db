"""Newsletter issues across builds: an issue none of whose events changed is kept as
published, no unchanged event is decoded, and every rebuild gives a cold build's bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from cachesite import FILES, build, cold_build, make_site, publish_elsewhere, rebuild

import pipeline.cache.events as cache_module
import pipeline.newsletter.issues as issues_module

# Recaps January (the past conference) and looks ahead to nothing: its one event is that one.
JANUARY = """\
title: January 2025
date: 2025-02-15
period: {from: 2025-01-01, to: 2025-01-31}
looking_ahead: false
"""
SEOUL = FILES["events/seoul-meetup.yaml"]


@pytest.fixture
def site(in_tmp: Path, write_yaml) -> Path:
    make_site(in_tmp)
    write_yaml("newsletters/2025-q1.yaml", JANUARY)
    return in_tmp


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The issues rendered and the events decoded from the cache (in this process)."""
    seen: dict[str, list[str]] = {"issues": [], "decoded": []}
    issue_files, decode = issues_module._issue_files, cache_module._decode_event

    def render(env, events, issue, settings):
        seen["issues"].append(issue.id)
        return issue_files(env, events, issue, settings)

    def decoded(event, facts):
        seen["decoded"].append(facts.id)
        return decode(event, facts)

    monkeypatch.setattr(issues_module, "_issue_files", render)
    monkeypatch.setattr(cache_module, "_decode_event", decoded)
    return seen


def test_an_edit_outside_an_issue_keeps_it_and_decodes_nothing(site, spy, write_yaml):
    build()
    write_yaml("events/seoul-meetup.yaml", SEOUL.replace("Seoul meetup", "Seoul meetup (moved)"))
    output = rebuild(*spy.values())
    assert spy == {"issues": [], "decoded": []}
    assert output == cold_build()


def test_an_edit_of_an_issues_event_renders_the_issue(site, spy, write_yaml):
    build()
    write_yaml("events/past-conference.yaml", FILES["events/past-conference.yaml"].replace(
        "Talks and posters.", "Talks, posters and a hallway track."))
    output = rebuild(*spy.values())
    assert spy["issues"] == ["2025-q1"]
    assert b"hallway track" in output["newsletter/2025-q1/index.html"]
    assert output == cold_build()


def test_an_event_entering_an_issue_renders_it(site, spy, write_yaml):
    build()
    write_yaml("events/january-call.yaml", """\
        title: January call
        kind: meeting
        start: 2025-01-20 17:00
        duration: 1h
        timezone: Europe/Berlin
        """)
    output = rebuild(*spy.values())
    assert spy["issues"] == ["2025-q1"]
    assert b"January call" in output["newsletter/2025-q1/index.txt"]
    assert output == cold_build()


def test_an_edited_issue_or_email_template_renders_it(site, spy, write_yaml):
    build()
    write_yaml("newsletters/2025-q1.yaml", JANUARY.replace("January 2025", "January 2025 recap"))
    assert b"January 2025 recap" in rebuild(*spy.values())["newsletter/2025-q1/index.html"]
    assert spy["issues"] == ["2025-q1"]
    text = Path("templates/email/issue.txt.j2")
    text.write_text(text.read_text() + "-- \nsent by the cache test\n")
    output = rebuild(*spy.values())
    assert spy["issues"] == ["2025-q1"]
    assert output["newsletter/2025-q1/index.txt"].endswith(b"sent by the cache test\n")
    assert output == cold_build()


def test_an_issue_file_replaced_in_the_publish_root_is_rendered_again(site, spy):
    first = build()
    publish_elsewhere("newsletter/2025-q1/index.txt", b"someone else's issue\n")
    assert rebuild(*spy.values()) == first
    assert spy["issues"] == ["2025-q1"]
