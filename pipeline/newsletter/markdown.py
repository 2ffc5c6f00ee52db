"""Markdown from event and issue files as sanitised e-mail HTML, and as plain text."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from functools import cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from pipeline.newsletter.wrapping import TEXT_WIDTH, wrap

# What Markdown may become in an e-mail; everything else is dropped by nh3.
ALLOWED_TAGS = {"p", "a", "strong", "em", "code", "pre", "ul", "ol", "li", "br", "blockquote",
                "h3", "h4", "hr"}
ALLOWED_SCHEMES = {"https", "http", "mailto", "webcal", "tel"}


@cache
def _parser() -> MarkdownIt:
    # CommonMark with raw HTML off: `<script>` in a file stays text, never markup.
    # Images are off too: an e-mail image needs alt text and a size, which `image:` gives.
    return MarkdownIt("commonmark", {"html": False}).disable("image")


def link_style(colour: str | None) -> dict[str, dict[str, str]]:
    """Each link's inline style (Gmail drops class rules) in the site's accent colour."""
    style = "text-decoration:underline;" if colour is None else \
        f"color:{colour};text-decoration:underline;"
    return {"a": {"style": style}}


def _sanitise(html: str, link_colour: str | None) -> str:
    """Keep only the allowed tags, `href` with an allowed scheme, and our link style."""
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href"}},
                     url_schemes=ALLOWED_SCHEMES, link_rel="noopener",
                     set_tag_attribute_values=link_style(link_colour)).strip()


def markdown_to_html(text: str, link_colour: str | None = None) -> str:
    """Block Markdown (paragraphs, lists) as sanitised HTML for an `mj-text` (or a web page).

    `link_colour`: the site's accent (branding.accent_color, a checked hex colour).
    """
    # Headings inside an e-mail card sit under the card's own title: shift them down.
    html = _parser().render(text)
    for level, new in (("h1", "h3"), ("h2", "h3"), ("h5", "h4"), ("h6", "h4")):
        html = html.replace(f"<{level}>", f"<{new}>").replace(f"</{level}>", f"</{new}>")
    return _sanitise(html, link_colour)


def inline_markdown_to_html(text: str, link_colour: str | None = None) -> str:
    """One line of Markdown (a highlight) as sanitised inline HTML, without a paragraph."""
    return _sanitise(_parser().renderInline(text), link_colour)


def link_targets(text: str) -> tuple[str, ...]:
    """Every link target written in the Markdown, in order (for checks before rendering)."""
    targets = []
    for token in _walk(_parser().parse(text)):
        if token.type == "link_open":
            targets.append(str(token.attrGet("href") or ""))
    return tuple(targets)


def _walk(tokens: Sequence[Token]):
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)


def inline_markdown_to_text(text: str) -> str:
    """One line of Markdown as plain text; links become `title <url>`."""
    tokens = _parser().parseInline(text)
    return _inline_text(tokens[0].children or []) if tokens else ""


def markdown_to_text(text: str, width: int = TEXT_WIDTH) -> str:
    """Block Markdown as plain text: wrapped paragraphs, `-`/`1.` lists, links as `<url>`."""
    blocks: list[str] = []
    _blocks(_parser().parse(text), 0, blocks, width, prefix="")
    return "\n\n".join(block for block in blocks if block.strip())


def _inline_text(children: Sequence[Token]) -> str:
    out: list[str] = []
    hrefs: list[tuple[str, int]] = []  # (href, index in out where the link text starts)
    for token in children:
        if token.type in ("text", "code_inline", "html_inline"):
            out.append(token.content)
        elif token.type == "softbreak":
            out.append(" ")
        elif token.type == "hardbreak":
            out.append("\n")
        elif token.type == "link_open":
            hrefs.append((str(token.attrGet("href") or ""), len(out)))
        elif token.type == "link_close" and hrefs:
            href, start = hrefs.pop()
            label = "".join(out[start:])
            # A bare URL or address needs no label; otherwise keep both, so no link is lost.
            out[start:] = ([href] if label in (href, "") else [label] if href == f"mailto:{label}"
                           else [f"{label} <{href}>"])
    return "".join(out)


def _blocks(tokens: Sequence[Token], index: int, blocks: list[str], width: int,
            prefix: str) -> int:
    """Append the text blocks from `tokens[index]` until the matching close; return the end."""
    list_counters: list[int | None] = []
    while index < len(tokens):
        token = tokens[index]
        kind = token.type
        if kind == "inline":
            blocks.append(_fill(_inline_text(token.children or []), width, prefix))
        elif kind in ("fence", "code_block"):
            blocks.append(textwrap.indent(token.content.rstrip("\n"), prefix + "    "))
        elif kind == "hr":
            blocks.append(prefix + "-" * 20)
        elif kind == "bullet_list_open":
            list_counters.append(None)
        elif kind == "ordered_list_open":
            list_counters.append(int(token.attrGet("start") or 1))
        elif kind in ("bullet_list_close", "ordered_list_close"):
            list_counters.pop()
        elif kind == "list_item_open":
            counter = list_counters[-1] if list_counters else None
            marker = "-" if counter is None else f"{counter}."
            if counter is not None:
                list_counters[-1] = counter + 1
            items: list[str] = []
            index = _blocks(tokens, index + 1, items, width, prefix + " " * (len(marker) + 1))
            body = "\n".join(items).lstrip()
            blocks.append(f"{prefix}{marker} {body}")
        elif kind == "list_item_close":
            return index
        elif kind == "blockquote_open":
            quoted: list[str] = []
            index = _blocks(tokens, index + 1, quoted, width - 2, "")
            blocks.append(textwrap.indent("\n\n".join(quoted), prefix + "> ",
                                          lambda _line: True))
        elif kind == "blockquote_close":
            return index
        index += 1
    return index


def _fill(text: str, width: int, prefix: str) -> str:
    """Wrap each hard line by display width; long words (URLs) are never broken."""
    return wrap(text, width, indent=prefix)
