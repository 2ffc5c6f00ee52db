"""fragments.bin read in runs: each span is its own bytes, or None when they are not as recorded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.cache import fragments, place
from pipeline.cache.fragments import Fragments


def written(tmp_path: Path, pieces: list[bytes]) -> tuple[Fragments, list[list[int]]]:
    """A saved fragments file holding `pieces`, opened again, and their spans."""
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700, exist_ok=True)
    (folder / fragments.FRAGMENTS).unlink(missing_ok=True)
    store = Fragments(folder)
    spans = [store.add(piece) for piece in pieces]
    assert store.save()
    return Fragments(folder), spans


@settings(max_examples=40, deadline=None)
@given(pieces=st.lists(st.binary(max_size=300), min_size=1, max_size=30),
       order=st.randoms(use_true_random=False), gap=st.sampled_from([0, 7, 1 << 16]))
def test_reading_many_spans_gives_each_its_bytes(tmp_path_factory, pieces, order, gap):
    # Runs join spans across small gaps, and stop at READ_RUN: each span still gets its bytes.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fragments, "READ_GAP", gap)
        patch.setattr(fragments, "READ_RUN", 512)
        store, spans = written(tmp_path_factory.mktemp("f"), pieces)
        pairs = list(zip(spans, pieces, strict=True))
        asked = [*pairs, *pairs[:3]]
        order.shuffle(asked)  # any order, some twice
        assert store.read_many([span for span, _ in asked]) == [piece for _, piece in asked]
        assert store.read_many(spans) == pieces
        assert [store.read(span) for span in spans] == pieces


def test_a_damaged_or_foreign_span_is_none_and_the_others_are_read(tmp_path):
    store, spans = written(tmp_path, [b"first", b"second", b"third"])
    path = tmp_path / "cache" / fragments.FRAGMENTS
    data = bytearray(path.read_bytes())
    data[spans[1][0]] ^= 1  # a flipped bit in the second
    path.write_bytes(bytes(data))
    os.chmod(path, 0o600)
    store = Fragments(tmp_path / "cache")
    past_the_end = [spans[2][0], 100, 0]
    assert store.read_many([spans[0], spans[1], spans[2], past_the_end, [-1, 2, 0], "x", None]) \
        == [b"first", None, b"third", None, None, None, None]


def test_pieces_added_together_read_back_as_one_span(tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    store = Fragments(folder)
    first = store.add(b"VEVENT", b"", b"<li>card</li>", b"{}")
    second = store.add(b"alone")
    assert store.save()
    assert Fragments(folder).read_many([first, second]) == [b"VEVENT<li>card</li>{}", b"alone"]


@settings(max_examples=30, deadline=None)
@given(pieces=st.lists(st.binary(max_size=40), max_size=40), most=st.integers(1, 50),
       batch=st.integers(1, 5))
def test_pieces_are_written_whole_whatever_each_write_takes(tmp_path_factory, pieces, most,
                                                            batch):
    # writev may write fewer bytes than asked, ending inside a piece: the rest still follows.
    real = os.writev
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(place, "WRITE_BATCH", batch)
        patch.setattr(os, "writev", lambda fd, views: real(fd, [b"".join(views)[:most]]))
        path = tmp_path_factory.mktemp("w") / "file"
        assert place.write_private(path, pieces) is not None
    assert path.read_bytes() == b"".join(pieces)
