"""The cache can neither run code nor change what is published: private, sealed, a miss if not."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
from cachesite import build, cold_build, forget_last_run, make_site
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.cache import cache_dir_for
from pipeline.cache.events import FIELDS, PACK
from pipeline.cache.fragments import FRAGMENTS as DATA
from pipeline.cache.fragments import checksum
from pipeline.cache.issues import ISSUES
from pipeline.cache.records import line
from pipeline.cache.run import RUN
from pipeline.cache.version import code_version


@pytest.fixture
def site(in_tmp: Path) -> Path:
    return make_site(in_tmp)


class Planted:
    """A pickle that, when loaded, creates a file: what an attacker would plant."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_planted_pickle_beside_the_publish_root_is_never_loaded(site, capsys):
    # The old cache's place: `.pipeline-cache/events.pickle` in the parent of --out, which
    # anyone who can write that parent (/tmp, a shared /var/www) could plant.
    marker = site / "code-ran"
    (site / ".pipeline-cache").mkdir()
    with open(site / ".pipeline-cache" / "events.pickle", "wb") as handle:
        pickle.dump(Planted(marker), handle)
    build()
    assert not marker.exists()


def forge(folder: Path) -> None:
    """Well-sealed records whose bytes say another title for the Seoul meetup."""
    forget_last_run()
    first, rest = (folder / PACK).read_text(encoding="utf-8").split("\n", 1)
    header, rows = json.loads(first.split(" ", 1)[1]), json.loads(rest)
    old = (folder / DATA).read_bytes()
    assert b"Seoul meetup" in old
    new = b""
    for row in rows:
        record = dict(zip(FIELDS, row, strict=True))
        vevent_size, card_size = record["parts"]
        offset, length, _ = record["frag"]
        cut = (offset, offset + vevent_size, offset + vevent_size + card_size, offset + length)
        vevent, card, embed = (old[start:end].replace(b"Seoul meetup", b"Forged meetup")
                               for start, end in itertools.pairwise(cut))
        forged = vevent + card + embed
        record["frag"] = [len(new), len(forged), checksum(forged)]
        record["parts"] = [len(vevent), len(card)]
        new += forged
        record["data"] = None
        row[:] = [record[field] for field in FIELDS]
    (folder / DATA).write_bytes(new)
    body = b"[" + b",\n".join(json.dumps(row).encode() for row in rows) + b"]"
    header["body"] = hashlib.sha256(body).hexdigest()
    (folder / PACK).write_bytes(line(code_version(), header) + body)


@pytest.mark.parametrize("how", ["group-writable folder", "world-writable file",
                                 "world-writable fragments", "folder of another user",
                                 "symlinked folder"])
def test_a_cache_others_could_write_is_ignored_with_a_warning(site, capsys, monkeypatch, how):
    build()
    expected = cold_build()
    folder = cache_dir_for(Path("output"))
    forge(folder)
    if how == "group-writable folder":
        folder.chmod(0o770)
    elif how == "world-writable file":
        (folder / PACK).chmod(0o666)
    elif how == "world-writable fragments":
        (folder / DATA).chmod(0o666)
    elif how == "folder of another user":
        if os.geteuid() == 0:
            os.chown(folder, 65534, 65534)
        else:  # without root, the same check seen from another user's side
            uid = os.geteuid()
            monkeypatch.setattr(os, "geteuid", lambda: uid + 1)
    else:
        elsewhere = site / "elsewhere"
        shutil.move(folder, elsewhere)
        folder.symlink_to(elsewhere)
    capsys.readouterr()
    assert build() == expected
    warning = capsys.readouterr().err
    assert "warning: ignoring the build cache" in warning and "Forged" not in warning


def test_a_forged_cache_in_the_private_folder_is_what_the_permissions_prevent(site):
    # The control for the test above: the same forgery in a private folder is used, which is
    # why the folder's owner and mode are checked (a seal is not a signature).
    build()
    forge(cache_dir_for(Path("output")))
    assert b"Forged meetup" in build()["calendar/upcoming.ics"]


def test_the_cache_folder_depends_on_the_publish_root_and_the_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    one, two = cache_dir_for(tmp_path / "a" / "output"), cache_dir_for(tmp_path / "b" / "output")
    assert one != two and one.parent == two.parent == tmp_path / "xdg" / "pipeline"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir_for(tmp_path / "a" / "output").parent == tmp_path / "home" / ".cache" / "pipeline"


Mutation = tuple[str, int, int]


def mutate(data: bytes, mutation: Mutation) -> bytes:
    """Flip a byte, cut the file, drop a span, or repeat a span, at a position."""
    kind, at, size = mutation
    at %= max(len(data), 1)
    if kind == "flip" and not data:  # an empty file (cut at 0 before) has nothing to flip
        return data
    if kind == "flip":
        return data[:at] + bytes([data[at] ^ (size % 255 + 1)]) + data[at + 1:]
    if kind == "truncate":
        return data[:at]
    if kind == "drop":
        return data[:at] + data[at + size:]
    return data[:at] + data[at:at + size] + data[at:]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.sampled_from([(PACK,), (RUN,), (PACK, RUN), (DATA,), (ISSUES,),
                               (PACK, DATA, ISSUES)]),
       mutations=st.lists(st.tuples(st.sampled_from(["flip", "truncate", "drop", "repeat"]),
                                    st.integers(0, 1 << 20), st.integers(1, 400)),
                          min_size=1, max_size=3))
def test_a_damaged_cache_gives_the_bytes_of_a_cold_build(site, target, mutations):
    # Damage of any kind (a flipped bit, a cut, a lost or doubled span) to the events' pack,
    # their data, the issues' records, the last run's record or several is a miss: the
    # output is the cold build's, byte for byte, and the build never fails because of it.
    folder = cache_dir_for(Path("output"))
    pristine = site / "pristine"
    if not pristine.exists():
        build()
        shutil.copytree(folder, pristine)
        (site / "expected").mkdir()
        for path, data in cold_build().items():
            (site / "expected" / path.replace("/", "__")).write_bytes(data)
    expected = {p.name.replace("__", "/"): p.read_bytes() for p in (site / "expected").iterdir()}
    for name in (PACK, RUN, DATA, ISSUES):
        shutil.copy(pristine / name, folder / name)
    if RUN not in target:
        forget_last_run()  # else the unchanged build never reads the others
    for name in target:
        data = (pristine / name).read_bytes()
        for mutation in mutations:
            data = mutate(data, mutation)
        (folder / name).write_bytes(data)
    assert build() == expected
