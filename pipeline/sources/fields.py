"""Typed reading of one YAML mapping, collecting every problem with its line and a fix."""

from __future__ import annotations

import datetime as dt
import difflib
import re
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pipeline.errors import Problem
from pipeline.locales import locale_problem
from pipeline.sources.yamlsource import Mapping, Sequence, YamlProblem, excerpt, read_mapping

T = TypeVar("T")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_UNKNOWN = 20  # unknown keys reported per mapping
DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$")
# Regexes instead of per-character Python loops: text checks ran for every value of every file.
LINE_BREAK = re.compile("[\r\n\u2028\u2029\x85\x0b\x0c]")
# C0 controls but tab and newline, DEL, and the C1 controls (U+0080-U+009F): terminals and
# mail readers act on them, and nobody types them on purpose.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
NOT_IN_URL = re.compile(r'[\s\x00-\x1f\x7f-\x9f<>"`]')
MAX_SLUG = 100  # ids become file and folder names (255 bytes at most, with temp suffixes)
YEARS = (1900, 2199)  # dates outside are refused: every end, UNTIL and time zone stays
# computable, and a time zone is scanned over 300 years at most (one probe a day: ~1 s)
# Text bound for an e-mail header (Subject, From's name, List-Id): an RFC 2047 encoded-word
# would be decoded by the email package into line breaks, i.e. new headers (Bcc:, Reply-To:);
# DEL, C1 controls and Unicode line/paragraph separators have no place in a header either.
ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[bq]\?", re.IGNORECASE)
HEADER_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def header_problem(value: str) -> str | None:
    """Why `value` cannot go into an e-mail header as written, or None."""
    if ENCODED_WORD.search(value):
        return ("contains an e-mail encoded-word ('=?charset?q?...'); write the text itself "
                "(any language is fine), not its encoded form")
    if HEADER_CONTROL.search(value):
        return "contains a control character (DEL, C1, a line or paragraph separator); remove it"
    return None


def suggest(value: str, choices: Iterable[str]) -> str:
    """`; did you mean 'x'?` for the nearest choice, or nothing."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def type_name(value: Any) -> str:
    """How a YAML value's type reads in a message."""
    return {str: "text", bool: "true/false", int: "a number", float: "a number",
            Mapping: "a mapping", Sequence: "a list", type(None): "empty"}.get(
        type(value), type(value).__name__)


def read_fields(path: Path, shown: str, what: str, problems: list[Problem],
                follow_symlinks: bool = False) -> Fields | None:
    """The file's top-level mapping as Fields, or None with the file's problem recorded."""
    try:
        data = read_mapping(path, what, follow_symlinks)
    except YamlProblem as problem:
        problems.append(Problem(shown, problem.line, problem.message))
        return None
    return Fields(data, shown, problems)


