"""Line breaks: plain text wrapped by display width, HTML text given break opportunities."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from html.parser import HTMLParser

from markupsafe import Markup, escape

TEXT_WIDTH = 78  # display columns of the plain-text version (RFC 5322's line advice)
# A CJK character may start a new line anywhere except before closing punctuation.
NO_LINE_START = set("、。，．：；！？）〕］｝〉》」』】〙〗ー…‥・々ゝゞ,.:;!?)]}%")  # noqa: RUF001
LONG_TOKEN = 16  # HTML words longer than this get break opportunities
_TOKEN = re.compile(r"\S+")
# Plain text breaks only at ASCII spaces: a no-break or thin space (CLDR's ranges) holds.
_WORD = re.compile(r"[^ \t]+")
URL = re.compile(r"<?[a-z][a-z0-9+.-]*://|<?mailto:", re.IGNORECASE)
_AFTER = re.compile(r"([/?&=#_.,;:~-]+)")  # URL punctuation a line may break after


@cache
def char_width(char: str) -> int:
    """Columns one character takes on a terminal: 2 for wide and full-width, 0 for combining."""
    if unicodedata.combining(char) or char in "\u200b\u200c\u200d\u2060\ufeff":
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Columns `text` takes in a monospaced mail reader (East Asian width counted)."""
    return sum(char_width(c) for c in text)


def _atoms(line: str) -> list[tuple[bool, str]]:
    """(space before?, unbreakable piece) of a line: words, and each wide character alone."""
    atoms: list[tuple[bool, str]] = []
    for match in _WORD.finditer(line):
        spaced = match.start() > 0
        piece = ""
        for char in match.group():
            # A line may break before or after a wide (CJK) character, never before 。 or ).
            if piece and char not in NO_LINE_START and (char_width(char) == 2
                                                        or char_width(piece[-1]) == 2):
                atoms.append((spaced, piece))
                spaced, piece = False, ""
            piece += char
        atoms.append((spaced, piece))
    return atoms


def _cut(piece: str, width: int) -> list[str]:
    """A word wider than a line in line-wide pieces; a URL stays whole (clients link it)."""
    if display_width(piece) <= width or URL.match(piece):
        return [piece]
    pieces, current = [], ""
    for char in piece:
        if current and display_width(current + char) > width:
            pieces.append(current)
            current = ""
        current += char
    return [*pieces, current]


def wrap(text: str, width: int = TEXT_WIDTH, indent: str = "", first_indent: str | None = None) -> str:
    """Wrap each line of `text` at `width` display columns; only a longer URL stays whole."""
    first = indent if first_indent is None else first_indent
    out: list[str] = []
    for number, line in enumerate(text.split("\n")):
        current = first if number == 0 else indent
        used, has_text = display_width(current), False
        room = max(width - display_width(indent), 1)
        pieces = [(spaced if i == 0 else False, cut) for spaced, piece in _atoms(line)
                  for i, cut in enumerate(_cut(piece, room))]
        for spaced, piece in pieces:
            gap = " " if spaced and has_text else ""
            size = display_width(gap + piece)
            if has_text and used + size > width:
                out.append(current.rstrip())
                current, used, gap = indent, display_width(indent), ""
                size = display_width(piece)
            current += gap + piece
            used += size
            has_text = True
        out.append(current.rstrip())
    return "\n".join(out)


def underline(title: str, char: str = "=") -> str:
    """A title wrapped to the text width and underlined by its display width."""
    wrapped = wrap(title)
    return wrapped + "\n" + char * max(display_width(line) for line in wrapped.split("\n"))


def _breakable(text: str) -> str:
    """Escaped text where every long word has `<wbr>` after URL punctuation and every 12 chars."""
    def split(match: re.Match[str]) -> str:
        word = match.group()
        if len(word) <= LONG_TOKEN:
            return str(escape(word))
        pieces = []
        for part in _AFTER.split(word):
            chunks = [part[i:i + 12] for i in range(0, len(part), 12)] or [""]
            pieces.append("<wbr>".join(str(escape(c)) for c in chunks))
        return "".join(p + ("<wbr>" if i % 2 else "") for i, p in enumerate(pieces)
                       if p).removesuffix("<wbr>")
    out, last = [], 0
    for match in _TOKEN.finditer(text):
        out.append(str(escape(text[last:match.start()])))
        out.append(split(match))
        last = match.end()
    out.append(str(escape(text[last:])))
    return "".join(out)


class _Breaker(HTMLParser):
    """Copies HTML as written, giving only the text between tags break opportunities."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.out.append(self.get_starttag_text() or "")

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.out.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(_breakable(data))


def break_opportunities(value: object) -> Markup:
    """Jinja filter `wbr`: text or sanitised HTML whose long words may wrap in any client.

    CSS `word-break` is missing in Yahoo and Windows Mail, so the HTML itself carries the
    opportunities; `<wbr>` goes only into text, never into a tag or an attribute.
    """
    if isinstance(value, Markup):
        breaker = _Breaker()
        breaker.feed(str(value))
        breaker.close()
        return Markup("".join(breaker.out))
    return Markup(_breakable(str(value)))
