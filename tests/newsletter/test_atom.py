"""newsletter/feed.xml: a valid Atom feed of the issues, stable ids, dates from the issues."""

from __future__ import annotations

import dataclasses
import datetime as dt
import xml.etree.ElementTree as ET

from pipeline.model import Issue
from pipeline.newsletter.atom import XML_LANG, render_feed
from pipeline.sources.settings import Settings

A = "{http://www.w3.org/2005/Atom}"


def issue(issue_id: str, day: dt.date, title: str = "An issue", **extra) -> Issue:
    return Issue(id=issue_id, title=title, date=day, period_start=day, period_end=day, **extra)


ISSUES = (issue("2024-recap", dt.date(2025, 1, 6), preheader="The year in review"),
          issue("2025-03", dt.date(2025, 3, 31), subject="March!"),
          issue("2025-02", dt.date(2025, 2, 28)))


def test_feed_has_what_rfc_4287_requires(settings: Settings) -> None:
    feed = ET.fromstring(render_feed(ISSUES, settings))
    assert feed.tag == f"{A}feed"
    assert feed.findtext(f"{A}id") == "tag:events.example.org,2000:newsletter"
    assert feed.findtext(f"{A}title") == "Test Community newsletter"
    assert feed.findtext(f"{A}author/{A}name") == "News"
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{A}link")}
    assert links == {"self": "https://events.example.org/newsletter/feed.xml",
                     "alternate": "https://events.example.org/newsletter/"}
    for entry in feed.findall(f"{A}entry"):
        for required in ("id", "title", "updated"):
            assert entry.findtext(f"{A}{required}"), required
        assert entry.find(f"{A}link[@rel='alternate']") is not None


def test_entries_newest_first_with_dates_and_links_of_the_issues(settings: Settings) -> None:
    feed = ET.fromstring(render_feed(ISSUES, settings))
    entries = feed.findall(f"{A}entry")
    assert [e.findtext(f"{A}updated") for e in entries] == [
        "2025-03-31T00:00:00Z", "2025-02-28T00:00:00Z", "2025-01-06T00:00:00Z"]
    assert feed.findtext(f"{A}updated") == "2025-03-31T00:00:00Z"  # newest issue, not the clock
    assert entries[0].find(f"{A}link").get("href") == \
        "https://events.example.org/newsletter/2025-03/"
    assert [e.findtext(f"{A}summary") for e in entries] == ["March!", "An issue",
                                                          "The year in review"]


def test_entry_ids_are_unique_tag_uris_that_survive_a_move(settings: Settings) -> None:
    moved = Settings(site_name="Test Community", base_url="https://new-host.example/",
                     uid_domain="events.example.org")
    ids = [e.findtext(f"{A}id") for e in
           ET.fromstring(render_feed(ISSUES, settings)).findall(f"{A}entry")]
    moved_ids = [e.findtext(f"{A}id") for e in
                 ET.fromstring(render_feed(ISSUES, moved)).findall(f"{A}entry")]
    assert len(set(ids)) == 3 and ids == moved_ids
    assert ids[0] == "tag:events.example.org,2025-03-31:newsletter/2025-03"


def test_feed_is_deterministic_whatever_the_input_order(settings: Settings) -> None:
    assert render_feed(ISSUES, settings) == render_feed(tuple(reversed(ISSUES)), settings)


def test_hostile_title_stays_text(settings: Settings) -> None:
    title = '</title><entry><id>x</id></entry> & <script>alert(1)</script>'
    feed = ET.fromstring(render_feed((issue("x", dt.date(2025, 1, 1), title),), settings))
    assert len(feed.findall(f"{A}entry")) == 1
    assert feed.find(f"{A}entry").findtext(f"{A}title") == title


def test_feed_without_issues_is_valid_and_fixed(settings: Settings) -> None:
    feed = ET.fromstring(render_feed((), settings))
    assert feed.findall(f"{A}entry") == []
    assert feed.findtext(f"{A}updated") == "1970-01-01T00:00:00Z"


def test_feed_speaks_the_site_language_and_marks_each_issue_in_another(settings: Settings) -> None:
    korean_site = dataclasses.replace(settings, locale="ko")
    issues = (*ISSUES, issue("2025-04-fr", dt.date(2025, 4, 30), lang="fr"))
    feed = ET.fromstring(render_feed(issues, korean_site))
    assert feed.get(XML_LANG) == "ko"
    assert feed.findtext(f"{A}title") == "Test Community 뉴스레터"
    langs = [entry.get(XML_LANG) for entry in feed.findall(f"{A}entry")]
    assert langs == ["fr", None, None, None]  # newest first; the others inherit "ko"
