"""The `branding:` settings: each key read, each bad value one exact path:line, and its use."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from conftest import PINNED_NOW
from html_scan import scan

from pipeline.model import Issue
from pipeline.newsletter.issues import render_newsletters
from pipeline.sources.branding import Branding, Logo, SocialLink
from pipeline.sources.settings import load_settings

EVENT = "title: A\nkind: meetup\nstart: 2024-11-30\n"
BRANDING = """\
base_url: https://meetup.example.org/
branding:
  accent_color: "#1D4ED8"
  logo: {src: img/logo.png, alt: Lisbon Python, width: 140}
  footer: "Run by volunteers. [Code of conduct](https://meetup.example.org/coc)"
  postal_address: |
    Lisbon Python
    Rua Example 1, 1000-001 Lisboa
  subscribe_url: https://meetup.example.org/subscribe
  social:
    - {title: Mastodon, url: "https://fosstodon.org/@lisbonpython"}
"""


def test_every_branding_key_is_read(write_yaml) -> None:
    settings = load_settings(write_yaml("pipeline.yaml", BRANDING))
    assert settings.branding == Branding(
        accent_color="#1d4ed8", logo=Logo("img/logo.png", "Lisbon Python", 140),
        footer="Run by volunteers. [Code of conduct](https://meetup.example.org/coc)",
        postal_address="Lisbon Python\nRua Example 1, 1000-001 Lisboa",
        subscribe_url="https://meetup.example.org/subscribe",
        social=(SocialLink("Mastodon", "https://fosstodon.org/@lisbonpython"),))


@pytest.mark.parametrize(("text", "expected"), [
    ('branding:\n  accent_color: "red; background: url(x)"\n',
     "pipeline.yaml:2: 'branding.accent_color' 'red; background: url(x)' is not a hex colour; "
     "write it quoted with six digits, e.g. \"#c2410c\" (unquoted, # starts a YAML comment)"),
    ("branding:\n  logo: {src: logo.png, alt: Logo, width: 9000}\n",
     "pipeline.yaml:2: 'branding.logo.width' 9000 is not between 1 and 600 (pixels; the e-mail "
     "is 600 wide)"),
    ("branding:\n  logo:\n    src: javascript:alert(1)\n    alt: x\n",
     "pipeline.yaml:3: 'branding.logo.src' 'javascript:alert(1)' must be an http(s) URL or a "
     "path under base_url, without spaces, quotes or angle brackets"),
    ("branding:\n  logo: {src: logo.png}\n",
     "pipeline.yaml:2: missing required key 'branding.logo.alt'"),
    ("branding:\n  subscribe_url: example.org/join\n",
     "pipeline.yaml:2: 'branding.subscribe_url' 'example.org/join' must be an http:// or "
     "https:// URL"),
    ("branding:\n  social:\n    - {title: Mastodon}\n",
     "pipeline.yaml:3: missing required key 'branding.social[].url'"),
    ("branding:\n  accent: \"#fff\"\n",
     "pipeline.yaml:2: unknown key 'branding.accent'; did you mean 'accent_color'?"),
])
def test_bad_branding_is_one_line_naming_file_line_and_key(write_yaml, check_problems, text,
                                                          expected) -> None:
    write_yaml("events/a.yaml", EVENT)
    write_yaml("pipeline.yaml", text)
    assert check_problems() == [expected]


def issue() -> Issue:
    return Issue(id="2025-01", title="January", date=dt.date(2025, 1, 31),
                 period_start=dt.date(2025, 1, 1), period_end=dt.date(2025, 1, 31),
                 intro="See [the agenda](https://meetup.example.org/agenda).",
                 source="newsletters/2025-01.yaml")


def test_branding_reaches_every_template_and_markdown_links(write_yaml) -> None:
    settings = load_settings(write_yaml("pipeline.yaml", BRANDING))
    files = render_newsletters((), (issue(),), settings, PINNED_NOW)
    html = files["newsletter/2025-01/index.html"].decode()
    eml_text = files["newsletter/2025-01/index.txt"].decode()
    facts = scan(html)
    # One accent: no trace of the default left in the page, Markdown links included.
    assert "#c2410c" not in html.lower() and "#fdba74" not in html.lower()
    assert ("a", "style", "color:#1d4ed8;text-decoration:underline;") in facts.attributes
    assert "https://meetup.example.org/img/logo.png" in html and 'alt="Lisbon Python"' in html
    assert "Rua Example 1, 1000-001 Lisboa" in facts.text and "Run by volunteers." in facts.text
    assert {"https://meetup.example.org/subscribe", "https://fosstodon.org/@lisbonpython",
            "https://meetup.example.org/coc"} <= set(facts.hrefs)
    for line in ("Rua Example 1, 1000-001 Lisboa", "Subscribe: https://meetup.example.org/subscribe",
                 "Mastodon: https://fosstodon.org/@lisbonpython"):
        assert line in eml_text
    archive = files["newsletter/index.html"].decode()
    assert "#1d4ed8" in archive and "https://meetup.example.org/subscribe" in archive


def test_no_subscribe_sentence_without_a_subscribe_page(write_yaml) -> None:
    settings = load_settings(write_yaml("pipeline.yaml", BRANDING))
    settings = replace(settings, branding=replace(settings.branding, subscribe_url=""))
    files = render_newsletters((), (issue(),), settings, PINNED_NOW)
    for name in ("2025-01/index.html", "2025-01/index.txt", "index.html"):
        assert "subscribe to the newsletter" not in files[f"newsletter/{name}"].decode().lower()
        assert "Not subscribed yet" not in files[f"newsletter/{name}"].decode()
