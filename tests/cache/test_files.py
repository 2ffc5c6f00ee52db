"""cache/files.py: change detection by stat, and paths as messages show them."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pipeline.cache.files import ShownPaths, fingerprint
from pipeline.errors import display_path

FOLDERS = st.lists(st.sampled_from(["events", "a", "2025", "..", "b c", "é"]), max_size=4)


@given(absolute=st.booleans(), folders=FOLDERS, name=st.sampled_from(["x.yaml", "é.yml"]))
def test_shown_paths_are_display_path(absolute, folders, name):
    # ShownPaths works on the path's text (10k files a build); it must say what
    # display_path says of a file, for relative, absolute and `..` paths alike.
    path = Path("/" if absolute else ".", *folders, name)
    assert ShownPaths()(path) == display_path(path)


def test_a_recorded_stat_is_trusted_only_before_the_recording_run(tmp_path):
    file = tmp_path / "event.yaml"
    file.write_text("title: One\n")
    info = os.stat(file)
    signature = [info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns]
    record = {"stat": signature, "digest": "recorded"}
    # Recorded by a run that started after the file's last change: not read again.
    assert fingerprint(file, record, info.st_mtime_ns + 1) == (signature, "recorded")
    # Racily clean (changed in the tick the run started): read and hashed.
    assert fingerprint(file, record, info.st_mtime_ns)[1] != "recorded"
    # The run's own stat is used when given, and a moved stat means the file is read.
    moved = {os.fspath(file): [signature[0] + 1, *signature[1:]]}
    assert fingerprint(file, record, info.st_mtime_ns + 1, moved)[1] != "recorded"
