"""Preflight: the rules an issue's HTML must pass before anything is published."""

from __future__ import annotations

import pytest

from pipeline.errors import PipelineError
from pipeline.newsletter.preflight import MAX_HTML_BYTES, MAX_STYLE_BYTES, check_html, html_findings


def page(body: str, head: str = "") -> str:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


@pytest.mark.parametrize("href", [
    "https://example.org/a?b=1", "http://example.org/", "mailto:news@example.org",
    "webcal://example.org/calendar/upcoming.ics", "tel:+4930123456", "#top",
    "{{UNSUBSCRIBE_URL}}"])
def test_allowed_links_pass(href: str) -> None:
    assert html_findings(page(f'<a href="{href}">x</a>')) == []


@pytest.mark.parametrize("href", [
    "/newsletter/", "newsletter/2025/", "//evil.example/x", "javascript:alert(1)",
    " javascript:alert(1)", "data:text/html,hi", "ftp://example.org/", "https:/no-host",
    "#", "", "{{OTHER_PLACEHOLDER}}"])
def test_relative_or_other_links_fail(href: str) -> None:
    findings = html_findings(page(f'<a href="{href}">x</a>'))
    assert len(findings) == 1 and "must be absolute" in findings[0]


def test_relative_image_fails() -> None:
    findings = html_findings(page('<img src="assets/a.png" alt="A">'))
    assert findings and "assets/a.png" in findings[0]


@pytest.mark.parametrize("img", ['<img src="https://x.example/a.png">',
                                 '<img src="https://x.example/a.png" alt="">',
                                 '<img src="https://x.example/a.png" alt="  ">'])
def test_image_without_alt_fails(img: str) -> None:
    findings = html_findings(page(img))
    assert findings == ['<img src="https://x.example/a.png"> has no alt text; give the '
                        "event's image an 'alt'"]


def test_html_over_gmail_limit_fails_just_past_it() -> None:
    filler = "x" * (MAX_HTML_BYTES - len(page("")))
    assert html_findings(page(filler)) == []
    findings = html_findings(page(filler + "é"))  # one more character, two more bytes
    assert len(findings) == 1 and "Gmail clips" in findings[0]


def test_style_block_over_limit_fails() -> None:
    ok = "a{color:red}" * (MAX_STYLE_BYTES // 12)
    assert html_findings(page("", f"<style>{ok}</style>")) == []
    findings = html_findings(page("", f"<style>{ok}{'b{x:y}' * 10}</style>"))
    assert len(findings) == 1 and "<style> block" in findings[0]


def test_script_and_handlers_fail() -> None:
    findings = html_findings(page('<script>x</script><p onclick="x">p</p><iframe></iframe>'))
    assert findings == ["a <script> element (mail clients block it)",
                        "an event-handler attribute onclick= on <p>",
                        "a <iframe> element (mail clients block it)"]


def test_check_html_names_the_issue_file_and_every_finding() -> None:
    html = page('<a href="/x">x</a><img src="https://x.example/a.png">')
    with pytest.raises(PipelineError) as error:
        check_html(html, "the web page", "newsletters/2025-03.yaml")
    lines = error.value.message.splitlines()
    assert lines[0] == "preflight failed, nothing was published:"
    assert len(lines) == 3
    assert all(line.startswith("newsletters/2025-03.yaml: the web page: ") for line in lines[1:])
