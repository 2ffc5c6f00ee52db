"""The benchmark runs end to end at a tiny size; its times are never asserted."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bench


def test_benchmark_measures_every_stage_and_prints_the_targets(tmp_path, capsys):
    # A stage stuck for minutes at 20 events is a bug: the watchdog turns a hang into a failure.
    results = bench.main(["--sizes", "20", "--runs", "1", "--stage-timeout", "300",
                          "--work", str(tmp_path),
                          "--json", str(tmp_path / "bench.json")])
    assert set(results[20]) == set(bench.STAGES)
    assert all(stage["seconds"] > 0 and stage["rss"] > 0 for stage in results[20].values())
    out = capsys.readouterr().out
    assert "full build (wall)" in out and "no-op rebuild (wall)" in out
    assert "pipeline --version <= 0.3 s" in out
    assert (tmp_path / "bench.json").exists()
    # Cold builds move old outputs aside; they are deleted once, after the last measurement.
    assert not (tmp_path / bench.TRASH).exists()
    assert not (tmp_path / "n20" / "output").exists()
