"""Parse produced HTML as a mail client would, and list what a reviewer checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class HtmlFacts:
    """Elements, attributes, link targets and images found in one HTML document."""

    tags: list[str] = field(default_factory=list)
    attributes: list[tuple[str, str, str]] = field(default_factory=list)  # (tag, name, value)
    hrefs: list[str] = field(default_factory=list)
    images: list[dict[str, str]] = field(default_factory=list)
    text: str = ""

    @property
    def handlers(self) -> list[tuple[str, str, str]]:
        """Every on* attribute."""
        return [a for a in self.attributes if a[1].startswith("on")]

    @property
    def script_urls(self) -> list[str]:
        """Every attribute value that is a javascript:/vbscript:/data: URL."""
        return [value for _, _, value in self.attributes
                if value.strip().lower().startswith(("javascript:", "vbscript:", "data:"))]


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.facts = HtmlFacts()
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.facts.tags.append(tag)
        for name, value in attrs:
            self.facts.attributes.append((tag, name, value or ""))
        values = {name: value or "" for name, value in attrs}
        if tag == "a" and "href" in values:
            self.facts.hrefs.append(values["href"])
        if tag == "img":
            self.facts.images.append(values)

    def handle_data(self, data: str) -> None:
        self._text.append(data)


def scan(html: str | bytes) -> HtmlFacts:
    """Facts of `html`."""
    parser = _Parser()
    parser.feed(html.decode("utf-8") if isinstance(html, bytes) else html)
    parser.close()
    parser.facts.text = "".join(parser._text)
    return parser.facts
