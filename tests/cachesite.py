"""A small site for the build cache's tests, and its builds: warm (cached) and cold."""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
from pathlib import Path

from pipeline.build import build_site
from pipeline.cache import cache_dir_for
from pipeline.calendar.stamps import LEDGER_FILE

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
FILES = {
    "pipeline.yaml": """\
        site_name: Cache Test
        base_url: https://events.example.org/
        feeds:
          - id: korea
            name: Korea
            tags: [korea]
        """,
    "events/seoul-meetup.yaml": """\
        title: Seoul meetup 서울
        kind: meetup
        start: 2025-04-10 19:00
        duration: 2h
        timezone: Asia/Seoul
        tags: [korea]
        """,
    "events/2025/paris-docathon.yaml": """\
        title: Paris docathon
        kind: docathon
        start: 2025-03-29
        end: 2025-03-30
        timezone: Europe/Paris
        """,
    "events/2025/weekly-call.yaml": """\
        title: Weekly call
        kind: meeting
        start: 2025-01-08 17:00
        duration: 1h
        timezone: America/Los_Angeles
        recurrence:
          rule: FREQ=WEEKLY;BYDAY=WE;COUNT=20
        """,
    "events/past-conference.yaml": """\
        title: Past conference
        kind: conference
        start: 2025-01-15 09:00
        end: 2025-01-15 18:00
        timezone: Europe/London
        summary: Talks and posters.
        """,
    "newsletters/2025-q1.yaml": """\
        title: Q1 2025
        date: 2025-02-15
        period: {from: 2025-01-01, to: 2025-01-31}
        """,
}


def build(out: str = "output", now: dt.datetime = NOW) -> dict[str, bytes]:
    """`pipeline build` of the working directory; every published file's bytes."""
    build_site(Path("events"), Path("newsletters"), Path(out), now, Path("pipeline.yaml"),
               quiet=True, site=Path("."))  # the site's own templates/ (a copy) are used
    root = Path(out)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def cold_build(now: dt.datetime = NOW) -> dict[str, bytes]:
    """The same build from nothing: a fresh publish root with a fresh cache beside it."""
    shutil.rmtree("cold", ignore_errors=True)
    # Its cache is keyed by the root's path, outside it: left, the "cold" builds of one test
    # shared their parsed events, VEVENTs and zones, and could hide a cache's mistake.
    cache = cache_dir_for(Path("cold/output"))
    if cache is not None:
        shutil.rmtree(cache, ignore_errors=True)
    # ...but the warm root's publication ledger: stamps are state of the publish root, not cache.
    Path("cold/output").mkdir(parents=True)
    if Path("output", LEDGER_FILE).exists():
        shutil.copy2(Path("output", LEDGER_FILE), Path("cold/output", LEDGER_FILE))
    return build("cold/output", now)



def make_site(folder: Path) -> Path:
    """FILES and the project's templates written into `folder`."""
    for relative, text in FILES.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    shutil.copytree(ROOT / "templates", folder / "templates")
    return folder


def forget_last_run(out: str = "output") -> None:
    """Delete the last build's record, so that the next build loads its events through the cache
    (else an unchanged build stops at the stats: pipeline/cache/run.py)."""
    from pipeline.cache import cache_dir_for
    from pipeline.cache.run import RUN

    (cache_dir_for(Path(out)) / RUN).unlink(missing_ok=True)



def rebuild(*seen: list[str], now: dt.datetime = NOW) -> dict[str, bytes]:
    """A build through the cache (not the no-op record), after forgetting what spies saw."""
    for spied in seen:
        spied.clear()
    forget_last_run()
    return build(now=now)


def publish_elsewhere(path: str, data: bytes, out: str = "output") -> None:
    """Replace a published file as a build of other input would: the file and its manifest entry."""
    import hashlib
    import json

    from pipeline.publish.manifest import MANIFEST

    Path(out, path).write_bytes(data)
    manifest = json.loads(Path(out, MANIFEST).read_bytes())
    for entry in manifest["artifacts"]:
        if entry["path"] == path:
            entry["sha256"], entry["bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    Path(out, MANIFEST).write_text(json.dumps(manifest))
