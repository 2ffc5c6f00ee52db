"""Reading an open file whose size fstat just gave: sources, the cache and the publish step."""

from __future__ import annotations

import os

GROWTH_CHUNK = 1 << 20


def read_sized(fd: int, size: int, limit: int | None = None) -> bytes:
    """The bytes of the open file `fd`, whose fstat said `size`: at most `limit` (None: all).

    One read of that size, since a read of a regular file returns less only at its end: a
    read of `limit` bytes allocates all of them first (30 us a file for a 1 MB bound, 10k
    files a cold build), and chunks joined copy a 25 MB cache file twice. More is read only
    if the file grew meanwhile.
    """
    data = os.read(fd, size + 1 if limit is None else min(size + 1, limit))
    if len(data) <= size:
        return data
    chunks, total = [data], len(data)
    while limit is None or total < limit:
        chunk = os.read(fd, GROWTH_CHUNK if limit is None else min(GROWTH_CHUNK, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)
