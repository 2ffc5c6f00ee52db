"""Safe YAML reading: lines of keys and items, strict scalars, hostile files refused."""

from __future__ import annotations

import re

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.sources.yamlsource import MAX_FILE_BYTES, YamlProblem, read_mapping


def problem(write_yaml, text: str | bytes) -> tuple[int, str]:
    path = write_yaml("a.yaml", "")
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(YamlProblem) as caught:
        read_mapping(path, "event")
    return caught.value.line, caught.value.message


def test_lines_of_keys_and_items(write_yaml):
    data = read_mapping(write_yaml("a.yaml", """\
        # comment
        title: A
        links:
          - title: x
            url: https://x.org

          - title: y
            url: https://y.org
        """), "event")
    assert data.line == 2 and data.key_lines == {"title": 2, "links": 3}
    assert data["links"].item_lines == [4, 7]
    assert data["links"][1].key_lines == {"title": 7, "url": 8}


def test_dates_stay_text_and_only_true_false_are_booleans(write_yaml):
    data = read_mapping(write_yaml("a.yaml", """\
        start: 2024-05-23
        when: 2024-05-23 14:00
        country: no
        online: true
        off: False
        answer: yes
        count: 3
        """), "event")
    assert data == {"start": "2024-05-23", "when": "2024-05-23 14:00", "country": "no",
                    "online": True, "off": False, "answer": "yes", "count": 3}


def test_utf8_with_bom_and_unicode_text(write_yaml):
    path = write_yaml("a.yaml", "")
    path.write_bytes("\ufefftitle: Café 서울\n".encode())
    assert read_mapping(path, "event") == {"title": "Café 서울"}


def test_not_utf8_names_the_line(write_yaml):
    assert problem(write_yaml, b"title: A\nsummary: caf\xe9\n") == (
        2, "the file is not UTF-8 text; save it as UTF-8")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n  # and another\n"])
def test_empty_files(write_yaml, text):
    assert problem(write_yaml, text) == (
        1, "the file is empty; an event file is a YAML mapping of keys such as 'title:'")


def test_duplicate_key_in_a_nested_mapping(write_yaml):
    assert problem(write_yaml, "location:\n  city: Paris\n  city: Lyon\n") == (
        3, "duplicate key 'city' (first at line 2)")


def test_non_text_key(write_yaml):
    assert problem(write_yaml, "title: A\n2024: B\n") == (2, "key 2024 must be text")


def test_scalar_alias_is_refused(write_yaml):
    assert problem(write_yaml, "title: &t A\nsummary: *t\n") == (
        1, "YAML anchors and aliases (&name, *name) are not allowed; write the value out")


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system ['id']", "!!python/name:os.system",
                                 "!custom x"])
def test_tags_outside_plain_yaml_are_refused(write_yaml, tag):
    line, message = problem(write_yaml, f"title: {tag}\n")
    assert line == 1
    assert message.startswith("invalid YAML: tag '") and message.endswith(
        "is not allowed; only plain YAML values")


def test_two_documents_are_refused(write_yaml):
    assert problem(write_yaml, "title: A\n---\ntitle: B\n") == (
        2, "invalid YAML: but found another document")


def test_file_over_the_limit_is_refused(write_yaml):
    size = MAX_FILE_BYTES + 1
    assert problem(write_yaml, "#" * (size - 1) + "\n") == (
        1, f"the file is {size:,} bytes; event files must be under {MAX_FILE_BYTES:,} bytes")


def test_missing_file(tmp_path):
    with pytest.raises(YamlProblem) as caught:
        read_mapping(tmp_path / "nope.yaml", "event")
    assert (caught.value.line, caught.value.message) == (
        0, "cannot read the file: No such file or directory")


EQUIVALENCE_CASES = [
    "title: A\ncount: 3\nratio: 1.5\nhex: 0x1f\nnothing: null\ntilde: ~\nempty:\nflag: FALSE\n",
    "title: !!str 12\nn: !!int '7'\nf: !!float '2'\n",
    "base: &b {x: 1}\n",  # an anchor alone is fine; only its use is refused
    "m:\n  <<: {a: 1, b: 2}\n  c: 3\n",  # merge keys go through the reference constructor
    "list: [a, 'b', \"c\", 4, [5, {six: 6}]]\nblock: |\n  line one\n  line two\nfolded: >-\n  x\n  y\n",
    "tags:\n  - a\n  -\n  - 'true'\n  - true\nnested:\n  - k: v\n    l:\n      - 1\n",
]  # !!set and !!omap are refused: test_explicit_tags_of_non_json_values_are_refused


@pytest.mark.parametrize("text", EQUIVALENCE_CASES)
def test_fast_walk_builds_what_the_reference_constructor_builds(write_yaml, text):
    # The fast path skips PyYAML's constructor for text, lists and maps; values and lines must
    # be exactly what the reference _LineLoader constructs.
    from pipeline.sources.yamlsource import _LineLoader

    reference_loader = _LineLoader(text)
    reference = reference_loader.get_single_data()
    reference_loader.dispose()
    fast = read_mapping(write_yaml("a.yaml", text), "event")

    def shape(value):
        if isinstance(value, dict):
            return ("map", getattr(value, "line", None), getattr(value, "key_lines", None),
                    {k: shape(v) for k, v in value.items()})
        if isinstance(value, list):
            return ("seq", getattr(value, "line", None), getattr(value, "item_lines", None),
                    [shape(v) for v in value])
        return (type(value).__name__, value)

    assert shape(fast) == shape(reference)


@pytest.mark.parametrize("text", ["a: !!map x\n", "a: !!seq x\n", "a: !!seq {x: 1}\n",
                                  "a: !!map [x]\n"])
