"""DTSTAMP, LAST-MODIFIED and SEQUENCE: first publication of each content, kept in the ledger."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from pathlib import Path

import icalendar
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from pipeline.calendar.feeds import calendar_ledger, render_calendars
from pipeline.calendar.stamps import (
    EMPTY_LEDGER,
    LEDGER_FILE,
    Stamp,
    content_key,
    ledger_bytes,
    next_ledger,
    parse_ledger,
    patch_ledger,
    read_ledger,
    stamp_for,
    stamps_of,
)
from pipeline.cli import cli
from pipeline.model import Event

UTC = dt.UTC
FIRST = dt.datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
LATER = dt.datetime(2025, 1, 9, 17, 30, 12, tzinfo=UTC)
KEY_A, KEY_B = content_key(b"a"), content_key(b"b")
SITE = {
    "pipeline.yaml": """\
        site_name: Stamp Test
        base_url: https://events.example.org/
        feeds:
          - id: korea
            name: Korea
            tags: [korea]
        """,
    "events/seoul.yaml": """\
        title: Seoul meetup
        kind: meetup
        start: 2025-04-10 19:00
        duration: 2h
        timezone: Asia/Seoul
        tags: [korea]
        """,
    "events/busan.yaml": """\
        title: Busan hackathon
        kind: hackathon
        start: 2025-05-03
        end: 2025-05-04
        timezone: Asia/Seoul
        tags: [korea]
        """,
    "events/paris.yaml": """\
        title: Paris docathon
        kind: docathon
        start: 2025-03-29 10:00
        duration: 6h
        timezone: Europe/Paris
        """,
}


# --- the ledger's rules ------------------------------------------------------------------


def test_a_new_uid_is_first_published_now_with_sequence_0() -> None:
    assert stamp_for(None, KEY_A, FIRST + dt.timedelta(microseconds=999)) == Stamp(KEY_A, FIRST, 0)


def test_unchanged_content_keeps_its_stamp_and_sequence() -> None:
    assert stamp_for(Stamp(KEY_A, FIRST, 3), KEY_A, LATER) == Stamp(KEY_A, FIRST, 3)


def test_changed_content_is_stamped_now_and_its_sequence_grows() -> None:
    assert stamp_for(Stamp(KEY_A, FIRST, 3), KEY_B, LATER) == Stamp(KEY_B, LATER, 4)


def test_a_stamp_from_a_later_now_is_pulled_back_to_now() -> None:
    # A ledger written by a build run with a later --now: never a stamp in the future.
    assert stamp_for(Stamp(KEY_A, LATER, 2), KEY_A, FIRST) == Stamp(KEY_A, FIRST, 2)


def test_a_deleted_event_keeps_its_record_so_its_sequence_goes_on() -> None:
    ledger = next_ledger(EMPTY_LEDGER, {"a@x": Stamp(KEY_A, FIRST, 5), "b@x": Stamp(KEY_A, FIRST, 0)})
    after = next_ledger(ledger, {"b@x": Stamp(KEY_A, FIRST, 0)})  # a@x was deleted
    assert after["a@x"] == Stamp(KEY_A, FIRST, 5)
    assert stamp_for(after["a@x"], KEY_B, LATER).sequence == 6  # ...and comes back, edited


def test_ledger_file_round_trips_and_is_stable() -> None:
    ledger = next_ledger(EMPTY_LEDGER, {"b@x": Stamp(KEY_B, LATER, 1), "a@x": Stamp(KEY_A, FIRST, 0)})
    data = ledger_bytes(ledger)
    assert parse_ledger(data) == ledger
    assert data == ledger_bytes(parse_ledger(data))
    assert json.loads(data)["stamps"]["a@x"] == [KEY_A, "2025-01-06T09:00:00Z", 0]
    assert data.count(b"\n") == 2  # a record a line: readable, and diffs show what changed


def _record(**changes: object) -> bytes:
    """A ledger file of one record, with some of its fields changed."""
    record = {"content": KEY_A, "published": "2025-01-06T09:00:00Z", "sequence": 0, **changes}
    return json.dumps({"format": 1, "stamps": {"a@x": list(record.values())}}).encode()


@pytest.mark.parametrize("data", [
    b"", b"{", b"[]", b"\xff\xfe", b'{"format": 2, "stamps": {}}', b'{"format": 1}',
    b'{"format": 1, "stamps": []}', _record(content="zz"), _record(published="yesterday"),
    _record(published=20250106), _record(sequence=-1), _record(sequence=True),
    _record(sequence=None), _record(extra=1), b'{"format": 1, "stamps": {"a@x": {}}}',
])
def test_a_damaged_ledger_file_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        parse_ledger(data)


def test_a_damaged_ledger_reads_as_empty_with_one_warning(tmp_path: Path, capsys) -> None:
    (tmp_path / LEDGER_FILE).write_bytes(b'{"format": 1, "stamps": ')
    assert read_ledger(tmp_path) == {}
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: ") and LEDGER_FILE in lines[0]
    assert read_ledger(tmp_path / "missing") == {}  # missing: silent
    assert capsys.readouterr().err == ""


# --- the calendar, as a pure function of (events, settings, now, ledger) -------------------


def _events(settings) -> tuple[Event, ...]:
    base = Event(id="a", title="A", kind="meetup", start=dt.date(2025, 5, 1), end=dt.date(2025, 5, 1),
                 tags=("korea",))
    return (base, dataclasses.replace(base, id="b", title="B"),
            dataclasses.replace(base, id="c", title="C", tags=()))


def _stamps(data: bytes) -> dict[str, tuple]:
    """Each VEVENT's (DTSTAMP, LAST-MODIFIED, SEQUENCE) by UID."""
    return {str(e["UID"]): (e["DTSTAMP"].dt, e["LAST-MODIFIED"].dt, int(e["SEQUENCE"]))
            for e in icalendar.Calendar.from_ical(data).walk("VEVENT")}


