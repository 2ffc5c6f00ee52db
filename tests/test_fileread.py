"""read_sized: what fstat said, what the file holds if it grew or shrank, up to a bound."""

from __future__ import annotations

import os

import pytest

from pipeline.fileread import read_sized


@pytest.mark.parametrize(("size_said", "actual", "limit"), [
    (100, 100, 1000),  # as fstat said
    (10, 200_000, 1_000_001),  # grew after fstat: read on to the end
    (10, 2_000_000, 1_000_001),  # grew past the bound: cut at it
    (500, 100, 1000),  # shrank: what is there
])
def test_a_read_stops_at_the_bound(tmp_path, size_said, actual, limit) -> None:
    file = tmp_path / "file.bin"
    file.write_bytes(bytes(range(256)) * (actual // 256) + b"x" * (actual % 256))
    fd = os.open(file, os.O_RDONLY)
    try:
        data = read_sized(fd, size_said, limit)
    finally:
        os.close(fd)
    assert data == file.read_bytes()[:limit]


@pytest.mark.parametrize(("size_said", "actual"), [
    (3_000_000, 3_000_000),  # as fstat said: one read
    (10, 3_000_000),  # grew after fstat: read on to the end, however far
    (0, 0),
])
def test_without_a_bound_the_whole_file_is_read(tmp_path, size_said, actual) -> None:
    file = tmp_path / "pieces.bin"
    file.write_bytes(bytes(range(256)) * (actual // 256) + b"x" * (actual % 256))
    fd = os.open(file, os.O_RDONLY)
    try:
        data = read_sized(fd, size_said)
    finally:
        os.close(fd)
    assert data == file.read_bytes()
