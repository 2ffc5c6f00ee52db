"""Every event page in Chromium at 375, 768 and 1280 px: no sideways scroll, no axe-core violation.

Screenshots land in tests/artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import pytest
from conftest import ROOT, require, require_executable
from web_sites import bundled_pages, stress_pages

ARTIFACTS = ROOT / "tests" / "artifacts"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
WIDTHS = (375, 768, 1280)


def html_pages() -> dict[str, str]:
    """Name -> HTML of every page of the bundled site and the stress site."""
    found = {}
    for prefix, files in (("site", bundled_pages()), ("stress", stress_pages())):
        for path, data in files.items():
            if path.endswith(".html"):
                name = path.removesuffix("index.html").strip("/").replace("/", "-")
                found[f"{prefix}-{name}"] = data.decode()
    return found


PAGES = html_pages()
AXE_SOURCE = AXE.read_text() if AXE.is_file() else ""
# Every rule axe-core runs by default (WCAG 2.0-2.2 A/AA and best practices), one line each.
AXE_RUN = """async () => (await axe.run(document)).violations.map(v =>
    `${v.id} (${v.impact}): ${v.help}: ` + v.nodes.map(n => n.target.join(' ')).join(', '))"""


@pytest.fixture(scope="module")
def browser():
    executable = require_executable("chromium")
    require(AXE.is_file(), "node_modules/axe-core is not installed (npm ci)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser, html: str, width: int, scheme: str = "light"):
    """The newsletter tests' page opener (nothing leaves the machine), light by default."""
    from test_browser import open_page as open_offline

    return open_offline(browser, html, width, scheme)


@pytest.mark.browser
@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_fits_every_screen_and_axe_finds_no_violation(browser, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = open_page(browser, PAGES[name], WIDTHS[0])
    page.add_script_tag(content=AXE_SOURCE)  # once per page: it is 500 kB of script
    problems = []
    try:
        for width in WIDTHS:  # one load, three widths: the layout is what changes
            page.set_viewport_size({"width": width, "height": 900})
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            if scroll_width > width:
                problems.append(f"scrolls sideways at {width}px ({scroll_width}px)")
            page.screenshot(path=ARTIFACTS / f"web-{name}-{width}.png", full_page=True)
            violations = page.evaluate(AXE_RUN)
            problems += [f"at {width}px: {violation}" for violation in violations]
    finally:
        page.close()
    assert problems == [], f"{name}: " + "; ".join(problems)


@pytest.mark.browser
@pytest.mark.parametrize("name", ["site-events", "site-events-pytorch-coresig", "stress-events-wide"])
def test_dark_mode_keeps_every_text_readable(browser, name: str) -> None:
    page = open_page(browser, PAGES[name], 375, "dark")
    try:
        page.add_script_tag(content=AXE_SOURCE)
        violations = page.evaluate("""async () => (await axe.run(document,
            {runOnly: ['color-contrast']})).violations.map(v => v.nodes.map(n => n.target).join(', '))""")
        assert violations == [], f"{name} in dark mode: {violations}"
        page.screenshot(path=ARTIFACTS / f"web-{name}-375-dark.png", full_page=True)
    finally:
        page.close()