def test_render_with_the_ledger_of_the_last_render_changes_nothing(settings) -> None:
    from pipeline.sources.settings import FeedSpec

    settings = dataclasses.replace(settings, feeds=(FeedSpec("korea", "Korea", tags=("korea",)),))
    events = _events(settings)
    ledger = calendar_ledger(events, settings, FIRST)
    assert render_calendars(events, settings, LATER, ledger=ledger) == render_calendars(
        events, settings, FIRST)
    assert calendar_ledger(events, settings, LATER, ledger=ledger) == ledger


def test_the_build_gets_the_same_ledger_with_its_files(settings) -> None:
    # The build takes the next ledger from the render itself; calendar_ledger must agree.
    from pipeline.calendar.feeds import render_calendars_and_ledger

    events = _events(settings)
    first = calendar_ledger(events, settings, FIRST)
    edited = (dataclasses.replace(events[0], title="Renamed"), *events[1:])
    for before, now in ((EMPTY_LEDGER, FIRST), (first, LATER)):
        files, ledger = render_calendars_and_ledger(edited, settings, now, ledger=before)
        assert files == render_calendars(edited, settings, now, ledger=before)
        assert ledger == calendar_ledger(edited, settings, now, ledger=before)
    assert ledger != first  # the renamed event was stamped again


def test_an_edit_restamps_that_event_alone_in_every_file(settings) -> None:
    from pipeline.sources.settings import FeedSpec

    settings = dataclasses.replace(settings, feeds=(FeedSpec("korea", "Korea", tags=("korea",)),))
    events = _events(settings)
    ledger = calendar_ledger(events, settings, FIRST)
    edited = (dataclasses.replace(events[0], title="A (moved)"), *events[1:])
    files = render_calendars(edited, settings, LATER, ledger=ledger)
    for path in ("calendar/upcoming.ics", "calendar/korea.ics", "calendar/events/a.ics"):
        assert _stamps(files[path])["a@events.example.org"] == (LATER, LATER, 1), path
    for path in ("calendar/upcoming.ics", "calendar/korea.ics", "calendar/events/b.ics"):
        assert _stamps(files[path])["b@events.example.org"] == (FIRST, FIRST, 0), path
    assert _stamps(files["calendar/upcoming.ics"])["c@events.example.org"] == (FIRST, FIRST, 0)


