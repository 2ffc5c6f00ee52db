"""Work on every core: a function over many items, in forked workers when it pays."""

from __future__ import annotations

import multiprocessing
import os
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
MAX_WORKERS = 8

# What the workers run: set before the fork, so they inherit it (nothing is pickled on the
# way in: the items may be 10k parsed events; only the results travel back).
_WORK: list[tuple[Callable[[Any], Any], Sequence[Any]]] = []


def workers() -> int:
    """The cores this process may run on (at most MAX_WORKERS)."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(count or 1, MAX_WORKERS)


def fork_map(function: Callable[[Item], Result], items: Sequence[Item],
             parallel_from: int) -> list[Result]:
    """[function(item) for item in items], in forked workers when there are enough items.

    Below `parallel_from` items (or on one core, or where fork is missing) it runs here:
    starting workers costs more than it saves. So it does while another thread runs (serve
    --watch builds beside its server's threads): a forked child holds only the forking
    thread, and a lock another one held at the fork (stderr's, say) would never be freed.
    `function` may be a closure; its results must pickle. An exception in a worker is
    raised here, as in the plain loop: that of the first item that raised one, whichever
    worker got there first.
    """
    count = workers()
    if (len(items) < parallel_from or count < 2 or _WORK or threading.active_count() > 1
            or "fork" not in multiprocessing.get_all_start_methods()):
        return [function(item) for item in items]
    size = -(-len(items) // (count * 4))  # small chunks even out uneven items
    chunks = [(start, min(start + size, len(items))) for start in range(0, len(items), size)]
    _WORK.append((function, items))
    try:
        # fork: workers start in milliseconds with every module imported and `items` in place.
        with multiprocessing.get_context("fork").Pool(count) as pool:
            parts = pool.starmap(_run_chunk, chunks)
    finally:
        _WORK.clear()
    results = []
    for done, error in parts:  # in item order: the first error is the plain loop's
        results += done
        if error is not None:
            raise error
    return results


def _run_chunk(start: int, stop: int) -> tuple[list[Any], Exception | None]:
    """The results of items[start:stop], up to the first that raised, and its exception
    (returned, not raised: a raised one would reach the caller as soon as its worker failed,
    before an earlier item's in another worker)."""
    function, items = _WORK[0]
    done = []
    for index in range(start, stop):
        try:
            done.append(function(items[index]))
        except Exception as error:
            error.add_note("in a worker:\n" + "".join(traceback.format_exception(error)))
            return done, error
    return done, None
