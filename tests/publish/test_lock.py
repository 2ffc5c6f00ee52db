"""The publish root's lock: overlapping runs serialise, a run that cannot wait exits 75."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.errors import BuildLocked, PipelineError
from pipeline.publish.lock import LOCK_FILE, hold_lock, lock_timeout, output_lock
from pipeline.publish.manifest import MANIFEST
from pipeline.publish.writer import JOURNAL, TEMP_SUFFIX

ROOT = Path(__file__).resolve().parents[2]
# A run of the publish step as its own process, reporting errors as the CLI does.
PUBLISH_RUN = textwrap.dedent("""
    import sys
    from pathlib import Path
    from click import ClickException
    from pipeline.publish.writer import publish
    run = int(sys.argv[2])
    # Every run has different bytes and a different set of files (pruning is exercised too).
    artifacts = {f"calendar/events/e{i}.ics": f"run {run} event {i}\\n".encode() * 300
                 for i in range(150 - 20 * run)}
    artifacts["calendar/upcoming.ics"] = f"run {run}\\n".encode()
    try:
        publish(artifacts, Path(sys.argv[1]), summary=f"run {run}")
    except ClickException as error:
        error.show()
        sys.exit(error.exit_code)
""")


def start_run(out: Path, run: int, timeout: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PIPELINE_LOCK_TIMEOUT": timeout}
    return subprocess.Popen([sys.executable, "-c", PUBLISH_RUN, str(out), str(run)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_consistent(out: Path) -> int:
    """Every file and the manifest come from one single run; returns which."""
    document = json.loads((out / MANIFEST).read_bytes())
    listed = {entry["path"]: entry for entry in document["artifacts"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*")
               if p.is_file() and not p.name.startswith(".") and p.name != MANIFEST}
    assert on_disk == set(listed)
    for path, entry in listed.items():
        assert hashlib.sha256((out / path).read_bytes()).hexdigest() == entry["sha256"], path
    runs = {(out / path).read_bytes().split(b" ")[1].split(b"\n")[0] for path in listed}
    assert len(runs) == 1, runs
    run = int(runs.pop())
    assert len(listed) == 150 - 20 * run + 1
    assert not (out / JOURNAL).exists() and not list(out.rglob(f"*{TEMP_SUFFIX}"))
    return run


def test_three_concurrent_publishes_end_consistent(tmp_path: Path) -> None:
    out = tmp_path / "output"
    runs = [start_run(out, run, "30") for run in (1, 2, 3)]
    results = [(*run.communicate(timeout=120), run.returncode) for run in runs]
    for stdout, stderr, code in results:
        assert code in (0, 75), stderr
        assert "Traceback" not in stderr
        if code == 0:  # one summary line each
            assert stdout.startswith("built: run ") and stdout.count("\n") == 1
    assert [code for _, _, code in results] == [0, 0, 0]  # 30 s is plenty to wait
    assert assert_consistent(out) in (1, 2, 3)


def test_runs_wait_for_the_lock_and_one_that_cannot_wait_exits_75(tmp_path: Path) -> None:
    out = tmp_path / "output"
    out.mkdir()
    with output_lock(out, 0):
        patient = [start_run(out, run, "30") for run in (1, 2)]
        impatient = start_run(out, 3, "0.3")
        _, stderr = impatient.communicate(timeout=60)
        time.sleep(0.5)
        assert all(run.poll() is None for run in patient)  # still waiting for the lock
        assert not (out / MANIFEST).exists()
    assert impatient.returncode == 75
    assert stderr.count("\n") == 1 and "another build holds" in stderr
    assert "Traceback" not in stderr
    assert [run.wait(timeout=120) for run in patient] == [0, 0]
    assert assert_consistent(out) in (1, 2)


def test_a_killed_holder_releases_the_lock(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from pipeline.publish.lock import output_lock
        with output_lock(Path({str(tmp_path)!r}), 0):
            print("locked", flush=True)
            time.sleep(60)
    """)], env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(BuildLocked), output_lock(tmp_path, 0.1):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    with output_lock(tmp_path, 5):  # the kernel dropped the dead process's lock
        assert (tmp_path / LOCK_FILE).exists()


def test_newsletter_command_exits_75_while_a_build_holds_the_lock(tmp_path: Path) -> None:
    out = tmp_path / "output"
    (tmp_path / "events").mkdir()
    with hold_lock(out / LOCK_FILE, 0, "test"):
        result = CliRunner().invoke(cli, ["newsletter", "--from", "2025-01-01", "--to",
                                          "2025-01-31", "--events", str(tmp_path / "events"),
                                          "--out", str(out), "--now", "2025-02-01",
                                          "--lock-timeout", "0.2"])
    assert result.exit_code == 75
    assert result.output.startswith("Error: another build holds ")
    assert "gave up after waiting 0.2s" in result.output
    assert [p.name for p in out.iterdir()] == [LOCK_FILE]


def test_lock_timeout_comes_from_option_then_environment_then_default(monkeypatch) -> None:
    monkeypatch.delenv("PIPELINE_LOCK_TIMEOUT", raising=False)
    assert lock_timeout(None) == 60
    monkeypatch.setenv("PIPELINE_LOCK_TIMEOUT", "5")
    assert lock_timeout(None) == 5
    assert lock_timeout(1.5) == 1.5
    monkeypatch.setenv("PIPELINE_LOCK_TIMEOUT", "soon")
    with pytest.raises(PipelineError, match="PIPELINE_LOCK_TIMEOUT='soon' is not a number"):
        lock_timeout(None)