def test_a_setting_that_changes_an_event_restamps_it(settings) -> None:
    # The key is the VEVENT as written: a new base_url changes every relative IMAGE.
    from pipeline.model import Image

    events = (dataclasses.replace(_events(settings)[0], image=Image(src="a.png", alt="A")),)
    ledger = calendar_ledger(events, settings, FIRST)
    moved = dataclasses.replace(settings, base_url="https://calendar.example.net/")
    data = render_calendars(events, moved, LATER, ledger=ledger)["calendar/events/a.ics"]
    assert _stamps(data)["a@events.example.org"] == (LATER, LATER, 1)


# --- through `pipeline build` -------------------------------------------------------------


@pytest.fixture
def site(in_tmp: Path, write_yaml) -> Path:
    for path, text in SITE.items():
        write_yaml(path, text)
    return in_tmp


def build(now: dt.datetime, *more: str) -> object:
    result = CliRunner().invoke(cli, ["build", "--now", now.isoformat(), "--quiet", *more])
    assert "Traceback" not in result.output, result.output
    return result


def snapshot(root: Path = Path("output")) -> dict[str, tuple[bytes, int]]:
    """Every file under the publish root, dot-files too: bytes and nanosecond mtime."""
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".pipeline.lock"}


def stamps_in(path: str) -> dict[str, tuple]:
    return _stamps(Path("output", path).read_bytes())


def every_stamp() -> set[tuple]:
    return {stamp for path in Path("output/calendar").rglob("*.ics")
            for stamp in _stamps(path.read_bytes()).values()}


def test_first_build_stamps_every_event_with_now(site) -> None:
    assert build(FIRST).exit_code == 0
    assert every_stamp() == {(FIRST, FIRST, 0)}
    ledger = read_ledger(Path("output"))
    assert sorted(ledger) == ["busan@events.example.org", "paris@events.example.org",
                              "seoul@events.example.org"]
    assert {stamp.published for stamp in ledger.values()} == {FIRST}


def test_later_rebuild_of_unchanged_input_rewrites_nothing(site) -> None:
    assert build(FIRST).exit_code == 0
    before = snapshot()
    os.utime("output/calendar/upcoming.ics", ns=(1, 1))  # an mtime a rewrite would change
    before["calendar/upcoming.ics"] = (before["calendar/upcoming.ics"][0], 1)
    assert build(LATER).exit_code == 0
    assert snapshot() == before  # bytes and mtimes, the ledger's too


def test_an_edited_title_restamps_that_event_alone(site, write_yaml) -> None:
    assert build(FIRST).exit_code == 0
    before = snapshot()
    write_yaml("events/seoul.yaml", SITE["events/seoul.yaml"].replace("Seoul meetup", "Seoul meetup (moved)"))
    assert build(LATER).exit_code == 0
    after = snapshot()
    changed = sorted(path for path in after if after[path][0] != before.get(path, (None,))[0])
    # The event's own files, the feeds and pages that list it, and nothing of other events.
    assert changed == [LEDGER_FILE, "calendar/events/seoul.ics", "calendar/korea.ics",
                       "calendar/upcoming.ics", "events.json", "events/feeds/korea/index.html",
                       "events/index.html", "events/seoul/index.html", "manifest.json"]
    for path in ("calendar/upcoming.ics", "calendar/korea.ics", "calendar/events/seoul.ics"):
        stamps = stamps_in(path)
        assert stamps["seoul@events.example.org"] == (LATER, LATER, 1), path
        assert stamps.get("busan@events.example.org", (FIRST, FIRST, 0)) == (FIRST, FIRST, 0)
    assert stamps_in("calendar/upcoming.ics")["paris@events.example.org"] == (FIRST, FIRST, 0)
    # A rebuild later still: the edit's stamp stays.
    assert build(LATER + dt.timedelta(days=2)).exit_code == 0
    assert stamps_in("calendar/events/seoul.ics")["seoul@events.example.org"] == (LATER, LATER, 1)


