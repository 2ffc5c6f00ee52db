"""Which paths the publish step may write: safe relative names, no clashes, state dot-files."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from pipeline.errors import PipelineError
from pipeline.publish.folders import TEMP_SUFFIX
from pipeline.publish.manifest import MANIFEST

JOURNAL = ".publish-journal.json"
SAFE_PART = r"[A-Za-z0-9_][A-Za-z0-9_.@+-]*"  # a file or folder name
SAFE_PATH = re.compile(rf"(?:{SAFE_PART}/)*{SAFE_PART}\Z")
STATE_NAME = re.compile(r"^\.[A-Za-z0-9][A-Za-z0-9_.-]*$")
RESERVED_STATE = (JOURNAL, ".pipeline.lock")


def is_safe(path: str) -> bool:
    """A relative posix path of plain names: no '..', no dot-files, no temp names."""
    # One match per path (20k paths a build), and \Z: `$` would let a final newline through.
    return (path != MANIFEST and SAFE_PATH.match(path) is not None
            and TEMP_SUFFIX + "/" not in path + "/")


def validate_paths(paths: Iterable[str]) -> None:
    """Reject artifact paths that could escape the root, hide, or clash; a bug, said clearly."""
    files = set(paths)
    # The common case in set operations (200k paths at 100k events): the paths that are
    # unsafe, and the folders some path needs that are files; the messages only when needed.
    unsafe = [path for path in files if not is_safe(path)]
    folders: set[str] = set()
    parents = {path.rpartition("/")[0] for path in files} - {""}
    while parents:
        folders |= parents
        parents = {folder.rpartition("/")[0] for folder in parents} - {""} - folders
    if not unsafe and not folders & files:
        return
    bad: list[str] = []
    for path in sorted(files):
        parts = path.split("/")
        if not is_safe(path):
            bad.append(f"{path!r} is not a safe relative path (no '..', no absolute path, "
                       f"no dot-files, not {MANIFEST})")
        elif any("/".join(parts[:i]) in files for i in range(1, len(parts))):
            bad.append(f"{path!r} needs a folder where another artifact is a file")
    if bad:
        raise PipelineError("cannot publish: " + "; ".join(bad))


def validate_state_names(state: Mapping[str, bytes]) -> None:
    """State files are plain dot-file names in the root, and not the step's own files."""
    bad = [name for name in state if not STATE_NAME.match(name) or name in RESERVED_STATE
           or name.endswith(TEMP_SUFFIX)]
    if bad:
        raise PipelineError(f"cannot publish state files {bad}: a state file is a dot-file name "
                            f"in the publish root, other than {', '.join(RESERVED_STATE)}")
