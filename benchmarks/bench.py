"""Benchmark the pipeline at 1k/10k/100k synthetic events against its floor; print a table.

The floor is what the build cannot avoid: reading every file with PyYAML's C loader and
serializing every event once with icalendar. Each stage runs in a fresh interpreter so
that its peak RSS is its own. Times are medians of --runs runs (wall clock).

    python benchmarks/bench.py                 # 1k, 10k and 100k (minutes on 2 cores)
    python benchmarks/bench.py --quick         # 1k only
    python benchmarks/bench.py --sizes 1000,10000 --runs 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from synthetic import BENCH_NOW, generate  # noqa: E402

CACHE_HOME = ".cache-home"  # the builds' $XDG_CACHE_HOME, beside events/; moved away when cold
TRASH = ".trash"  # in the work folder: what cold builds moved away, deleted at the end
STAGES = ("floor", "load", "feeds", "newsletter", "build", "noop", "edit", "add", "delete",
          "version")
REBUILDS = ("noop", "edit", "add", "delete")  # a build after a cold one, and a change
LABELS = {"floor": "floor: C YAML + icalendar (wall)", "floor_yaml": "  floor: C YAML load",
          "floor_ical": "  floor: icalendar to_ical", "load": "load+validate",
          "feeds": "feeds render", "newsletter": "newsletter render",
          "build": "full build (wall)", "build_publish": "  as its summary line says",
          "noop": "no-op rebuild (wall)", "edit": "rebuild after one edit (wall)",
          "add": "rebuild after one added file", "delete": "rebuild after one deletion",
          "version": "pipeline --version (wall)"}

# A stuck stage must end the run, not hang make bench or the test suite: seconds per process.
STAGE_TIMEOUT = {"seconds": 3600.0}
# --delete-before-cold: delete old outputs right before each cold build, as the benchmark
# did until 2026-11-26, to see what that costs on this disk (see `discard`).
DELETE_BEFORE_COLD = {"on": False}
RATIO_TO = {"load": "floor_yaml", "feeds": "floor_ical", "build": "seconds", "noop": "seconds",
            "edit": "seconds", "add": "seconds", "delete": "seconds"}


# ---- stages, run inside a fresh interpreter (`bench.py --stage NAME --root DIR`) ----

def _load(root: Path):
    from pipeline.build import load_inputs
    return load_inputs(root / "events", root / "newsletters", root / "pipeline.yaml")


def _now() -> dt.datetime:
    return dt.datetime.fromisoformat(BENCH_NOW.replace("Z", "+00:00"))


def stage_load(root: Path) -> dict:
    """Seconds to read and validate settings, events and issues."""
    start = time.perf_counter()
    events, _, _ = _load(root)
    return {"seconds": time.perf_counter() - start, "events": len(events)}


def stage_feeds(root: Path) -> dict:
    """Seconds to render every calendar file from loaded events."""
    from pipeline.calendar.feeds import render_calendars
    events, _, settings = _load(root)
    start = time.perf_counter()
    files = render_calendars(events, settings, _now())
    return {"seconds": time.perf_counter() - start, "files": len(files),
            "bytes": sum(map(len, files.values()))}


def stage_newsletter(root: Path) -> dict:
    """Seconds to render every newsletter issue from loaded events."""
    from pipeline.newsletter.issues import render_newsletters
    events, issues, settings = _load(root)
    start = time.perf_counter()
    files = render_newsletters(events, issues, settings, _now())
    return {"seconds": time.perf_counter() - start, "files": len(files)}


def stage_floor(root: Path) -> dict:
    """The floor: C-loader YAML of every file, then one icalendar serialization of them all."""
    import zoneinfo

    import icalendar
    import yaml

    start = time.perf_counter()
    paths = sorted((root / "events").rglob("*.yaml"))
    data = [yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader) for path in paths]
    loaded = time.perf_counter()
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//bench//floor//EN")
    calendar.add("version", "2.0")
    stamp = _now()
    for path, item in zip(paths, data, strict=True):
        calendar.add_component(_floor_vevent(icalendar, zoneinfo, path.stem, item, stamp))
    size = len(calendar.to_ical())
    done = time.perf_counter()
    return {"seconds": done - start, "floor_yaml": loaded - start, "floor_ical": done - loaded,
            "bytes": size}


def _floor_vevent(icalendar, zoneinfo, uid: str, item: dict, stamp: dt.datetime):
    """A VEVENT with the properties a feed carries, built straight from the YAML values."""
    event = icalendar.Event()
    event.add("uid", f"{item.get('id', uid)}@events.example.org")
    event.add("dtstamp", stamp)
    event.add("summary", item["title"])
    start = dt.datetime.fromisoformat(str(item["start"]))
    if len(str(item["start"])) == 10:
        event.add("dtstart", start.date())
        last = dt.date.fromisoformat(str(item.get("end", item["start"])))
        event.add("dtend", last + dt.timedelta(days=1))
    else:
        zone = zoneinfo.ZoneInfo(item["timezone"])
        event.add("dtstart", start.replace(tzinfo=zone))
        if "end" in item:
            event.add("dtend", dt.datetime.fromisoformat(str(item["end"])).replace(tzinfo=zone))
        else:
            event.add("duration", dt.timedelta(hours=1))
    if "recurrence" in item:
        event.add("rrule", icalendar.vRecur.from_ical(item["recurrence"]["rule"]))
    event.add("status", str(item.get("status", "confirmed")).upper())
    location = item.get("location")
    if location:
        event.add("location", location if isinstance(location, str) else ", ".join(
            str(v) for k, v in location.items() if k in ("name", "address", "city", "country")))
    if "url" in item:
        event.add("url", item["url"])
    event.add("description", " ".join(str(item.get("summary", "")).split()))
    event.add("categories", [item["kind"]])
    return event


def run_stage_in_process(name: str, root: Path) -> None:
    """`--stage`: run one stage here and print its result as JSON."""
    result = {"floor": stage_floor, "load": stage_load, "feeds": stage_feeds,
              "newsletter": stage_newsletter}[name](root)
    print(json.dumps(result))


# ---- the driver ----

def child_env(cwd: Path) -> dict[str, str]:
    """The environment of every measured process: bytecode caching on, as an installed package
    has, and the build cache in the site's folder (so that `cold` can move it away)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["XDG_CACHE_HOME"] = str(Path(cwd).resolve() / CACHE_HOME)
    return env