def test_deleting_the_ledger_restamps_everything_with_now(site) -> None:
    assert build(FIRST).exit_code == 0
    Path("output", LEDGER_FILE).unlink()
    result = build(LATER)
    assert result.exit_code == 0 and result.stderr == ""
    assert every_stamp() == {(LATER, LATER, 0)}
    assert Path("output", LEDGER_FILE).is_file()


def test_a_damaged_ledger_warns_once_and_is_rewritten(site) -> None:
    assert build(FIRST).exit_code == 0
    Path("output", LEDGER_FILE).write_bytes(b"\x00garbage")
    result = build(LATER)
    assert result.exit_code == 0
    assert len(result.stderr.splitlines()) == 1 and "warning:" in result.stderr
    assert every_stamp() == {(LATER, LATER, 0)}
    assert read_ledger(Path("output")) == calendar_ledger_of_site(LATER)
    assert build(LATER + dt.timedelta(hours=1)).stderr == ""


def calendar_ledger_of_site(now: dt.datetime):
    from pipeline.build import load_inputs

    events, _, settings = load_inputs(Path("events"), None, Path("pipeline.yaml"))
    return calendar_ledger(events, settings, now)


def test_a_build_with_an_earlier_now_never_stamps_in_the_future(site) -> None:
    assert build(LATER).exit_code == 0
    assert build(FIRST).exit_code == 0
    assert every_stamp() == {(FIRST, FIRST, 0)}


def test_the_ledger_is_never_in_the_manifest(site) -> None:
    assert build(FIRST).exit_code == 0
    assert Path("output", LEDGER_FILE).is_file()
    manifest = json.loads(Path("output/manifest.json").read_bytes())
    assert all(not entry["path"].startswith(".") for entry in manifest["artifacts"])
    assert LEDGER_FILE.encode() not in Path("output/manifest.json").read_bytes()


def test_a_failed_build_does_not_touch_the_ledger(site, write_yaml) -> None:
    assert build(FIRST).exit_code == 0
    before = snapshot()
    write_yaml("events/seoul.yaml", SITE["events/seoul.yaml"].replace("Seoul meetup", "Seoul (moved)"))
    write_yaml("events/broken.yaml", "title: Broken\nkind: meetup\n")
    result = build(LATER)
    assert result.exit_code == 1 and "events/broken.yaml" in result.stderr
    assert snapshot() == before


UIDS = st.text(alphabet='ab@."\\é木', min_size=1, max_size=5)
STAMPS = st.builds(Stamp, st.sampled_from(["a" * 64, "b" * 64]),
                   st.sampled_from([dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
                                    dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)]),
                   st.integers(0, 3))


@given(st.dictionaries(UIDS, STAMPS, max_size=8), st.dictionaries(UIDS, STAMPS, max_size=4))
def test_a_patched_ledger_file_is_the_file_of_the_patched_ledger(ledger, stamps) -> None:
    # A delta rebuild reads and rewrites the records of the events it changed alone.
    data = ledger_bytes(ledger)
    patched = patch_ledger(data, stamps)
    if patched is None:  # an escape in a UID, or no record yet
        assert b"\\" in data or not ledger
        return
    assert patched == ledger_bytes({**ledger, **stamps})
    assert stamps_of(data, [*stamps, *ledger]) == dict(ledger)