def test_a_collection_tag_on_the_wrong_value_is_a_problem_not_a_crash(write_yaml, text):
    line, message = problem(write_yaml, text)
    assert line == 1 and "does not fit this value; remove the tag" in message


def test_alias_inside_a_list_is_refused(write_yaml):
    assert problem(write_yaml, "tags:\n  - &t a\n  - *t\n") == (
        2, "YAML anchors and aliases (&name, *name) are not allowed; write the value out")


@pytest.mark.parametrize("tag", ["binary", "timestamp", "set", "omap", "pairs"])
def test_explicit_tags_of_non_json_values_are_refused(write_yaml, tag):
    # `hosts: !!omap [a: 1]` read as a plain list and was reported as "must be a list, not list".
    value = {"binary": "aGVsbG8=", "timestamp": "2024-01-01", "set": "{a}"}.get(tag, "[a: 1]")
    assert problem(write_yaml, f"title: A\nhosts: !!{tag} {value}\n") == (
        2, f"invalid YAML: tag 'tag:yaml.org,2002:{tag}' is not allowed; only plain YAML values")


_SCALARS = (st.text(max_size=12) | st.integers() | st.floats(allow_nan=False) | st.booleans()
            | st.none())
_TREES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=8), _TREES, min_size=1, max_size=5),
       st.sampled_from([False, True, None]), st.booleans())
def test_fast_walk_equals_the_reference_constructor_on_any_dumped_tree(tmp_path_factory, data,
                                                                       flow, unicode):
    from pipeline.sources.yamlsource import _LineLoader

    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=unicode)
    path = tmp_path_factory.mktemp("walk") / "a.yaml"
    path.write_text(text, encoding="utf-8")
    reference_loader = _LineLoader(text)
    try:
        reference = reference_loader.get_single_data()
    finally:
        reference_loader.dispose()
    assert _shape(read_mapping(path, "event")) == _shape(reference)


def _shape(value):
    if isinstance(value, dict):
        return ("map", value.line, value.key_lines, {k: _shape(v) for k, v in value.items()})
    if isinstance(value, list):
        return ("seq", value.line, value.item_lines, [_shape(v) for v in value])
    return (type(value).__name__, value)


# --- friendly traps (issue 12) ------------------------------------------------------------

LISBON = "title: Lisbon Python #41: Typing\nkind: meetup # a real comment\nstart: 2030-01-01\n"


def test_a_value_cut_at_space_hash_is_warned_with_the_fix(in_tmp, write_yaml) -> None:
    from click.testing import CliRunner

    from pipeline.cli import cli

    write_yaml("events/lisbon.yaml", LISBON)
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 0, result.output  # a warning, not an error: it may be meant
    assert result.stderr.splitlines() == [
        "events/lisbon.yaml:1: warning: the value is only 'Lisbon Python': YAML reads ' #41:...' "
        "as a comment. If it belongs to the value, quote it: \"Lisbon Python #41: Typing\""]


@pytest.mark.parametrize("value", ['C:\\Users\\Ada #1', 'say "hi" #now', "[WIP] Meetup {2}"])
def test_every_quoted_fix_reads_back_as_the_value_meant(write_yaml, capsys, value) -> None:
    """Bug: the ' #' warning escaped only '"', so a fix with a backslash was not YAML."""
    line = f"title: {value}\n"
    try:  # the quoting hint of a syntax error, or the ' #' warning of a value cut short
        read_mapping(write_yaml("a.yaml", line), "event")
        message = capsys.readouterr().err
    except YamlProblem as error:
        message = error.message
    fix = re.search(r'(?:quote it|quote it whole): (?:title: )?(".*")$', message.strip())
    assert fix, message
    assert yaml.safe_load(f"title: {fix.group(1)}") == {"title": value}


@pytest.mark.parametrize("text", [
    "title: 'Lisbon Python #41: Typing'\n",
    "title: Lisbon Python # the group's name\n",
    "title: Lisbon Python\n# 41: Typing\n",
    "highlights:\n  - 'Talk #2'\n",
])
def test_quoted_values_and_real_comments_are_not_warned(write_yaml, capsys, text) -> None:
    read_mapping(write_yaml("a.yaml", text), "event")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(("text", "line", "check"), [
    ("title: A\n  kind: meetup\n", 2, "a value with ': ' in it must be quoted"),
    ("title: Typing: part 2\n", 1, "a value with ': ' in it must be quoted"),
    ("title: A\nlinks:\n  - title: x\n   url: y\n", 4, "list items (- ...) must line up"),
    ("title: A\nsummary: a\nlong\nkind: x\n", 4, "each key needs ': ' after it"),
    ("title: A\n\tkind: meetup\n", 2, "indent with spaces; YAML does not allow tabs"),
    ('title: "A\nkind: meetup\n', 3, "a quote (\" or ') opened and never closed"),
    ("title: A\ntags: [\n", 3, "a value is missing: a [list] or {mapping} left open"),
    ("title: A\ntags: [a,\n", 3, "a value is missing: a [list] or {mapping} left open"),
    ("title: [WIP] Meetup\nkind: meetup\n", 1, "a value that starts with '[' is read as YAML "
     'syntax; if it is text, quote it whole: title: "[WIP] Meetup"'),
    ('title: A\nsummary: @pytorch says "hi"\n', 2, "a value that starts with '@' is read as "
     'YAML syntax; if it is text, quote it whole: summary: "@pytorch says \\"hi\\""'),
])
def test_syntax_errors_say_what_to_check(write_yaml, text, line, check) -> None:
    found_line, message = problem(write_yaml, text)
    assert message.startswith("invalid YAML: ")  # PyYAML's words stay, for searching the web
    assert f". Check: {check}" in message
    assert found_line == line