class Fields:
    """Reads keys of one mapping; each problem is recorded, never raised."""

    def __init__(self, data: Mapping, path: str, problems: list[Problem], where: str = "") -> None:
        self.data = data
        self.path = path
        self.problems = problems
        self.where = where  # "location." for nested mappings, to name keys fully

    def line(self, key: str | None = None) -> int:
        """The line of `key`, or of the mapping itself."""
        return self.data.key_lines.get(key, self.data.line) if key else self.data.line

    def error(self, key: str | None, message: str, line: int | None = None) -> None:
        """Record a problem at the line of `key`."""
        self.problems.append(Problem(self.path, line or self.line(key), message))

    def name(self, key: str) -> str:
        """The key's full name in messages (`location.city`)."""
        return f"{self.where}{key}"

    def reject_unknown(self, allowed: Iterable[str]) -> None:
        """Record each key not in `allowed` (the first MAX_UNKNOWN), suggesting the nearest."""
        allowed = list(allowed)
        unknown = [key for key in self.data if key not in allowed]
        # A file of 60,000 stray keys took 13 s of difflib and printed 60,000 lines.
        for key in unknown[:MAX_UNKNOWN]:
            hint = suggest(key, allowed) or f"; allowed keys: {', '.join(allowed)}"
            self.error(key, f"unknown key '{self.name(key)}'{hint}")
        if len(unknown) > MAX_UNKNOWN:
            self.error(unknown[MAX_UNKNOWN], f"and {len(unknown) - MAX_UNKNOWN:,} more unknown "
                       "keys from here on")

    def get(self, key: str, kinds: tuple[type, ...], expected: str, required: bool = False,
            fix: str | None = None) -> Any:
        """The value of `key` if it has one of `kinds`; records missing/wrong-typed keys (with
        `fix`, how to write it, when given)."""
        if key not in self.data or self.data[key] is None:
            if required and key in self.data:  # `title:` with no value: point at that line
                self.error(key, f"'{self.name(key)}' is empty; give it a value")
            elif required:
                self.error(None, f"missing required key '{self.name(key)}'")
            return None
        value = self.data[key]
        # bool is an int in Python; never accept true/false where a number is meant.
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            self.error(key, f"'{self.name(key)}' must be {expected}, not {type_name(value)}"
                       + (f"; {fix}" if fix else ""))
            return None
        return value

    def text(self, key: str, required: bool = False, one_line: bool = False) -> str | None:
        """A non-empty string; `one_line` refuses line breaks."""
        value = self.get(key, (str, int, float), "text", required)
        if value is None:
            return None
        # A number is text as written (`id: 0123`, `title: 1.10`), not as Python prints it.
        value = self.data.number_texts.get(key, str(value)).strip()
        if not value:
            self.error(key, f"'{self.name(key)}' is empty; give it a value or remove the key")
            return None
        if one_line and LINE_BREAK.search(value):
            self.error(key, f"'{self.name(key)}' must be one line; remove the line break "
                       "(use 'summary' or 'description' for longer text)")
            return None
        if CONTROL.search(value):
            self.error(key, f"'{self.name(key)}' contains a control character; remove it")
            return None
        return value

    def header_text(self, key: str, required: bool = False) -> str | None:
        """One-line text that goes into an e-mail header (see `header_problem`)."""
        value = self.text(key, required, one_line=True)
        problem = header_problem(value) if value is not None else None
        if problem:
            self.error(key, f"'{self.name(key)}' {problem}; it becomes an e-mail header")
            return None
        return value

    def boolean(self, key: str, default: bool) -> bool:
        """true or false."""
        value = self.get(key, (bool,), "true or false")
        return default if value is None else value

    def slug(self, key: str, value: str | None = None, required: bool = False) -> str | None:
        """A lowercase slug such as `pytorch-conference-2025`."""
        value = value if value is not None else self.text(key, required, one_line=True)
        if value is not None and len(value) > MAX_SLUG:
            self.error(key, f"'{self.name(key)}' is {len(value):,} characters long; at most "
                       f"{MAX_SLUG} (it becomes a file name): shorten it")
            return None
        if value is not None and not SLUG.match(value):
            fixed = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:MAX_SLUG]
            self.error(key, f"'{self.name(key)}' {excerpt(value)} is not a slug (lowercase "
                       f"letters, digits and '-', starting with a letter or digit)"
                       + (f"; try '{fixed}'" if fixed else ""))
            return None
        return value

    def choice(self, key: str, choices: Iterable[str], required: bool = False,
               default: str | None = None) -> str | None:
        """One of `choices`."""
        choices = list(choices)
        value = self.text(key, required, one_line=True)
        if value is None:
            return default
        if value not in choices:
            hint = suggest(value, choices) or f"; use one of: {', '.join(choices)}"
            self.error(key, f"{self.name(key)} {excerpt(value)} is not allowed{hint}")
            return None
        return value

    def locale(self, key: str) -> str | None:
        """A BCP 47 language tag that CLDR knows (`en`, `ko`, `pt-BR`)."""
        value = self.text(key, one_line=True)
        problem = None if value is None else locale_problem(value)
        if problem:
            self.error(key, f"'{self.name(key)}' {problem}")
            return None
        return value

    def url(self, key: str, value: Any = None, line: int | None = None,
            required: bool = False) -> str | None:
        """An absolute http(s) URL with no spaces or control characters."""
        if value is None:
            value = self.text(key, required, one_line=True)
        if value is None:
            return None
        problem = url_problem(value)
        if problem:
            self.error(key, f"'{self.name(key)}' {problem}", line)
            return None
        return value

    def items(self, key: str) -> list[tuple[Any, int]]:
        """The items of a list with their lines; records a non-list."""
        value = self.get(key, (Sequence,), "a list")
        if value is None:
            return []
        items = [value.number_texts.get(i, item) for i, item in enumerate(value)]
        return list(zip(items, value.item_lines, strict=True))

    def mappings(self, key: str, allowed: Iterable[str], complaint: str) -> Iterator[Fields]:
        """Each item of a list of mappings, read with the same rules; `complaint` for others."""
        allowed = tuple(allowed)
        for item, line in self.items(key):
            if not isinstance(item, Mapping):
                self.error(key, complaint, line)
                continue
            nested = Fields(item, self.path, self.problems, f"{self.name(key)}[].")
            nested.reject_unknown(allowed)
            yield nested

    def text_list(self, key: str, check: Callable[[str, int], str | None] | None = None,
                  ) -> tuple[str, ...]:
        """A list of one-line texts, each optionally checked (the check returns an error)."""
        result = []
        for item, line in self.items(key):
            if not isinstance(item, str | int | float) or isinstance(item, bool):
                self.error(key, f"each item of '{self.name(key)}' must be text, not "
                           f"{type_name(item)}", line)
                continue
            item = str(item).strip()
            # The same rules as a one-line `text`: items go into feeds and e-mail headers too.
            if not item or LINE_BREAK.search(item) or CONTROL.search(item):
                self.error(key, f"each item of '{self.name(key)}' must be one line of text "
                           "without control characters" if item else
                           f"an item of '{self.name(key)}' is empty; remove it", line)
                continue
            problem = check(item, line) if check else None
            if problem:
                self.error(key, problem, line)
                continue
            result.append(item)
        return tuple(result)

    def mapping(self, key: str, example: str) -> Fields | None:
        """A nested mapping, read with the same rules; `example` shows one (`{src: ..}`)."""
        value = self.get(key, (Mapping,), "a mapping", fix=f"write it as {key}: {example}")
        return None if value is None else Fields(value, self.path, self.problems,
                                                 f"{self.name(key)}.")

    def date(self, key: str, required: bool = False) -> dt.date | None:
        """A `YYYY-MM-DD` date."""
        return self.parsed(key, parse_date, "a date", "write YYYY-MM-DD, e.g. 2025-10-22",
                           required)

    def parsed(self, key: str, parse: Callable[[str], T | None], what: str, fix: str,
               required: bool = False) -> T | None:
        """One-line text read by `parse` (None: not `what`, reported with `fix`)."""
        value = self.text(key, required, one_line=True)
        if value is None:
            return None
        parsed = parse(value)
        if parsed is None:
            self.error(key, f"'{self.name(key)}' {excerpt(value)} is not {what}; {fix}")
        elif isinstance(parsed, dt.date) and not YEARS[0] <= parsed.year <= YEARS[1]:
            self.error(key, f"'{self.name(key)}' {value} is outside the years {YEARS[0]} to "
                       f"{YEARS[1]} that calendars are published for; check the year")
            return None
        return parsed


