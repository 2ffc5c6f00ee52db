"""The event pages: what they say, their schema.org JSON-LD and h-event markup, events.json."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser

import pytest
from conftest import PINNED_NOW
from hypothesis import given
from hypothesis import strategies as st
from web_sites import BERLIN, bundled_pages, stress_events, stress_pages, stress_settings

from pipeline.errors import InvalidInput
from pipeline.model import Event, Location, Recurrence
from pipeline.sources.settings import Settings
from pipeline.web.jsonld import script
from pipeline.web.pages import render_pages

BUNDLED = bundled_pages()
STRESS = stress_pages()
SCHEMA = "https://schema.org/"


class Scripts(HTMLParser):
    """The bodies of the page's <script> elements, with their types."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self._type: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._type = dict(attrs).get("type") or ""
            self.found.append((self._type, ""))

    def handle_data(self, data):
        if self._type is not None:
            kind, text = self.found[-1]
            self.found[-1] = (kind, text + data)

    def handle_endtag(self, tag):
        if tag == "script":
            self._type = None


def scripts(html: bytes) -> list[tuple[str, str]]:
    parser = Scripts()
    parser.feed(html.decode())
    return parser.found


def json_ld(html: bytes) -> dict:
    (kind, text), = scripts(html)  # the page runs no script: only its data
    assert kind == "application/ld+json"
    return json.loads(text)


def events_of(document: dict) -> list[dict]:
    return document.get("@graph", [document])


def google_problems(event: dict) -> list[str]:
    """Google's required Event properties (developers.google.com/search/docs/appearance/
    structured-data/event): name, startDate, location; a Place needs an address, a
    VirtualLocation a url. Dates are ISO 8601, with an offset when they have a time."""
    problems = [f"no {key}" for key in ("name", "startDate", "location") if not event.get(key)]
    for key in ("startDate", "endDate", "previousStartDate"):
        value = event.get(key)
        if value and not re.fullmatch(r"\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\d[+-]\d\d:\d\d)?", value):
            problems.append(f"{key} {value!r} is not a date or a date-time with an offset")
    locations = event.get("location") or []
    for location in locations if isinstance(locations, list) else [locations]:
        if location["@type"] == "Place" and not location.get("address"):
            problems.append("a Place without an address")
        if location["@type"] == "VirtualLocation" and not location.get("url"):
            problems.append("a VirtualLocation without a url")
    if event.get("eventStatus") not in {SCHEMA + s for s in (
            "EventScheduled", "EventCancelled", "EventRescheduled", "EventPostponed",
            "EventMovedOnline")}:
        problems.append(f"eventStatus {event.get('eventStatus')!r}")
    return problems


EVENT_PAGES = sorted(p for p in {**BUNDLED} if re.fullmatch(r"events/(?!feeds/)[^/]+/index.html", p))


def test_the_bundled_site_has_a_listing_every_event_feed_page_and_events_json() -> None:
    assert {"events/index.html", "events.json", "events/feeds/conferences/index.html",
            "events/feeds/hackathons/index.html", "events/feeds/korea/index.html"} <= set(BUNDLED)
    ids = {event["id"] for event in json.loads(BUNDLED["events.json"])["events"]}
    assert len(ids) == 10 and {f"events/{i}/index.html" for i in ids} == set(EVENT_PAGES)


@pytest.mark.parametrize("path", EVENT_PAGES)
def test_every_bundled_event_page_holds_what_google_requires(path: str) -> None:
    for event in events_of(json_ld(BUNDLED[path])):
        assert google_problems(event) == [], path
        assert event["organizer"] == {"@type": "Organization", "name": "PyTorch Community",
                                      "url": "https://pytorch.org/"}
        assert event["url"] == "https://pytorch.org/" + path.removesuffix("index.html")
        assert event["eventAttendanceMode"].startswith(SCHEMA)


@pytest.mark.parametrize("path", [p for p in STRESS if p.endswith("index.html")
                                  and "/feeds/" not in p and p != "events/index.html"])
def test_every_stress_event_page_holds_what_google_requires(path: str) -> None:
    for event in events_of(json_ld(STRESS[path])):
        assert google_problems(event) == [], path


def stress_event(event_id: str) -> list[dict]:
    return events_of(json_ld(STRESS[f"events/{event_id}/index.html"]))


