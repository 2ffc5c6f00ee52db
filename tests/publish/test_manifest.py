"""manifest.json: what deployments and the next publish read about the last one."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath

from hypothesis import given
from hypothesis import strategies as st

from pipeline.publish.manifest import (
    CONTENT_TYPES,
    DEFAULT_CONTENT_TYPE,
    MANIFEST,
    content_type,
    manifest_bytes,
    manifest_entry,
    patch_manifest,
    read_manifest,
)


def test_a_missing_manifest_is_empty_and_a_damaged_one_is_unreadable(tmp_path: Path) -> None:
    # The publish step prunes by the manifest: damaged must never look like "nothing was ours".
    assert read_manifest(tmp_path) == {}
    for damaged in ("{not json", '{"artifacts": [{"bytes": 1}]}', '{"count": 0}', "[]"):
        (tmp_path / MANIFEST).write_text(damaged)
        assert read_manifest(tmp_path) is None, damaged


def test_entries_are_sorted_and_the_bytes_do_not_depend_on_their_order(tmp_path: Path) -> None:
    entries = [manifest_entry("newsletter/x/index.html", b"<p>hi</p>", kept=True),
               manifest_entry("calendar/upcoming.ics", b"BEGIN:VCALENDAR")]
    data = manifest_bytes(entries)
    assert data == manifest_bytes(reversed(entries)) and data.endswith(b"}\n")
    document = json.loads(data)
    assert document["count"] == 2
    assert [entry["path"] for entry in document["artifacts"]] == [
        "calendar/upcoming.ics", "newsletter/x/index.html"]
    (tmp_path / MANIFEST).write_bytes(data)
    assert read_manifest(tmp_path) == {
        "calendar/upcoming.ics": {"path": "calendar/upcoming.ics", "bytes": 15,
                                  "content_type": "text/calendar; charset=utf-8",
                                  "sha256": hashlib.sha256(b"BEGIN:VCALENDAR").hexdigest()},
        "newsletter/x/index.html": {"path": "newsletter/x/index.html", "bytes": 9,
                                    "content_type": "text/html; charset=utf-8",
                                    "sha256": hashlib.sha256(b"<p>hi</p>").hexdigest(),
                                    "kept": True}}


def test_content_type_goes_by_extension_whatever_its_case() -> None:
    assert content_type("images/HERO.PNG") == "image/png"
    assert content_type("newsletter/feed.xml") == "application/atom+xml"
    assert content_type("downloads/file.bin") == "application/octet-stream"
    assert content_type("README") == "application/octet-stream"


@given(st.lists(st.fixed_dictionaries(
    {"path": st.text(min_size=1), "bytes": st.integers(min_value=0), "sha256": st.text(),
     "content_type": st.text()}, optional={"kept": st.booleans()})))
def test_manifest_is_laid_out_as_json_dumps_would(entries):
    # Written an entry at a time for speed; the bytes must be json.dumps' all the same.
    ordered = sorted(entries, key=lambda entry: entry["path"])
    expected = json.dumps({"artifacts": ordered, "count": len(ordered)}, indent=2,
                          sort_keys=True, ensure_ascii=False) + "\n"
    assert manifest_bytes(entries) == expected.encode()


@given(st.text(alphabet="ab./XJ", max_size=12))
def test_content_type_goes_by_the_suffix_pathlib_sees(path):
    expected = CONTENT_TYPES.get(PurePosixPath(path).suffix.lower(), DEFAULT_CONTENT_TYPE)
    assert content_type(path) == expected


PATHS = st.text(alphabet='ab/."\\é木😀', min_size=1, max_size=6)
ENTRIES = st.dictionaries(PATHS, st.binary(max_size=4), max_size=8)


@given(ENTRIES, ENTRIES, st.sets(PATHS, max_size=4))
def test_a_patched_manifest_is_the_manifest_of_the_patched_entries(before, put, removed):
    # A delta rebuild patches the manifest by path (pipeline/rebuild.py); a full build makes
    # it whole. Both must give the same bytes, or the patch must say it cannot (None).
    data = manifest_bytes(manifest_entry(path, content) for path, content in before.items())
    changes = {**{path: None for path in removed},
               **{path: manifest_entry(path, content) for path, content in put.items()}}
    after = {path: content for path, content in before.items() if path not in removed}
    after.update(put)
    patched = patch_manifest(data, changes)
    if patched is None:  # an escaped path, or a list that is or becomes empty
        assert b"\\" in data or any("\\" in path or '"' in path for path in put) or not (
            before and after)
        return
    manifest, old, count = patched
    assert manifest == manifest_bytes(manifest_entry(path, content)
                                      for path, content in after.items())
    assert count == len(after)
    assert old == {path: manifest_entry(path, before[path]) for path in changes if path in before}


def test_paths_put_in_with_an_escape_are_not_patched() -> None:
    # Bug (found by the property test above): '\\a' and '\\b' put into a manifest without
    # a backslash came out as \\b then \\a, sorted by their escaped text.
    data = manifest_bytes([manifest_entry("/", b"")])
    assert patch_manifest(data, {"\\a": manifest_entry("\\a", b""),
                                 "\\b": manifest_entry("\\b", b"")}) is None
    assert patch_manifest(data, {'"q': manifest_entry('"q', b"")}) is None
    assert patch_manifest(data, {"b": manifest_entry("b", b"")}) is not None


def test_a_manifest_of_another_layout_is_not_patched() -> None:
    entry = manifest_entry("a.html", b"a")
    assert patch_manifest(json.dumps({"artifacts": [entry], "count": 1}).encode(), {}) is None
    data = manifest_bytes([entry, manifest_entry("b.html", b"b", kept=True)])
    patched = patch_manifest(data, {"c.html": manifest_entry("c.html", b"c")})
    assert patched is not None and json.loads(patched[0])["count"] == 3
