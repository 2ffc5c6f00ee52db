"""The sites the web tests render: the bundled one, and one of awkward events."""

from __future__ import annotations

import datetime as dt
from contextlib import chdir
from pathlib import Path
from zoneinfo import ZoneInfo

from conftest import PINNED_NOW, ROOT

from pipeline.build import load_inputs
from pipeline.model import Event, Image, Link, Location, OccurrenceChange, Recurrence, Status
from pipeline.sources.settings import FeedSpec, Settings
from pipeline.web.pages import render_pages

LONG_WORD = "Supercalifragilistic" * 6  # no break opportunity: the classic sideways scroll
URL = "https://example.org/" + "very-long-path-segment/" * 8 + "?" + "q=1&" * 20
BERLIN = ZoneInfo("Europe/Berlin")
PARIS = ZoneInfo("Europe/Paris")


def bundled_pages() -> dict[str, bytes]:
    """The bundled site's pages as `pipeline build` publishes them at the pinned now."""
    with chdir(ROOT):
        events, _, settings = load_inputs(Path("events"), None, Path("pipeline.yaml"))
        return render_pages(events, settings, PINNED_NOW)


def stress_settings() -> Settings:
    return Settings(site_name=f"Stress {LONG_WORD}", base_url="https://events.example.org/",
                    feeds=(FeedSpec("talks", f"Talks {LONG_WORD}", URL, ("meetup",)),))


def stress_events() -> tuple[Event, ...]:
    """Long words and URLs, every status, every kind of place, a DST change, an endless series."""
    day = dt.date(2025, 3, 1)
    return (
        Event(id="wide", title=f"A title with {LONG_WORD} in it", kind="meetup", start=day,
              end=day, summary=f"Summary with {LONG_WORD} and {URL}",
              description=f"Text with a bare URL {URL} and [a link]({URL}).\n\n## A heading",
              image=Image("https://example.org/wide.png", "A very wide test picture"),
              highlights=(f"Highlight {LONG_WORD}", f"[{URL}]({URL})"), links=(Link(URL, URL),),
              hosts=(LONG_WORD,), url=URL,
              location=Location(name=LONG_WORD, address=URL, city="Berlin", country="Germany"),
              source="events/wide.yaml"),
        Event(id="cancelled", title="Cancelled meetup", kind="meetup",
              start=dt.datetime(2025, 2, 1, 18, 0, tzinfo=BERLIN),
              end=dt.datetime(2025, 2, 1, 20, 0, tzinfo=BERLIN), timezone="Europe/Berlin",
              status=Status.CANCELLED, location=Location(city="Berlin", country="Germany"),
              source="events/cancelled.yaml"),
        Event(id="hybrid", title="Hybrid night across the DST change", kind="social",
              start=dt.datetime(2025, 3, 29, 22, 0, tzinfo=BERLIN),
              end=dt.datetime(2025, 3, 30, 4, 0, tzinfo=BERLIN), timezone="Europe/Berlin",
              status=Status.TENTATIVE,
              location=Location(name="Club", city="Berlin", url="https://meet.example.org/x"),
              source="events/hybrid.yaml"),
        Event(id="weekly", title="Weekly call <script>alert(1)</script>", kind="meeting",
              start=dt.datetime(2024, 12, 4, 14, 0, tzinfo=ZoneInfo("Asia/Seoul")),
              end=dt.datetime(2024, 12, 4, 15, 30, tzinfo=ZoneInfo("Asia/Seoul")),
              timezone="Asia/Seoul", recurrence=Recurrence("FREQ=WEEKLY;BYDAY=WE"),
              location=Location(online=True),
              description="<script>alert(1)</script> [x](javascript:alert(1)) </script>",
              source="events/weekly.yaml"),
        Event(id="moved", title="Rescheduled workshop", kind="meetup",
              start=dt.datetime(2025, 5, 8, 18, 0, tzinfo=BERLIN),
              end=dt.datetime(2025, 5, 8, 20, 0, tzinfo=BERLIN), timezone="Europe/Berlin",
              moved_from=dt.datetime(2025, 5, 1, 18, 0, tzinfo=BERLIN),
              location=Location(name="Hall 2", address="Street 1", city="Berlin"),
              source="events/moved.yaml"),
        Event(id="monthly", title="Community call", kind="meeting",
              start=dt.datetime(2025, 1, 9, 18, 0, tzinfo=PARIS),
              end=dt.datetime(2025, 1, 9, 19, 0, tzinfo=PARIS), timezone="Europe/Paris",
              recurrence=Recurrence("FREQ=MONTHLY;BYDAY=2TH;COUNT=12", (
                  dt.datetime(2025, 3, 13, 18, 0, tzinfo=PARIS),), changes=(
                  OccurrenceChange(dt.datetime(2025, 4, 10, 18, 0, tzinfo=PARIS),
                                   start=dt.datetime(2025, 4, 17, 17, 0, tzinfo=PARIS),
                                   end=dt.datetime(2025, 4, 17, 18, 0, tzinfo=PARIS),
                                   title="Community call (moved)"),
                  OccurrenceChange(dt.datetime(2025, 5, 8, 18, 0, tzinfo=PARIS),
                                   status=Status.CANCELLED))),
              location=Location(online=True, url="https://meet.example.org/call"),
              source="events/monthly.yaml"),
        Event(id="old", title="An old one", kind="conference", start=dt.date(2023, 5, 2),
              end=dt.date(2023, 5, 4), location=Location(city="Paris"), source="events/old.yaml"),
    )


def stress_pages() -> dict[str, bytes]:
    return render_pages(stress_events(), stress_settings(), PINNED_NOW)
