"""Checks an issue's HTML must pass before anything is published (Gmail's limits, links, alt)."""

from __future__ import annotations

from html.parser import HTMLParser

from pipeline.errors import PipelineError
from pipeline.newsletter.content import allowed_url

MAX_HTML_BYTES = 102 * 1000  # Gmail clips a message whose HTML is larger ("102 KB")
MAX_STYLE_BYTES = 16 * 1024  # Gmail drops a <style> block larger than about 16 KB
URL_ATTRIBUTES = ("href", "src", "background", "action", "poster", "cite")
FORBIDDEN_TAGS = ("script", "iframe", "object", "embed", "form", "frame", "frameset")


class _Scanner(HTMLParser):
    """Collects the facts the rules need while parsing, as a mail client would."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.findings: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in FORBIDDEN_TAGS:
            self.findings.append(f"a <{tag}> element (mail clients block it)")
        for name, value in attrs:
            if name.startswith("on"):
                self.findings.append(f"an event-handler attribute {name}= on <{tag}>")
            if name in URL_ATTRIBUTES and value is not None and not allowed_url(value.strip()):
                self.findings.append(
                    f"<{tag} {name}=\"{value[:80]}\">: a link or image URL must be absolute "
                    "(https:, http:, mailto:, webcal:, tel:), a #fragment, or the "
                    "documented unsubscribe placeholder")
            if name == "srcset":
                self.findings.append(f"<{tag} srcset>: not checked, so not allowed")
        if tag == "img" and not (values.get("alt") or "").strip():
            self.findings.append(f"<img src=\"{(values.get('src') or '')[:80]}\"> has no alt "
                                 "text; give the event's image an 'alt'")
        if tag == "style":
            self._in_style = True
            self.styles.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles[-1] += data


def html_findings(html: str) -> list[str]:
    """Every rule the HTML breaks, as readable sentences (empty: it passes)."""
    findings = []
    size = len(html.encode("utf-8"))
    if size > MAX_HTML_BYTES:
        findings.append(f"the HTML is {size:,} bytes; Gmail clips messages over "
                        f"{MAX_HTML_BYTES:,} bytes: shorten the issue or split it")
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    for style in scanner.styles:
        length = len(style.encode("utf-8"))
        if length > MAX_STYLE_BYTES:
            findings.append(f"a <style> block of {length:,} bytes; Gmail drops blocks over "
                            f"{MAX_STYLE_BYTES:,} bytes")
    return findings + list(dict.fromkeys(scanner.findings))


def check_html(html: str, for_what: str, source: str) -> None:
    """Raise PipelineError naming `source` when the HTML breaks a rule."""
    findings = html_findings(html)
    if findings:
        lines = "\n".join(f"{source}: {for_what}: {finding}" for finding in findings)
        raise PipelineError(f"preflight failed, nothing was published:\n{lines}")
