"""The whole render: input order never matters, and the bundled site has every artifact."""

from __future__ import annotations

import pytest
from conftest import PINNED_NOW, ROOT

from pipeline.build import load_inputs, render_site


@pytest.fixture
def bundled(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)  # templates/email and pipeline.yaml are found from the root
    return load_inputs(ROOT / "events", ROOT / "newsletters", ROOT / "pipeline.yaml")


def test_reversed_input_renders_the_same_bytes(bundled) -> None:
    events, issues, settings = bundled
    forward = render_site(events, issues, settings, PINNED_NOW)
    backward = render_site(tuple(reversed(events)), tuple(reversed(issues)), settings, PINNED_NOW)
    assert forward == backward  # the artifacts and the next ledger


def test_bundled_site_has_every_artifact_of_the_contract(bundled) -> None:
    events, issues, settings = bundled
    artifacts, _ = render_site(events, issues, settings, PINNED_NOW)
    expected = {"calendar/upcoming.ics", "newsletter/index.html", "newsletter/feed.xml"}
    expected |= {f"calendar/events/{event.id}.ics" for event in events}
    expected |= {f"calendar/{feed.id}.ics" for feed in settings.feeds}
    expected |= {"events/index.html", "events.json"}
    expected |= {f"events/{event.id}/index.html" for event in events}
    expected |= {f"events/feeds/{feed.id}/index.html" for feed in settings.feeds}
    for issue in issues:
        expected |= {f"newsletter/{issue.id}/{name}" for name in
                     ("index.html", "index.txt", "message.eml")}
    assert expected <= set(artifacts)
    assert not any(path.startswith(".") or "/." in path for path in artifacts)