def test_cancelled_and_rescheduled_events_carry_their_status() -> None:
    (cancelled,) = stress_event("cancelled")
    assert cancelled["eventStatus"] == SCHEMA + "EventCancelled"
    (moved,) = stress_event("moved")
    assert moved["eventStatus"] == SCHEMA + "EventRescheduled"
    assert moved["previousStartDate"] == "2025-05-01T18:00:00+02:00"
    assert moved["startDate"] == "2025-05-08T18:00:00+02:00"
    (tentative,) = stress_event("hybrid")
    assert tentative["eventStatus"] == SCHEMA + "EventScheduled"  # schema.org has no tentative
    assert "previousStartDate" not in tentative


def test_a_series_is_one_event_per_next_date_with_its_moves_and_cancellations() -> None:
    dates = stress_event("monthly")
    assert [d["startDate"][:10] for d in dates] == [
        "2025-01-09", "2025-02-13", "2025-04-17", "2025-05-08", "2025-06-12", "2025-07-10",
        "2025-08-14", "2025-09-11", "2025-10-09", "2025-11-13"]  # March is excepted
    moved, cancelled = dates[2], dates[3]
    assert (moved["eventStatus"], moved["previousStartDate"], moved["name"]) == (
        SCHEMA + "EventRescheduled", "2025-04-10T18:00:00+02:00", "Community call (moved)")
    assert cancelled["eventStatus"] == SCHEMA + "EventCancelled"
    assert {d["eventStatus"] for d in dates[:2] + dates[4:]} == {SCHEMA + "EventScheduled"}
    html = STRESS["events/monthly/index.html"].decode()
    assert "(moved from Thu, April 10, 2025, 18:00 UTC+2)" in html  # CLDR's English
    assert re.search(r'<li class="cancelled"><time class="when" datetime="2025-05-08T18:00:00'
                     r'\+02:00">[^<]*</time> <span class="badge">Cancelled</span>', html)


def test_an_endless_series_lists_a_bounded_number_of_dates() -> None:
    assert len(stress_event("weekly")) == 10
    (weekly,) = (e for e in json.loads(STRESS["events.json"])["events"] if e["id"] == "weekly")
    assert len(weekly["next"]) == 5 and weekly["next"][0]["start"] == "2025-01-08T14:00:00+09:00"


def test_attendance_mode_and_location_follow_the_place() -> None:
    (offline,) = stress_event("moved")
    assert offline["eventAttendanceMode"] == SCHEMA + "OfflineEventAttendanceMode"
    assert offline["location"] == {"@type": "Place", "name": "Hall 2", "address": {
        "@type": "PostalAddress", "streetAddress": "Street 1", "addressLocality": "Berlin"}}
    (mixed,) = stress_event("hybrid")
    assert mixed["eventAttendanceMode"] == SCHEMA + "MixedEventAttendanceMode"
    assert [place["@type"] for place in mixed["location"]] == ["Place", "VirtualLocation"]
    assert mixed["location"][1]["url"] == "https://meet.example.org/x"
    online = stress_event("monthly")[0]
    assert online["eventAttendanceMode"] == SCHEMA + "OnlineEventAttendanceMode"
    assert online["location"] == {"@type": "VirtualLocation", "url": "https://meet.example.org/call"}
    # Online without a join link: the event's page says where to find it.
    assert stress_event("weekly")[0]["location"]["url"] == "https://events.example.org/events/weekly/"


def test_all_day_events_give_dates_and_timed_ones_their_offset() -> None:
    (old,) = stress_event("old")
    assert (old["startDate"], old["endDate"]) == ("2023-05-02", "2023-05-04")  # last day
    (night,) = stress_event("hybrid")  # 22:00 CET to 04:00 CEST: the clocks change at 02:00
    assert (night["startDate"], night["endDate"]) == ("2025-03-29T22:00:00+01:00",
                                                      "2025-03-30T04:00:00+02:00")
    html = STRESS["events/hybrid/index.html"].decode()
    assert ("Sat, March 29, 2025, 22:00 to Sun, March 30, 2025, 04:00 "
            "(Europe/Berlin, UTC+1 \u2013 UTC+2)") in html  # both offsets: the clocks change


def test_untrusted_text_never_becomes_markup_or_script() -> None:
    html = STRESS["events/weekly/index.html"]
    assert [kind for kind, _ in scripts(html)] == ["application/ld+json"]
    assert b"href=\"javascript:" not in html and b"<script>alert" not in html
    (first, *_) = events_of(json_ld(html))
    assert first["name"] == "Weekly call <script>alert(1)</script>"  # the data, intact
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text


