"""Content lines as icalendar 7.3 folds them, mended where it splits an escape."""

from __future__ import annotations


def mend_folds(block: bytes) -> bytes:
    r"""Re-fold the lines where icalendar 7.3 split an escape (`\\`) across a fold.

    icalendar moves a trailing backslash to the next line to keep `\n` whole, but when that
    backslash is the second of `\\` it splits that escape instead. Unfolding still restores the
    value, yet parsers that unescape per physical line misread it; only such lines change.
    """
    lines = block.split(b"\r\n")
    groups: list[list[bytes]] = []  # each content line as its folded pieces, spaces removed
    for line in lines[:-1]:  # the block ends with CRLF: the last item is empty
        if line.startswith(b" ") and groups:
            groups[-1].append(line[1:])
        else:
            groups.append([line])
    mended = [_refold(pieces) if _splits_escape(pieces) else pieces for pieces in groups]
    return b"".join(b"\r\n ".join(pieces) + b"\r\n" for pieces in mended)


def _splits_escape(pieces: list[bytes]) -> bool:
    """True when a fold falls between a backslash and the character it escapes."""
    backslashes = 0
    for piece in pieces[:-1]:
        run = len(piece) - len(piece.rstrip(b"\\"))
        backslashes = backslashes + run if run == len(piece) else run
        if backslashes % 2:
            return True
    return False


def _refold(pieces: list[bytes]) -> list[bytes]:
    """Fold one content line at 75 octets, never inside a UTF-8 character or an escape."""
    text = b"".join(pieces).decode("utf-8")
    units: list[str] = []
    index = 0
    while index < len(text):
        size = 2 if text[index] == "\\" and index + 1 < len(text) else 1
        units.append(text[index:index + size])
        index += size
    folded: list[bytes] = []
    current = b""
    for unit in units:
        encoded = unit.encode("utf-8")
        limit = 74 if folded else 75  # a continuation line starts with a space
        if current and len(current) + len(encoded) > limit:
            folded.append(current)
            current = b""
        current += encoded
    return [*folded, current]
