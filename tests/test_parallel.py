"""fork_map: the plain loop's results and errors, from forked workers."""

from __future__ import annotations

import os
import threading
import time

import pytest

import pipeline.parallel as parallel


def slow_to_fail(item: int) -> int:
    """Item 1 fails late, item 6 at once: a worker with item 6 fails first."""
    if item == 1:
        time.sleep(0.3)
        raise ValueError("item 1")
    if item == 6:
        raise ValueError("item 6")
    return item * item


@pytest.fixture(autouse=True)
def two_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "workers", lambda: 2)  # also on a one-core machine


def test_results_come_back_in_item_order_from_other_processes() -> None:
    assert parallel.fork_map(lambda item: (item, os.getpid()), range(8), 2)[3][0] == 3
    pids = {pid for _, pid in parallel.fork_map(lambda item: (item, os.getpid()), range(8), 2)}
    assert os.getpid() not in pids
    assert parallel.fork_map(lambda item: item * item, list(range(20)), 2) == [
        item * item for item in range(20)]


def test_the_first_items_error_is_raised_as_in_the_plain_loop() -> None:
    with pytest.raises(ValueError, match="item 1") as error:
        parallel.fork_map(slow_to_fail, list(range(8)), 2)
    assert "in a worker" in "".join(error.value.__notes__)  # where it happened
    with pytest.raises(ValueError, match="item 1"):
        [slow_to_fail(item) for item in range(8)]  # the plain loop, for comparison


def test_below_the_threshold_it_runs_here() -> None:
    assert {pid for pid in parallel.fork_map(lambda _: os.getpid(), range(3), 4)} == {
        os.getpid()}


def test_while_another_thread_runs_it_runs_here() -> None:
    # A fork copies only the calling thread: a lock another thread holds would stay held.
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert {pid for pid in parallel.fork_map(lambda _: os.getpid(), range(8), 2)} == {
            os.getpid()}
    finally:
        stop.set()
        other.join()
