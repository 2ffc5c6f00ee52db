"""A calendar's text as the event file's text: HTML descriptions become Markdown, lines one line."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup
from markdownify import MarkdownConverter

# The characters the loader refuses (C0 but tab and LF, DEL, and C1 such as \x80): dropped
# here, so that an imported event file always loads.
from pipeline.sources.fields import CONTROL as _CONTROL

# A tag name right after '<' (or '</'): plain text with a '<' in it ('a < b') is not HTML.
_HTML = re.compile(r"<\s*/?\s*(?:p|br|div|span|a|b|i|u|em|strong|ul|ol|li|h[1-6]|html|body|"
                   r"table|tr|td|img|hr|font|blockquote|pre|code)\b[^>]*>", re.I)


def looks_like_html(text: str) -> bool:
    """True when the text has HTML tags (Google and Discourse put HTML into DESCRIPTION)."""
    return bool(_HTML.search(text))


def html_to_markdown(html: str) -> str:
    """HTML as Markdown for a person to edit; scripts and styles dropped, links kept."""
    soup = BeautifulSoup(html, "html.parser")
    for hidden in soup(["script", "style", "head", "title"]):
        hidden.decompose()  # their text is code or metadata, not part of the description
    converter = MarkdownConverter(heading_style="ATX", bullets="-", strip=["img"],
                                  escape_underscores=False, escape_asterisks=False)
    return tidy(converter.convert_soup(soup))


def tidy(text: str) -> str:
    """Line ends as LF, control characters gone, no trailing blanks, at most one blank line."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " "))
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def one_line(text: str) -> str:
    """Every run of blanks and line breaks as one space (titles, places)."""
    return " ".join(_CONTROL.sub(" ", text).split())


def description_text(plain: str | None, html: str | None) -> str | None:
    """The richest text there is as Markdown: X-ALT-DESC's HTML, HTML in DESCRIPTION, or plain."""
    if html and html.strip():
        return html_to_markdown(html) or None
    if plain and looks_like_html(plain):
        return html_to_markdown(plain) or None
    return tidy(plain) or None if plain else None
