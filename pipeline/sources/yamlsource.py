"""Safe YAML reading that remembers the line of every key and list item."""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from pipeline.fileread import read_sized

# The C parser is ~8x faster; the constructor stays in Python so we can record lines.
try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

MAX_FILE_BYTES = 1_000_000
# PyYAML's words for the usual mistakes, and what to check, in plain words (first match).
HINTS = (
    ("mapping values are not allowed", "a value with ': ' in it must be quoted "
     "(title: \"Typing: part 2\"), and a key must line up with the keys above it"),
    ("could not find expected ':'", "each key needs ': ' after it (a space after the colon), "
     "and a long value continues on lines indented more than its key"),
    ("found character '\\t'", "indent with spaces; YAML does not allow tabs"),
    ("found a tab character", "indent with spaces; YAML does not allow tabs"),
    ("did not find expected key", "this line's indentation: keys of one mapping line up, "
     "and list items (- ...) under a key are indented the same"),
    ("expected <block end>", "this line's indentation: keys of one mapping line up, "
     "and list items (- ...) under a key are indented the same"),
    ("did not find expected '-' indicator", "list items (- ...) must line up, and the keys "
     "of one item line up with the first one (after '- ')"),
    ("did not find expected ',' or ']'", "a [list, in brackets] needs commas between items "
     "and a closing ']'; quote an item that contains ', ' or ': '"),
    ("did not find expected ',' or '}'", "a {mapping, in braces} needs commas between "
     "items and a closing '}'; quote a value that contains ', ' or ': '"),
    ("found unexpected end of stream", "a quote (\" or ') opened and never closed"),
    ("did not find expected node content", "a value is missing: a [list] or {mapping} left "
     "open, or a ',' or '- ' with nothing after it; quote a value that starts with [ or {"),
    ("found unknown escape character", "in \"double quotes\" a backslash starts an escape; "
     "use 'single quotes' or write \\\\ for one backslash"),
)
# A plain value followed by ` #word`: YAML dropped the rest as a comment (`#41: Typing`).
LOST_TAIL = re.compile(r"\s+#\S")
# `title: [WIP] Meetup`, `title: @pytorch talk`: a value whose first character is YAML syntax.
SYNTAX_START = re.compile(r"^\s*(?:-\s+)?([A-Za-z_][\w.-]*):\s+([\[{@*&!%`|>].*?)\s*$")


EXCERPT = 60  # characters of a value an error message may quote


def _quote_hint(lines: list[str], line: int) -> str:
    """How to quote the value on `line` (1-based) when it starts with a YAML character."""
    found = SYNTAX_START.match(lines[line - 1]) if 0 < line <= len(lines) else None
    if found is None:
        return ""
    key, value = found.groups()
    cut = value[:EXCERPT] + ("..." if len(value) > EXCERPT else "")  # never a whole long line
    return (f". Check: a value that starts with '{value[0]}' is read as YAML syntax; if it is "
            f"text, quote it whole: {key}: {_double_quoted(cut)}")


def _double_quoted(text: str) -> str:
    """`text` as a YAML double-quoted scalar, for a fix a person copies into the file."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def excerpt(value: Any, limit: int = EXCERPT) -> str:
    """`value` quoted for an error message, cut after `limit` characters.

    Errors land in cron mail and CI logs: a file that is not what it should be (a private
    key behind a symlink, a pasted secret) must never be echoed whole.
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(value)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


class Mapping(dict):
    """A YAML mapping with the line of itself and of each key (1-based)."""

    line: int
    key_lines: dict[Any, int]
    # Source text of values YAML read as numbers, so `title: 1.10` stays "1.10" as text.
    number_texts: dict[Any, str] = {}  # noqa: RUF012 - replaced per instance by the reader


class Sequence(list):
    """A YAML sequence with the line of itself and of each item (1-based)."""

    line: int
    item_lines: list[int]
    number_texts: dict[int, str] = {}  # noqa: RUF012 - index -> source text, as for Mapping


class YamlProblem(Exception):
    """The file is not YAML this project accepts."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _LineLoader(_BaseLoader):
    """Safe loader: no Python tags, no aliases, no duplicate keys, strict booleans, dates as text."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects:
            # An alias: refused so that a 'billion laughs' file cannot blow up later walks.
            raise YamlProblem(node.start_mark.line + 1, "YAML anchors and aliases (&name, *name) "
                              "are not allowed; write the value out")
        return super().construct_object(node, deep=True)

    def construct_yaml_map(self, node: yaml.MappingNode):  # type: ignore[override]
        data = Mapping()
        data.line = node.start_mark.line + 1
        data.key_lines = {}
        yield data
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node)
            if not isinstance(key, str):
                raise YamlProblem(key_node.start_mark.line + 1, f"key {excerpt(key)} must be text")
            if key in data:
                raise YamlProblem(key_node.start_mark.line + 1,
                                  f"duplicate key {excerpt(key)} (first at line {data.key_lines[key]})")
            data.key_lines[key] = key_node.start_mark.line + 1
            data[key] = self.construct_object(value_node)

    def construct_yaml_seq(self, node: yaml.SequenceNode):  # type: ignore[override]
        data = Sequence()
        data.line = node.start_mark.line + 1
        data.item_lines = [child.start_mark.line + 1 for child in node.value]
        yield data
        data.extend(self.construct_object(child) for child in node.value)