@given(st.text())
def test_json_ld_never_closes_its_script_and_reads_back_the_same(text: str) -> None:
    body = str(script({"name": text}))
    assert not re.search(r"[<>&\u2028\u2029]", body)
    assert json.loads(body) == {"name": text}


def test_h_event_classes_mark_the_same_html() -> None:
    html = BUNDLED["events/pytorch-coresig/index.html"].decode()
    for name in ("h-event", "p-name", "dt-start", "dt-end", "p-location", "e-content", "u-url",
                 "p-summary"):
        assert f'class="{name}' in html or f' {name}"' in html or f" {name} " in html, name
    assert '<time class="dt-start when" datetime="2025-01-08T14:00:00+09:00">Wed, January 8, ' \
           "2025, 14:00\u2009\u2013\u200915:30 (Asia/Seoul, UTC+9)</time>" in html
    listing = BUNDLED["events/index.html"].decode()
    assert listing.count('<li class="h-event') == 10


def test_the_listing_has_upcoming_first_then_past_by_year_and_an_item_list() -> None:
    html = STRESS["events/index.html"].decode()
    order = re.findall(r'class="u-url" href="https://events.example.org/events/([^/]+)/"', html)
    assert order == ["weekly", "monthly", "cancelled", "wide", "hybrid", "moved", "old"]
    assert html.index("Upcoming events") < html.index("<h3>2023</h3>")
    items = json_ld(STRESS["events/index.html"])
    assert items["@type"] == "ItemList"
    assert [i["url"].split("/")[-2] for i in items["itemListElement"]] == order
    assert [i["position"] for i in items["itemListElement"]] == list(range(1, 8))


def test_a_feed_page_lists_its_upcoming_events_and_subscribe_buttons() -> None:
    html = BUNDLED["events/feeds/korea/index.html"].decode()
    assert re.findall(r'class="u-url" href="https://pytorch.org/events/([^/]+)/"', html) == [
        "pytorch-coresig"]  # the 2024 Seoul meetup is over
    for href in ("webcal://pytorch.org/calendar/korea.ics",
                 "https://calendar.google.com/calendar/render?cid=webcal%3A%2F%2Fpytorch.org"
                 "%2Fcalendar%2Fkorea.ics",
                 "https://outlook.live.com/calendar/0/addfromweb?url=https%3A%2F%2Fpytorch.org"
                 "%2Fcalendar%2Fkorea.ics&amp;name=PyTorch+Korea+User+Group",
                 "https://pytorch.org/calendar/korea.ics"):
        assert f'href="{href}"' in html, href


def test_pages_are_the_same_bytes_whatever_the_input_order() -> None:
    events = stress_events()
    forward = render_pages(events, stress_settings(), PINNED_NOW)
    assert forward == render_pages(tuple(reversed(events)), stress_settings(), PINNED_NOW)
    assert forward == STRESS


def test_an_event_with_the_feed_pages_id_is_refused_at_its_file() -> None:
    day = dt.date(2025, 2, 1)
    clash = Event(id="feeds", title="Feeds", kind="meetup", start=day, end=day,
                  source="events/feeds.yaml")
    with pytest.raises(InvalidInput) as error:
        render_pages((clash,), Settings(), PINNED_NOW)
    assert [str(p) for p in error.value.problems] == [
        "events/feeds.yaml:1: event id 'feeds' is reserved for the feed pages (events/feeds/); "
        "set 'id:' to another"]


def test_events_json_gives_every_event_with_its_page_and_next_dates() -> None:
    document = json.loads(BUNDLED["events.json"])
    assert document["version"] == 1 and document["page"] == "https://pytorch.org/events/"
    first = document["events"][0]
    assert (first["id"], first["url"], first["upcoming"]) == (
        "pytorch-coresig", "https://pytorch.org/events/pytorch-coresig/", True)
    assert first["next"][0] == {"start": "2025-01-08T14:00:00+09:00",
                                "end": "2025-01-08T15:30:00+09:00", "status": "confirmed"}
    past = [e for e in document["events"] if not e["upcoming"]]
    assert past and all(e["next"] == [] for e in past)


def test_a_site_without_a_location_gets_no_invented_one() -> None:
    day = dt.datetime(2025, 2, 1, 10, 0, tzinfo=BERLIN)
    bare = Event(id="bare", title="Bare", kind="meetup", start=day, end=day + dt.timedelta(hours=1),
                 timezone="Europe/Berlin", source="events/bare.yaml")
    (event,) = events_of(json_ld(render_pages((bare,), Settings(), PINNED_NOW)[
        "events/bare/index.html"]))
    assert "location" not in event and "eventAttendanceMode" not in event
    assert google_problems(event) == ["no location"]


