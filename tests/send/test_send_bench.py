"""The send benchmark runs end to end at a tiny size; its times are never asserted."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import send_bench


def test_send_benchmark_mails_every_address_and_prints_its_figures(capsys) -> None:
    figures = send_bench.run(["--count", "5"])
    assert figures["received"] == 5
    assert figures["seconds"] > 0 and figures["peak_rss_mb"] > 0
    out = capsys.readouterr().out
    assert "messages per second" in out and "peak RSS of send" in out
    assert "sent: 2024-recap: 5 sent" in out