_LineLoader.add_constructor("tag:yaml.org,2002:map", _LineLoader.construct_yaml_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _LineLoader.construct_yaml_seq)
# Explicit tags that build values JSON has no word for (bytes, dates, sets, ordered pairs) are
# refused like Python tags, instead of surfacing later as "'hosts' must be a list, not list".
for _tag in ("binary", "timestamp", "set", "omap", "pairs"):
    del _LineLoader.yaml_constructors[f"tag:yaml.org,2002:{_tag}"]

# YAML 1.1 reads `no`, `on`, `y` as booleans (the "Norway problem") and `2024-05-23` as a
# date object; we want only true/false and to parse dates ourselves with exact messages.
_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

STR_TAG, SEQ_TAG, MAP_TAG = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
MERGE_TAG = "tag:yaml.org,2002:merge"
_IMPLICIT = {first: tuple(resolvers) for first, resolvers in _LineLoader.yaml_implicit_resolvers.items()}


class _FastLineLoader(_LineLoader):
    """The same rules, ~2x faster: a direct walk of the C-composed nodes for text, lists, maps.

    PyYAML's generic constructor machinery cost as much as parsing itself; every other
    tag (numbers, booleans, null, explicit tags, merge keys) still goes through _LineLoader.
    """

    source_lines: list[str] = []  # noqa: RUF012 - set per file by read_mapping
    lost_tails: list[tuple[int, str, str]] = []  # noqa: RUF012 - replaced per instance

    def lost_tail(self, node: yaml.ScalarNode) -> None:
        """Note a plain value that YAML cut at ` #` (line, value kept, what was dropped)."""
        rest = self.source_lines[node.end_mark.line][node.end_mark.column:]
        if LOST_TAIL.match(rest):
            self.lost_tails = [*self.lost_tails,
                               (node.end_mark.line + 1, node.value, rest.strip())]

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        # Resolver.resolve without path resolvers (we register none): called for every node.
        if kind is yaml.ScalarNode:
            if implicit[0]:
                for tag, regexp in _IMPLICIT.get(value[:1], ()):
                    if regexp.match(value):
                        return tag
            return STR_TAG
        return SEQ_TAG if kind is yaml.SequenceNode else MAP_TAG

    def walk(self, node: yaml.Node) -> Any:
        """The Python value of `node`, as _LineLoader would construct it."""
        constructed = self.constructed_objects
        if node in constructed:
            # An alias: refused so that a 'billion laughs' file cannot blow up later walks.
            raise YamlProblem(node.start_mark.line + 1, "YAML anchors and aliases (&name, *name) "
                              "are not allowed; write the value out")
        tag, kind = node.tag, type(node)
        if tag == STR_TAG and kind is yaml.ScalarNode:
            value: Any = node.value
            if not node.style and "#" in self.source_lines[node.end_mark.line][
                    node.end_mark.column:]:
                self.lost_tail(node)
        elif tag == MAP_TAG and kind is yaml.MappingNode and not any(
                k.tag == MERGE_TAG for k, _ in node.value):
            value = Mapping()
            constructed[node] = value
            value.line = node.start_mark.line + 1
            value.key_lines = key_lines = {}
            for key_node, value_node in node.value:
                key = self.walk(key_node)
                line = key_node.start_mark.line + 1
                if not isinstance(key, str):
                    raise YamlProblem(line, f"key {excerpt(key)} must be text")
                if key in value:
                    raise YamlProblem(line, f"duplicate key {excerpt(key)} (first at line "
                                      f"{key_lines[key]})")
                key_lines[key] = line
                value[key] = item = self.walk(value_node)
                if _is_number(item):
                    value.number_texts = {**value.number_texts, key: value_node.value}
        elif tag == SEQ_TAG and kind is yaml.SequenceNode:
            value = Sequence()
            constructed[node] = value
            value.line = node.start_mark.line + 1
            value.item_lines = [child.start_mark.line + 1 for child in node.value]
            value.extend([self.walk(child) for child in node.value])
            value.number_texts = {i: child.value for i, (item, child) in
                                  enumerate(zip(value, node.value, strict=True)) if _is_number(item)}
        elif tag == SEQ_TAG or (tag == MAP_TAG and kind is not yaml.MappingNode):
            # `!!map x` or `!!seq x` on the wrong kind of value would crash the constructor.
            raise YamlProblem(node.start_mark.line + 1, f"tag !!{tag.rsplit(':', 1)[-1]} does "
                              "not fit this value; remove the tag")
        else:
            return self.construct_object(node)
        constructed[node] = value
        return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_said = [False]  # True inside warnings_said(): files read again, whose warnings were shown