def test_an_online_series_without_a_place_label_says_online() -> None:
    start = dt.datetime(2025, 2, 1, 10, 0, tzinfo=BERLIN)
    call = Event(id="call", title="Call", kind="meeting", start=start,
                 end=start + dt.timedelta(hours=1), timezone="Europe/Berlin",
                 recurrence=Recurrence("FREQ=DAILY;COUNT=2"), location=Location(online=True))
    html = render_pages((call,), Settings(), PINNED_NOW)["events/call/index.html"].decode()
    assert '<span class="p-location">Online</span>' in html and "Repeats daily" in html


def test_the_ics_url_is_the_events_own_site_else_its_page_here(settings) -> None:
    from pipeline.calendar.feeds import render_calendars

    day = dt.date(2025, 2, 1)
    own = Event(id="own", title="Own", kind="meetup", start=day, end=day,
                url="https://own.example.org/")
    bare = Event(id="bare", title="Bare", kind="meetup", start=day, end=day)
    files = render_calendars((own, bare), settings, PINNED_NOW)
    assert b"URL;VALUE=URI:https://own.example.org/\r\n" in files["calendar/events/own.ics"]
    assert (b"URL;VALUE=URI:https://events.example.org/events/bare/\r\n"
            in files["calendar/events/bare.ics"])


def test_an_hourly_rebuild_rewrites_no_page(tmp_path) -> None:
    from contextlib import chdir
    from pathlib import Path

    from conftest import ROOT

    from pipeline.build import build_site

    out = tmp_path / "out"

    def build(now: dt.datetime) -> dict[str, tuple[bytes, int]]:
        with chdir(ROOT):
            build_site(Path("events"), Path("newsletters"), out, now, Path("pipeline.yaml"),
                       quiet=True)
        pages = [p for p in out.rglob("*") if p.is_file()
                 and p.relative_to(out).parts[0] in ("events", "events.json")]
        return {str(p.relative_to(out)): (p.read_bytes(), p.stat().st_mtime_ns) for p in pages}

    first = build(PINNED_NOW)
    assert len(first) == 1 + 1 + 10 + 3  # events.json, the listing, 10 events, 3 feeds
    assert build(PINNED_NOW + dt.timedelta(hours=1)) == first  # same bytes, untouched files


def test_the_organizer_comes_from_the_settings_and_its_address_only_when_written() -> None:
    from dataclasses import replace

    from pipeline.sources.settings import Organizer

    events = stress_events()[:1]
    written = replace(stress_settings(), organizer=Organizer("Meetup crew", "crew@example.org",
                                                             "https://crew.example.org/"))
    (event,) = events_of(json_ld(render_pages(events, written, PINNED_NOW)["events/wide/index.html"]))
    assert event["organizer"] == {"@type": "Organization", "name": "Meetup crew",
                                  "url": "https://crew.example.org/", "email": "crew@example.org"}
    (default,) = stress_event("wide")
    assert "email" not in default["organizer"]  # the sender's address is not put on the web


def test_a_right_to_left_site_lays_its_pages_out_right_to_left() -> None:
    start = dt.datetime(2025, 2, 1, 10, 0, tzinfo=BERLIN)
    call = Event(id="call", title="Call", kind="meeting", start=start,
                 end=start + dt.timedelta(hours=1), timezone="Europe/Berlin")
    for locale, direction in (("ar", "rtl"), ("en", "ltr")):
        pages = render_pages((call,), Settings(locale=locale), PINNED_NOW)
        for path in ("events/index.html", "events/call/index.html"):
            assert f'<html lang="{locale}" dir="{direction}">' in pages[path].decode(), path


@pytest.mark.parametrize("now", [dt.datetime(2020, 1, 1, tzinfo=dt.UTC), PINNED_NOW,
                                 dt.datetime(2040, 1, 1, tzinfo=dt.UTC)])
def test_events_json_is_laid_out_as_json_dumps_would(now):
    # The document is joined from each event's own text (which the build cache keeps).
    data = render_pages(stress_events(), stress_settings(), now)["events.json"]
    document = json.loads(data)
    assert document["events"]
    assert data == (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode()


def test_events_json_without_events_is_laid_out_as_json_dumps_would():
    data = render_pages((), Settings(), PINNED_NOW)["events.json"]
    assert json.loads(data)["events"] == []
    assert data == (json.dumps(json.loads(data), indent=1, ensure_ascii=False) + "\n").encode()
