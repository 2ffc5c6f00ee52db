"""Lists of cards written into a page as bytes, where its template writes their `html`.

A listing of 10,000 events is megabytes of list items. Rendered through Jinja2 as text,
they were joined into one str (4 bytes a character once one emoji is among them), copied
as Markup, into the page and out as UTF-8: a quarter of a second of a rebuild, and
hundreds of MB at 100k events. During a `Splice`, a list's `html` is a placeholder
instead; the page is its text around the placeholders, encoded, with each list's items
joined as the UTF-8 bytes the cache keeps.

A template that writes `html` as it is gets exactly the bytes it would have had. One that
does anything else with it (a filter, a slice, a comparison, `~`) touches the placeholder,
which notices; the page is then rendered again the plain way (`fill` gives None), so the
bytes are the same either way.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import Markup


class Splice:
    """The placeholders of one page's render, and the bytes that take their places."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(16)  # not in any text an input could hold
        self.runs: list[bytes] = []
        self.touched = False

    def mark(self, items: Sequence[bytes]) -> Markup:
        """A placeholder for `items`, joined a line each."""
        self.runs.append(b"\n".join(items))
        return _Placeholder(f"<!--{self.token}:{len(self.runs) - 1}-->", self)

    def fill(self, text: str) -> bytes | None:
        """The page's bytes: `text` with each placeholder replaced; None if one was touched."""
        if self.touched:
            return None
        parts = text.split(f"<!--{self.token}:")
        found: set[int] = set()
        out = [parts[0].encode("utf-8")]
        for part in parts[1:]:
            number, sep, rest = part.partition("-->")
            if not sep or not number.isdigit() or int(number) >= len(self.runs):
                return None
            found.add(int(number))
            out += (self.runs[int(number)], rest.encode("utf-8"))
        if len(found) != len(self.runs) or self.token in text.replace(f"<!--{self.token}:", ""):
            return None  # one went missing, or its token is elsewhere: not as written
        return b"".join(out)


class _Placeholder(Markup):
    """A list's `html` while splicing: written as it is, it is the placeholder; used any other
    way (any method, operator or item), it tells its Splice, which then gives up."""

    def __new__(cls, text: object = "", splice: Splice | None = None, *args: Any) -> Any:
        if splice is None:  # what Markup's methods make of it (self.__class__(...)): markup
            return Markup(text, *args)
        made = super().__new__(cls, text)
        made.splice = splice
        return made

    def __html__(self) -> _Placeholder:  # how {{ }} writes markup: as it is
        return self

    def __getattribute__(self, name: str) -> Any:
        if name not in ("__html__", "splice", "__class__"):
            object.__getattribute__(self, "splice").touched = True
        return object.__getattribute__(self, name)

    __hash__ = str.__hash__  # __eq__ is replaced below


def _touching(name: str) -> Callable[..., Any]:
    """The operator `name` of Markup (else str), telling the placeholder's Splice first."""
    method = getattr(Markup, name)

    def touched(self: _Placeholder, *args: Any) -> Any:
        object.__getattribute__(self, "splice").touched = True
        return method(self, *args)

    touched.__name__ = name
    return touched


# Operators bypass __getattribute__ (len(x), x[1:], x + y, x % y, "a" in x, iter(x), ...).
for _name in ("__len__", "__getitem__", "__iter__", "__contains__", "__add__", "__radd__",
              "__mul__", "__rmul__", "__mod__", "__rmod__", "__eq__", "__ne__", "__lt__",
              "__le__", "__gt__", "__ge__", "__format__", "__reversed__"):
    if hasattr(Markup, _name):
        setattr(_Placeholder, _name, _touching(_name))