@contextmanager
def warnings_said() -> Iterator[None]:
    """Within it, reading a file prints no warning: the caller reads files that an earlier
    run read (and warned about) when they changed. Forked workers inherit it."""
    _said.append(True)
    try:
        yield
    finally:
        _said.pop()


def _warn_lost_tails(path: Path, lost: list[tuple[int, str, str]]) -> None:
    """A warning (not an error: it may be a real comment) with the fix, for each cut value."""
    if not lost or _said[-1]:
        return
    import click

    from pipeline.errors import display_path

    for line, kept, dropped in lost:
        click.echo(f"{display_path(path)}:{line}: warning: the value is only {kept!r}: YAML "
                   f"reads ' {dropped.split()[0]}...' as a comment. If it belongs to the "
                   f"value, quote it: {_double_quoted(f'{kept} {dropped}')}", err=True)


def read_bytes(path: Path, what: str, follow_symlinks: bool = False) -> bytes:
    """The file's bytes (at most MAX_FILE_BYTES); a symlink is refused unless followed."""
    flags = os.O_RDONLY | os.O_CLOEXEC | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        if error.errno == errno.ELOOP:  # O_NOFOLLOW: refused without reading the target
            raise YamlProblem(1, f"the file is a symbolic link; {what} files must be regular "
                              "files (copy the file here instead of linking it)") from None
        raise YamlProblem(0, f"cannot read the file: {error.strerror}") from None
    try:
        size = os.fstat(fd).st_size
        if size > MAX_FILE_BYTES:
            raise YamlProblem(1, f"the file is {size:,} bytes; {what} files must be under "
                              f"{MAX_FILE_BYTES:,} bytes")
        return read_sized(fd, size, MAX_FILE_BYTES + 1)  # bounded: a file may grow meanwhile
    except OSError as error:
        raise YamlProblem(0, f"cannot read the file: {error.strerror}") from None
    finally:
        os.close(fd)


def read_mapping(path: Path, what: str, follow_symlinks: bool = False) -> Mapping:
    """Read one YAML file whose top level must be a mapping; raise YamlProblem otherwise.

    A symlink is refused (event and issue files) unless `follow_symlinks` (the settings file).
    """
    a_what = f"an {what}" if what[0] in "aeiou" else f"a {what}"
    first_key = "'site_name:'" if what == "settings" else "'title:'"  # a key this file has
    # File-level problems are reported at line 1: editors and CI annotations need `path:line:`.
    raw = read_bytes(path, what, follow_symlinks)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise YamlProblem(line, "the file is not UTF-8 text; save it as UTF-8") from None
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#")
                               for ln in text.splitlines()):
        raise YamlProblem(1, f"the file is empty; {a_what} file is a YAML mapping of keys "
                          f"such as {first_key}")
    loader = _FastLineLoader(text)
    loader.source_lines = text.splitlines()
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.walk(node)
        _warn_lost_tails(path, loader.lost_tails)
    except YamlProblem:
        raise
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 0
        problem = error.problem or "invalid YAML"
        if "could not determine a constructor" in problem:
            problem = f"tag {problem.split('tag ', 1)[-1]} is not allowed; only plain YAML values"
        # A syntax error (not a value the loader refused) on a line whose value starts with a
        # YAML character: quoting the value is the fix.
        syntax = (isinstance(error, (yaml.scanner.ScannerError, yaml.parser.ParserError))
                  and "nesting depth" not in problem)  # libyaml's limit is a ScannerError too
        quote = _quote_hint(loader.source_lines, line) if syntax else ""
        hint = quote or next(
            (f". Check: {fix}" for words, fix in HINTS if words in problem), "")
        raise YamlProblem(line, f"invalid YAML: {problem}{hint}") from None
    except yaml.YAMLError as error:
        raise YamlProblem(0, f"invalid YAML: {excerpt(str(error), 200)}") from None
    finally:
        loader.dispose()
    if not isinstance(data, Mapping):
        kind = ("a list" if isinstance(data, list) else "no value" if data is None
                else f"the single value {excerpt(data, 20)}")
        raise YamlProblem(1, f"the file holds {kind}; {a_what} file must be a mapping of keys "
                          f"such as {first_key}")
    return data