def parse_date(value: str) -> dt.date | None:
    """`YYYY-MM-DD` as a date, or None."""
    if not DATE.match(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def parse_wall_clock(value: str) -> dt.date | dt.datetime | None:
    """`YYYY-MM-DD` as a date, `YYYY-MM-DD HH:MM[:SS]` (or with T) as a naive datetime."""
    if DATE.match(value):
        return parse_date(value)
    match = DATETIME.match(value)
    if not match:
        return None
    day, hour, minute, second = match.groups()
    try:
        return dt.datetime.combine(dt.date.fromisoformat(day),
                                   dt.time(int(hour), int(minute), int(second or 0)))
    except ValueError:
        return None


def url_problem(value: str) -> str | None:
    """Why `value` is not an absolute http(s) URL we can put in a feed or an e-mail."""
    if NOT_IN_URL.search(value):
        return (f"{excerpt(value)} is not a URL: it contains spaces, quotes, angle brackets or "
                "control characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        return f"{excerpt(value)} must be an http:// or https:// URL"
    if not parts.netloc:
        return (f"{excerpt(value)} has no host; write the full address, e.g. "
                "https://example.org/page")
    return None


def wall_clock_problem(naive: dt.datetime, zone: zoneinfo.ZoneInfo) -> str | None:
    """Why wall-clock time `naive` is no single instant in `zone` (a DST gap or fold), or None."""
    aware = naive.replace(tzinfo=zone)
    if aware.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != naive:
        return f"does not exist in {zone} (the clocks jump forward then)"
    if aware.utcoffset() != naive.replace(tzinfo=zone, fold=1).utcoffset():
        return f"happens twice in {zone} (the clocks go back then)"
    return None


def localize(f: Fields, key: str, naive: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """Attach `zone`, refusing wall-clock times that do not exist or happen twice (DST)."""
    problem = wall_clock_problem(naive, zone)
    if problem is None:
        return naive.replace(tzinfo=zone)
    fix = "pick a time outside the gap" if "exist" in problem else "pick a time outside that hour"
    f.error(key, f"'{f.name(key)}' {naive:%Y-%m-%d %H:%M} {problem}; {fix}")
    return None
