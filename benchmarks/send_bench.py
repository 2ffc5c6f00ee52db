"""Measure `pipeline send` to a large list against a local SMTP server (aiosmtpd); print figures.

The bundled issue is built, an aiosmtpd server that accepts and discards every message runs
in its own process on 127.0.0.1, and `pipeline send --rate 0` mails the list from a fresh
interpreter, so wall time and peak RSS are the send's own.

    python benchmarks/send_bench.py                 # 10,000 addresses
    python benchmarks/send_bench.py --count 1000
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOW = "2025-01-06T09:00:00Z"  # the bundled recap's publication day
SERVER = """
import sys
from aiosmtpd.controller import Controller

class Discard:
    count = 0
    async def handle_DATA(self, server, session, envelope):
        Discard.count += 1
        return "250 OK"

controller = Controller(Discard(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
controller.stop()
print(Discard.count, flush=True)
"""


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(argv: list[str] | None = None) -> dict[str, float]:
    """Build, serve, send; the figures as a dict (also printed)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="addresses in the list")
    args = parser.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="send-bench-") as work_dir:
        work = Path(work_dir)
        subprocess.run([sys.executable, "-m", "pipeline", "build", "--quiet",
                        "--events", str(ROOT / "events"),
                        "--newsletters", str(ROOT / "newsletters"),
                        "--config", str(ROOT / "pipeline.yaml"), "--out", str(work / "output"),
                        "--now", NOW], check=True, env=env, cwd=ROOT)  # templates/ is found there
        issue = sorted(p.parent.name for p in (work / "output/newsletter").glob("*/message.eml"))[-1]
        size = (work / "output/newsletter" / issue / "message.eml").stat().st_size
        (work / "list.txt").write_text("".join(f"reader{n}@example.org\n"
                                               for n in range(args.count)))
        port = free_port()
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, env=env)
        assert server.stdout is not None and server.stdin is not None
        server.stdout.readline()  # "ready"
        started = time.perf_counter()
        send = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "send", issue, "--smtp", f"127.0.0.1:{port}",
             "--list", str(work / "list.txt"), "--rate", "0", "--out", str(work / "output"),
             "--ledger", str(work / "ledger"), "--unsubscribe-url",
             "https://example.org/unsubscribe?email={email}"],
            env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(send.pid, 0)
        seconds = time.perf_counter() - started
        summary = send.stdout.read().decode().strip() if send.stdout else ""
        server.stdin.close()
        received = int(server.stdout.readline() or 0)
        server.wait()
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"send failed: {send.stderr.read().decode() if send.stderr else ''}")
    cpu = usage.ru_utime + usage.ru_stime
    load = os.getloadavg()[0]
    figures = {"addresses": args.count, "received": received, "seconds": seconds,
               "per_second": received / seconds, "peak_rss_mb": usage.ru_maxrss / 1024,
               "cpu_ms_per_message": 1000 * cpu / max(received, 1), "eml_bytes": size,
               "load_average": load}
    print(f"pipeline send, {args.count:,} addresses, --rate 0, aiosmtpd on 127.0.0.1 "
          f"(Python {platform.python_version()}, {os.cpu_count()} CPUs)")
    print(f"  message.eml ({issue})    {size:>10,} bytes")
    print(f"  messages received       {received:>10,}")
    print(f"  wall time               {seconds:>10.1f} s")
    print(f"  messages per second     {figures['per_second']:>10.1f}")
    print(f"  peak RSS of send        {figures['peak_rss_mb']:>10.1f} MB")
    print(f"  CPU of send per message {figures['cpu_ms_per_message']:>10.1f} ms "
          "(its own user+system time: what an idle machine would be bound by)")
    print(f"  load average at the end {load:>10.1f} (a busy machine stretches wall time)")
    print(f"  summary: {summary}")
    return figures


if __name__ == "__main__":
    run()
