"""The snapshot a delta rebuild starts from: read back as written, or not at all."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipeline.cache.snapshot import (
    PIECES,
    SNAPSHOT,
    Row,
    Snapshot,
    feed_zones,
    instant,
    moment,
    read_snapshot,
    write_snapshot,
    zone_spans,
)


def row(number: int, zone: str = "Europe/Paris", ends: int | None = 2_000) -> Row:
    return Row(path=f"events/e{number}.yaml", stat=[1, 2, 3, 4], digest="0" * 64, start=number,
               id=f"e{number}",
               facts=["e", "x", 1, "meetup", [], None, "", "", "", None], feeds=0b11,
               zone=zone, zone_from=number * 10, ends=ends if ends is None else ends + number,
               card=["https://x/", True, 2025, "2025-01-01T00:00:00+00:00"], until=None,
               span=None, parts=[3, 2])


def pieces(number: int) -> tuple[bytes, bytes, bytes]:
    return (b"V%02d" % number, b"C%d" % (number % 10), b"item %d" % number)


def snapshot(count: int = 5) -> Snapshot:
    return Snapshot([row(n) for n in range(count)], [pieces(n) for n in range(count)],
                    [b"HEAD0\r\n", b"HEAD1\r\n"], {("Europe/Paris", 0, 2_004): b"ZONE\r\n"},
                    ["calendar/upcoming.ics", "calendar/x.ics"], 2)


def test_a_snapshot_reads_back_as_it_was_written(tmp_path: Path) -> None:
    written = snapshot()
    seal = write_snapshot(tmp_path, written, fresh=True)
    read = read_snapshot(tmp_path, seal)
    assert read is not None and seal
    assert read.pieces == written.pieces and read.heads == written.heads
    assert read.zones == written.zones and (read.feeds, read.issues) == (written.feeds, 2)
    assert [r._replace(span=None) for r in read.rows] == written.rows


def test_a_rebuild_appends_the_pieces_of_the_rows_it_made(tmp_path: Path) -> None:
    read = read_snapshot(tmp_path, write_snapshot(tmp_path, snapshot(40), fresh=True))
    assert read is not None
    size = (tmp_path / PIECES).stat().st_size
    read.rows[3], read.pieces[3] = row(3)._replace(id="edited"), (b"V99", b"C9", b"new")
    again = read_snapshot(tmp_path, write_snapshot(tmp_path, read, fresh=False))
    assert again is not None and again.pieces[3] == (b"V99", b"C9", b"new")
    assert again.rows[3].id == "edited" and again.pieces[4] == pieces(4)
    assert (tmp_path / PIECES).stat().st_size == size + len(b"V99C9new")


def test_pieces_are_written_anew_once_most_of_them_are_dead(tmp_path: Path) -> None:
    read = read_snapshot(tmp_path, write_snapshot(tmp_path, snapshot(4), fresh=True))
    assert read is not None
    big = (b"V" * 300_000, b"C" * 300_000, b"I" * 1_000_000)  # past the 1 MB slack
    for _ in range(3):
        read.rows[0] = row(0)._replace(parts=[300_000, 300_000])
        read.pieces[0] = big
        read = read_snapshot(tmp_path, write_snapshot(tmp_path, read, fresh=False))
        assert read is not None and read.pieces[0] == big
    assert (tmp_path / PIECES).stat().st_size < 2 * 1_600_000 + 100


@pytest.mark.parametrize("damage", ["pieces", "rows", "seal", "missing", "other code"])
def test_a_damaged_foreign_or_missing_snapshot_is_none(tmp_path: Path, damage: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    seal = write_snapshot(tmp_path, snapshot(), fresh=True)
    if damage == "pieces":
        data = bytearray((tmp_path / PIECES).read_bytes())
        data[5] ^= 1
        (tmp_path / PIECES).write_bytes(bytes(data))
    elif damage == "rows":
        text = (tmp_path / SNAPSHOT).read_bytes().replace(b'"e3"', b'"e8"')
        (tmp_path / SNAPSHOT).write_bytes(text)
    elif damage == "seal":  # a snapshot, but not the one the run record names
        write_snapshot(tmp_path, snapshot(4), fresh=True)
    elif damage == "missing":
        (tmp_path / SNAPSHOT).unlink()
    else:
        monkeypatch.setattr("pipeline.cache.snapshot.code_version", lambda: "another")
    assert read_snapshot(tmp_path, seal) is None


def test_a_zones_span_covers_every_event_in_it_whichever_feed_holds_it() -> None:
    # One VTIMEZONE per zone in every file (calendar.feeds._vtimezones): its span is that of
    # all the events naming the zone, and a feed holds the zones its own events name.
    rows = [row(1), row(2, ends=None)._replace(feeds=0b01), row(3, zone="Asia/Seoul"),
            row(4)._replace(feeds=0b10)]
    assert zone_spans(rows) == [("Asia/Seoul", 30, 2_003), ("Europe/Paris", 10, None)]
    assert zone_spans([row(4), row(1)]) == [("Europe/Paris", 10, 2_004)]
    assert feed_zones(rows, 0) == ["Asia/Seoul", "Europe/Paris"]
    assert feed_zones([row(4)._replace(feeds=0b10), row(3)._replace(feeds=0b01)], 1) == [
        "Europe/Paris"]


def test_instants_are_kept_to_the_microsecond() -> None:
    for value in (dt.datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC),
                  dt.datetime(2025, 3, 30, 1, 0, 0, 1, tzinfo=dt.UTC)):
        assert moment(instant(value)) == value