def measure(argv: list[str], cwd: Path) -> tuple[float, float, str, float]:
    """Run argv; its wall seconds, peak RSS in MB and stdout, and CPU seconds (wait4).

    wait4's usage covers the process and the children it waited for (the build's workers);
    the peak RSS is that of the largest single process.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err, env=child_env(cwd))
        watchdog = threading.Timer(STAGE_TIMEOUT["seconds"], process.kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            watchdog.cancel()
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {process.returncode}:\n{stderr[-2000:]}")
    return wall, usage.ru_maxrss / 1024, stdout, usage.ru_utime + usage.ru_stime


def pipeline_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline", *args]


def build_argv(root: Path) -> list[str]:
    return pipeline_argv("build", "--events", "events", "--newsletters", "newsletters",
                         "--out", "output", "--config", "pipeline.yaml", "--now", BENCH_NOW)


def version_argv() -> list[str]:
    script = Path(sys.executable).with_name("pipeline")
    return [str(script), "--version"] if script.exists() else pipeline_argv("--version")


def discard(path: Path, trash: Path) -> None:
    """Move `path` into `trash`, emptied only after the last measurement.

    Deleting 10k files right before a build slows that build's file creation on a journal-less
    ext4 (like this VM's disk): for a minute or more after a deletion, the kernel's inode
    allocator skips each recently freed inode with a check of its own (`recently_deleted` in
    fs/ext4/ialloc.c, seen with `perf record`), which cost the next 10k creates 1 to 4 s of
    system time. A cron box does not delete its output before each build; the benchmark
    must not make its builds pay for its own set-up either.
    """
    if path.exists() and DELETE_BEFORE_COLD["on"]:
        shutil.rmtree(path)
    elif path.exists():
        trash.mkdir(exist_ok=True)
        path.rename(Path(tempfile.mkdtemp(dir=trash)) / path.name)


def empty_trash(work: Path) -> None:
    shutil.rmtree(work / TRASH, ignore_errors=True)


def cold(root: Path) -> None:
    """Move the publish root and the cache away: the next build starts from nothing."""
    discard(root / "output", root.parent / TRASH)
    discard(root / CACHE_HOME, root.parent / TRASH)
    os.sync()  # pending writeback of earlier runs is set-up, not the next build's work


def change(stage: str, root: Path):
    """Make the one change a rebuild stage measures; return what undoes it."""
    files = sorted((root / "events").rglob("*.yaml"))
    chosen = files[len(files) // 2]
    original = chosen.read_bytes()
    if stage == "edit":  # a title edited: one event's files, its feeds, the manifest, the ledger
        chosen.write_bytes(original.replace(b"title: ", b"title: Edited ", 1))
        return lambda: chosen.write_bytes(original)
    if stage == "add":
        added = chosen.with_name("bench-added-" + chosen.name)
        added.write_bytes(original)
        return added.unlink
    if stage == "delete":
        chosen.unlink()
        return lambda: chosen.write_bytes(original)
    return lambda: None


def run_once(stage: str, root: Path) -> dict:
    """One measurement of `stage`: seconds, peak RSS (MB) and stage details."""
    if stage in ("build", *REBUILDS):
        if stage == "build":
            cold(root)
        else:
            # After the cold build: an unmeasured build brings the output up to date with
            # the input (the last stage undid its change); then the change, then the measure.
            measure(build_argv(root), root)
        undo = change(stage, root)
        try:
            wall, rss, stdout, cpu = measure(build_argv(root), root)
        finally:
            undo()
        # The summary line ends "... in 2.85s": the run's own time as the build measured it.
        publish = re.search(r" in ([0-9.]+)s$", stdout.strip())
        return {"seconds": wall, "rss": rss, "cpu": cpu,
                "publish": float(publish.group(1)) if publish else None}
    if stage == "version":
        wall, rss, _, cpu = measure(version_argv(), root)
        return {"seconds": wall, "rss": rss, "cpu": cpu}
    wall, rss, stdout, cpu = measure([sys.executable, str(Path(__file__).resolve()), "--stage",
                                      stage, "--root", str(root)], root)
    result = json.loads(stdout)
    if stage == "floor":  # compared with wall-clock builds, so the floor includes start-up too
        result["seconds"] = wall
    return {**result, "rss": rss, "cpu": cpu}


def bench_size(count: int, runs: int, work: Path, log, stages: tuple[str, ...] = STAGES) -> dict:
    """Generate `count` events and measure every stage `runs` times; medians per stage."""
    root = work / f"n{count}"
    discard(root, work / TRASH)
    started = time.perf_counter()
    generate(root, count)
    log(f"[{count:,}] generated in {time.perf_counter() - started:.1f} s; measuring...")
    results: dict = {}
    for stage in (stage for stage in STAGES if stage in stages):
        samples = []
        for _ in range(runs):
            try:
                samples.append(run_once(stage, root))
            except (RuntimeError, json.JSONDecodeError) as error:
                log(f"[{count:,}] {stage}: not measured: {str(error).splitlines()[-1]}")
                break
        if not samples:
            continue
        merged = {"seconds": statistics.median(s["seconds"] for s in samples),
                  "cpu": statistics.median(s["cpu"] for s in samples),
                  "rss": max(s["rss"] for s in samples), "runs": len(samples)}
        for key in ("floor_yaml", "floor_ical", "publish"):
            if samples[0].get(key) is not None:
                merged[key] = statistics.median(s[key] for s in samples)
        results[stage] = merged
        log(f"[{count:,}] {stage}: {merged['seconds']:.3f} s wall, {merged['cpu']:.3f} s CPU, "
            f"{merged['rss']:.0f} MB")
    cold(root)
    return results


def machine() -> str:
    """nproc, CPU model and RAM, for the report."""
    cpu = platform.processor() or "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                   .splitlines() if line.startswith("model name"))
        kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
        ram = f"{kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, StopIteration):
        ram = "RAM unknown"
    return (f"{os.cpu_count()} CPUs ({cpu}), {ram}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def table(results: dict[int, dict]) -> str:
    """Seconds (and ratio to the floor) per stage and size, then peak RSS."""
    sizes = sorted(results)
    rows = [["stage", *(f"N={n:,}" for n in sizes)]]
    for key in ("floor", "floor_yaml", "floor_ical", "load", "feeds", "newsletter", "build",
                "build_publish", *REBUILDS, "version"):
        row = [LABELS[key]]
        for n in sizes:
            stages, floor = results[n], results[n].get("floor", {})
            value = (floor.get(key) if key.startswith("floor_") else
                     stages.get("build", {}).get("publish") if key == "build_publish" else
                     stages.get(key, {}).get("seconds"))
            # In-process stages compare with their in-process part of the floor.
            reference = floor.get(RATIO_TO.get(key, ""))
            if value is None:
                row.append("n/a")
            elif reference:
                row.append(f"{value:.3f} s ({value / reference:.2f}x)")
            else:
                row.append(f"{value:.3f} s")
        rows.append(row)
    for key in ("floor", "build", *REBUILDS):
        row = [f"CPU: {LABELS[key].split(' (')[0]}"]
        for n in sizes:
            value, floor = (results[n].get(k, {}).get("cpu") for k in (key, "floor"))
            row.append("n/a" if value is None else f"{value:.3f} s" + (
                f" ({value / floor:.2f}x)" if floor and key != "floor" else ""))
        rows.append(row)
    for key in ("floor", "build"):
        rows.append([f"peak RSS: {LABELS[key].split(' (')[0]}",
                     *(f"{results[n][key]['rss']:.0f} MB" if key in results[n] else "n/a"
                       for n in sizes)])
    return _format(rows)


def targets(results: dict[int, dict]) -> list[tuple[str, str, str, str]]:
    """The issue's targets: (target, measured, limit, PASS/FAIL/skipped)."""

    def get(n: int, stage: str, key: str = "seconds") -> float | None:
        return results.get(n, {}).get(stage, {}).get(key)

    checks = []
    floor10 = get(10_000, "floor")
    for stage, limit, name in (("build", 1.5, "full build 10k <= 1.5x floor"),
                               ("build", 0.8, "cold build 10k <= 0.8x floor (issue 17)"),
                               ("noop", 0.05, "no-op rebuild 10k <= 0.05x floor"),
                               ("edit", 0.1, "one-edit rebuild 10k <= 0.1x floor"),
                               ("add", 0.1, "one-add rebuild 10k <= 0.1x floor"),
                               ("delete", 0.1, "one-delete rebuild 10k <= 0.1x floor")):
        value = get(10_000, stage)
        ratio = value / floor10 if value is not None and floor10 else None
        # Wall clock, as the issue sets them; the CPU rows of the table show the cores' share.
        checks.append((name, ratio, limit, "x"))
    big, small = get(100_000, "build"), get(10_000, "build")
    checks.append(("full build 100k / 10k <= 12x", big / small if big and small else None, 12, "x"))
    for stage in REBUILDS:  # cost follows the change, not the site
        big, small = get(100_000, stage), get(10_000, stage)
        checks.append((f"{stage} rebuild 100k / 10k <= 3x", big / small if big and small else None,
                       3, "x"))
    rss = get(100_000, "build", "rss")
    checks.append(("peak RSS of the 100k build <= 1 GB", rss, 1024, " MB"))
    version = [get(n, "version") for n in sorted(results) if get(n, "version") is not None]
    checks.append(("pipeline --version <= 0.3 s", statistics.median(version) if version else None,
                   0.3, " s"))
    return [(name, "n/a" if value is None else f"{value:.2f}{unit}", f"{limit}{unit}",
             "skipped" if value is None else ("PASS" if value <= limit else "FAIL"))
            for name, value, limit, unit in checks]


def _format(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def main(argv: list[str] | None = None) -> dict:
    """Parse arguments, run the benchmark, print the table and the targets."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="comma-separated event counts (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="1,000 events only")
    parser.add_argument("--stages", default=",".join(STAGES),
                        help="comma-separated stages to measure (default: all)")
    parser.add_argument("--runs", type=int, default=None,
                        help="runs per stage; default 3, and 1 from 100k events")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for generated data (default: a temporary folder)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--stage-timeout", type=float, default=STAGE_TIMEOUT["seconds"],
                        help="kill a measured process after this many seconds "
                        "(default: %(default)s)")
    parser.add_argument("--delete-before-cold", action="store_true",
                        help="delete the previous output right before each cold build instead "
                        "of moving it aside (shows what a fresh deletion costs on this disk)")
    parser.add_argument("--stage", choices=("floor", "load", "feeds", "newsletter"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    STAGE_TIMEOUT["seconds"] = args.stage_timeout
    DELETE_BEFORE_COLD["on"] = args.delete_before_cold
    if args.stage:
        run_stage_in_process(args.stage, args.root)
        return {}
    sizes = [1000] if args.quick else [int(s.replace("_", "")) for s in args.sizes.split(",")]

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    # Warm-up: compile bytecode once so that no measured process pays for it.
    measure(version_argv(), HERE)
    results: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as temporary:
        work = args.work or Path(temporary)
        for count in sizes:
            runs = args.runs or (3 if count < 100_000 else 1)
            results[count] = bench_size(count, runs, work, log, tuple(args.stages.split(",")))
        empty_trash(work)
    print(f"\nmachine: {machine()}; load average {os.getloadavg()[0]:.2f} (1 min)\n"
          f"now pinned to {BENCH_NOW}; times are medians (wall clock unless CPU); ratios are to "
          "the floor of the same N\n")
    print(table(results))
    print()
    print(_format([["target", "measured", "limit", "result"],
                   *[list(check) for check in targets(results)]]))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results,
                                         "targets": targets(results)}, indent=2))
    return results


if __name__ == "__main__":
    main()
