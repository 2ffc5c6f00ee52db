"""The benchmark's synthetic data: deterministic, valid, and as varied as the issue asks."""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline.build import load_inputs

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from synthetic import generate


def test_generated_site_loads_without_problems(tmp_path):
    root = generate(tmp_path, 60)
    events, issues, settings = load_inputs(root / "events", root / "newsletters",
                                           root / "pipeline.yaml")
    assert len(events) == 60 and len(issues) == 2
    assert {feed.id for feed in settings.feeds} >= {"conferences", "korea", "online"}
    assert sum(e.all_day for e in events) >= 3
    assert sum(e.recurrence is not None for e in events) >= 3
    assert len({e.timezone for e in events if e.timezone}) >= 6
    assert any(not t.isascii() for e in events for t in (e.title, e.summary or ""))
    assert (root / "templates" / "email").is_dir()


def test_generation_is_deterministic(tmp_path):
    first = generate(tmp_path / "a", 25)
    second = generate(tmp_path / "b", 25)
    files = sorted(p.relative_to(first) for p in first.rglob("*.yaml"))
    assert files == sorted(p.relative_to(second) for p in second.rglob("*.yaml"))
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)


def test_event_files_are_about_900_bytes(tmp_path):
    sizes = [p.stat().st_size for p in generate(tmp_path, 200).glob("events/**/*.yaml")]
    assert 700 <= sum(sizes) / len(sizes) <= 1200
