"""Every issue in a real browser (Debian's Chromium): no sideways scroll, alt text, axe-core, RTL.

Screenshots land in tests/artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import dataclasses
import email
import json
import struct
import zlib
from collections.abc import Iterator
from contextlib import chdir
from email import policy
from pathlib import Path

import pytest
from conftest import PINNED_NOW, ROOT, require, require_executable
from sample_issues import arabic_issue, stress_issue

from pipeline.build import load_inputs
from pipeline.newsletter.issues import render_newsletters

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
WIDTHS = (375, 600)


def png(width: int, height: int) -> bytes:
    """A solid PNG, wider than any phone, standing in for every remote image (no network)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    rows = b"".join(b"\x00" + b"\x8a\x9b\xb0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def pages() -> Iterator[tuple[str, str]]:
    """(name, HTML) of every issue's web page and e-mail HTML: bundled (English, Korean),
    stress and Arabic issues, and the archive in English and Arabic."""
    with chdir(ROOT):
        events, issues, settings = load_inputs(Path("events"), Path("newsletters"),
                                               Path("pipeline.yaml"))
        stress_events, stress = stress_issue()
        arabic_events, arabic = arabic_issue()
        files = render_newsletters(events, issues, settings, PINNED_NOW)
        files |= render_newsletters(stress_events, (stress,), settings, PINNED_NOW)
        files |= render_newsletters(arabic_events, (arabic,), settings, PINNED_NOW)
        # The bundled recap in Korean, under its own id so that both are checked.
        korean = tuple(dataclasses.replace(i, id=f"{i.id}-ko", lang="ko") for i in issues)
        files |= render_newsletters(events, korean, settings, PINNED_NOW)
        # The archive of all, as a site with a long-titled issue would have it, and in Arabic.
        archive = render_newsletters((), (*issues, stress, arabic), settings, PINNED_NOW)
        archive_ar = render_newsletters((), (*issues, arabic),
                                        dataclasses.replace(settings, locale="ar"), PINNED_NOW)
    for issue in (*issues, *korean, stress, arabic):
        folder = f"newsletter/{issue.id}/"
        yield f"{issue.id}-web", files[folder + "index.html"].decode()
        message = email.message_from_bytes(files[folder + "message.eml"], policy=policy.default)
        yield f"{issue.id}-email", message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    yield "archive", archive["newsletter/index.html"].decode()
    yield "archive-ar", archive_ar["newsletter/index.html"].decode()


PAGES = dict(pages())
RIGHT_TO_LEFT = ("arabic-web", "arabic-email", "archive-ar")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def browser():
    executable = require_executable("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser, html: str, width: int, scheme: str):
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    picture = png(1600, 900)

    def answer(route) -> None:
        # Nothing leaves the machine: images get the local picture, anything else fails.
        if route.request.resource_type == "image":
            route.fulfill(status=200, content_type="image/png", body=picture)
        else:
            route.abort()

    page.route("**/*", answer)
    page.set_content(html, wait_until="load")
    return page


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_fits_the_screen_and_every_image_has_alt(browser, name: str, width: int) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = open_page(browser, PAGES[name], width, "light")
    try:
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{name} scrolls sideways at {width}px ({scroll_width}px)"
        images = page.evaluate("[...document.images].map(i => [i.alt, i.naturalWidth, "
                               "i.getBoundingClientRect().right])")
        assert all(alt.strip() for alt, _, _ in images), f"{name}: an image has no alt"
        assert all(loaded > 0 and right <= width for _, loaded, right in images)
        page.screenshot(path=ARTIFACTS / f"{name}-{width}.png", full_page=True)
    finally:
        page.close()


@pytest.mark.parametrize("name", [n for n in sorted(PAGES) if n.endswith(("web", "email"))])
def test_dark_mode_turns_the_background_dark_and_the_text_light(browser, name: str) -> None:
    page = open_page(browser, PAGES[name], 375, "dark")
    try:
        # The title's colour and the card behind it, as the reader sees them.
        colours = page.evaluate("""() => {
            const h1 = document.querySelector('h1');
            let node = h1, background = 'rgba(0, 0, 0, 0)';
            while (node && background === 'rgba(0, 0, 0, 0)') {
                background = getComputedStyle(node).backgroundColor; node = node.parentElement;
            }
            return [getComputedStyle(h1).color, background];
        }""")
        text, background = (luminance(c) for c in colours)
        assert text > 0.6 and background < 0.2, f"{name} in dark mode: {colours}"
        page.screenshot(path=ARTIFACTS / f"{name}-375-dark.png", full_page=True)
    finally:
        page.close()


def luminance(css_colour: str) -> float:
    """0 (black) to 1 (white) for `rgb(r, g, b)`."""
    red, green, blue = (int(part) for part in
                        css_colour[css_colour.index("(") + 1:-1].split(",")[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", RIGHT_TO_LEFT)
def test_arabic_lays_out_right_to_left_without_sideways_scroll(browser, name: str,
                                                               width: int) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = open_page(browser, PAGES[name], width, "light")
    try:
        facts = page.evaluate("""() => {
            const title = document.querySelector('h1');
            const texts = [...document.querySelectorAll('h1, h2, h3, p, li')];
            const range = document.createRange();
            range.selectNodeContents(title);
            return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                    lang: document.documentElement.lang, dir: document.documentElement.dir,
                    title: getComputedStyle(title).direction,
                    // Text in the issue's own direction, except what is marked dir="auto".
                    ltr: texts.filter(e => !e.closest('[dir=auto]')
                                           && getComputedStyle(e).direction !== 'rtl').length,
                    // Right to left: the title's text hugs the right edge of its box.
                    gap: title.getBoundingClientRect().right - range.getBoundingClientRect().right};
        }""")
        assert facts["scroll"] <= facts["inner"] == width, f"{name} scrolls sideways: {facts}"
        assert (facts["lang"], facts["dir"], facts["title"]) == ("ar", "rtl", "rtl"), facts
        assert facts["ltr"] == 0 and facts["gap"] < 2, facts
        page.screenshot(path=ARTIFACTS / f"{name}-rtl-{width}.png", full_page=True)
    finally:
        page.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", sorted(PAGES))
def test_axe_core_finds_no_accessibility_violation(browser, name: str, scheme: str) -> None:
    require(AXE.is_file(), "node_modules/axe-core is missing; run `npm ci` at the repository root")
    page = open_page(browser, PAGES[name], 600, scheme)
    try:
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        violations = page.evaluate("""async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({id: v.id, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ': ' + n.failureSummary)}));
        }""")
        assert violations == [], f"{name} ({scheme}): " + json.dumps(violations, indent=1,
                                                                       ensure_ascii=False)
    finally:
        page.close()
