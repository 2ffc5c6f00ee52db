"""Markdown from event and issue files: sanitised HTML and plain text."""

from __future__ import annotations

import pytest
from html_scan import scan

from pipeline.newsletter.markdown import (
    inline_markdown_to_html,
    inline_markdown_to_text,
    link_targets,
    markdown_to_html,
    markdown_to_text,
)

HOSTILE = [
    "<script>alert(1)</script>",
    '<iframe src="https://evil.example/"></iframe>',
    '<img src="x" onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1) )",
    '<a href="javascript:alert(2)">raw link</a>',
    "<b onmouseover=alert(3)>bold</b>",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[vb](vbscript:msgbox(1))",
    "![pic](javascript:alert(1))",
    '<svg onload="alert(1)"></svg>',
    "<style>body{display:none}</style>",
    '<a href="https://ok.example/" onclick="alert(1)">ok</a>',
]


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_markdown_is_inert_html(source: str) -> None:
    for html in (markdown_to_html(f"Before {source} after\n\n- {source}"),
                 inline_markdown_to_html(f"Before {source} after")):
        facts = scan(html)
        assert not {"script", "iframe", "img", "svg", "style"} & set(facts.tags), html
        assert facts.handlers == [], html
        assert facts.script_urls == [], html
        assert "Before" in facts.text and "after" in facts.text  # text survives


def test_markdown_keeps_basic_formatting_and_styles_links() -> None:
    html = markdown_to_html("Some **bold**, *em* and `code`.\n\n1. one\n2. [two](https://a.example/x)",
                            "#123abc")
    facts = scan(html)
    assert {"p", "strong", "em", "code", "ol", "li", "a"} <= set(facts.tags)
    assert facts.hrefs == ["https://a.example/x"]
    # Gmail drops class-based rules for links in some views: the colour is inline.
    # The colour is the site's accent (branding.accent_color), passed in: none is in Python.
    assert ("a", "style", "color:#123abc;text-decoration:underline;") in facts.attributes


def test_headings_are_shifted_below_the_card_title() -> None:
    facts = scan(markdown_to_html("# Big\n\n## Less\n\n###### Tiny"))
    assert "h1" not in facts.tags and "h2" not in facts.tags
    assert facts.tags == ["h3", "h3", "h4"]


def test_markdown_images_do_not_become_images() -> None:
    # An e-mail image needs alt text and a width, which only `image:` provides.
    assert "img" not in scan(markdown_to_html("![a cat](https://x.example/cat.png)")).tags


def test_link_targets_lists_every_link_including_relative_ones() -> None:
    assert link_targets("[a](https://a.example/) and [b](/relative) <https://c.example>") == (
        "https://a.example/", "/relative", "https://c.example")


def test_text_keeps_every_link_with_its_label() -> None:
    text = markdown_to_text("Read [the notes](https://n.example/x) or <https://bare.example>.")
    assert text == "Read the notes <https://n.example/x> or https://bare.example."


def test_text_writes_an_address_link_once() -> None:
    """The footer `Write to us at <hello@example.org>.` said the address twice."""
    assert markdown_to_text("Mail <hello@example.org> or [us](mailto:team@example.org).") == (
        "Mail hello@example.org or us <mailto:team@example.org>.")


def test_text_wraps_paragraphs_but_never_breaks_a_url() -> None:
    url = "https://example.org/" + "a" * 90
    text = markdown_to_text(("word " * 30) + f"[x]({url})")
    assert all(len(line) <= 78 for line in text.splitlines() if url not in line)
    assert url in text


def test_text_renders_lists_and_nested_lists() -> None:
    text = markdown_to_text("1. **first** item\n2. second\n   - nested a\n   - nested b\n\n- dash")
    assert text.splitlines() == ["1. first item", "", "2. second", "   - nested a",
                                 "   - nested b", "", "- dash"]


def test_text_keeps_raw_html_as_literal_text() -> None:
    # Plain text cannot run anything, so the reader sees exactly what was written.
    assert markdown_to_text("a <script>x</script> b") == "a <script>x</script> b"


def test_inline_text_drops_emphasis_markers() -> None:
    assert inline_markdown_to_text("**Startup Showcase**: pitches, see [x](https://x.example)") \
        == "Startup Showcase: pitches, see x <https://x.example>"
