"""Events survive the cache's JSON form unchanged; nothing but the model's classes comes back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT

from pipeline.cache.codec import decode, encode
from pipeline.calendar.feeds import vevent_bytes
from pipeline.sources.events import load_event, yaml_files
from pipeline.sources.settings import read_settings


def test_every_bundled_event_round_trips_with_its_series_end_and_vevent():
    settings, _ = read_settings(ROOT / "pipeline.yaml")
    paths = yaml_files(ROOT / "events")
    assert paths
    for path in paths:
        event = load_event(path, settings, [])
        assert event is not None
        back = decode(json.loads(json.dumps(encode(event))))
        assert back == event and back.source == event.source and back.id_line == event.id_line
        assert back.ends_at == event.ends_at
        assert [o.start for o in back.occurrences()][:50] == [o.start for o in event.occurrences()][:50]
        assert vevent_bytes(back, settings) == vevent_bytes(event, settings)


@pytest.mark.parametrize("value", [
    {"class": "Path", "fields": {}},  # not a model class
    {"class": "Link", "fields": {"title": "a", "url": "b", "__class__": "x"}},
    {"datetime": "2025-01-01T00:00:00+01:00", "fold": 0, "zone": "UTC"},
    {"datetime": "2025-01-01T00:00:00", "fold": 0, "zone": "../../etc/passwd"},
    {"status": "exploded"},
    3.5,
])
def test_anything_else_is_refused(value):
    with pytest.raises(Exception):  # noqa: B017 - a refusal of any kind is a miss to the cache
        decode(value)


def test_decoding_builds_only_model_values(tmp_path: Path):
    marker = tmp_path / "ran"
    with pytest.raises(KeyError):
        decode({"class": "__import__", "fields": {"name": "os"}})
    assert not marker.exists()


def _dataclasses_in(cls: type, seen: set[type]) -> set[type]:
    """Every dataclass that a value of `cls` may hold, itself included (by type hints)."""
    import dataclasses
    import typing

    if cls in seen or not dataclasses.is_dataclass(cls):
        return seen
    seen.add(cls)
    for hint in typing.get_type_hints(cls).values():
        args = typing.get_args(hint)  # X | None, tuple[X, ...]: and one level further in
        for found in (hint, *args, *(inner for arg in args for inner in typing.get_args(arg))):
            if isinstance(found, type):
                _dataclasses_in(found, seen)
    return seen


def test_every_dataclass_an_event_holds_can_be_cached():
    """Bug: OccurrenceChange was missing, so no series with `changes:` was ever cached, and
    one such file turned every rebuild of its site into a full build."""
    from pipeline.cache.codec import CLASSES
    from pipeline.model import Event

    held = _dataclasses_in(Event, set())
    assert {cls.__name__ for cls in held} >= {"Event", "Recurrence", "OccurrenceChange"}
    assert held <= set(CLASSES.values())


def test_a_series_with_changed_occurrences_round_trips(settings):
    path = ROOT / "tests/fixtures/series/moved-and-cancelled.yaml"
    event = load_event(path, settings, [])
    assert event is not None and len(event.recurrence.changes) == 2
    back = decode(json.loads(json.dumps(encode(event))))
    assert back == event
    assert vevent_bytes(back, settings) == vevent_bytes(event, settings)
