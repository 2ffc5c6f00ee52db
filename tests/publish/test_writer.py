"""The publish step: atomic writes, no churn, pruning, manifest, crash safety, reporting."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from pipeline.cli import cli
from pipeline.errors import PipelineError
from pipeline.publish.manifest import MANIFEST, content_type
from pipeline.publish.paths import is_safe, validate_paths
from pipeline.publish.writer import JOURNAL, TEMP_SUFFIX, publish

ROOT = Path(__file__).resolve().parents[2]
OLD = {
    "calendar/upcoming.ics": b"BEGIN:VCALENDAR\r\nX-OLD:1\r\nEND:VCALENDAR\r\n",
    "calendar/events/a.ics": b"A old",
    "calendar/events/b.ics": b"B old",
    "newsletter/index.html": b"<html>old</html>",
    "newsletter/2024-recap/message.eml": b"Subject: old\r\n\r\nold\r\n",
}
NEW = {
    "calendar/upcoming.ics": b"BEGIN:VCALENDAR\r\nX-NEW:2\r\nEND:VCALENDAR\r\n",
    "calendar/events/a.ics": b"A old",  # unchanged
    "calendar/events/c.ics": b"C new",  # added; b.ics is gone
    "newsletter/index.html": b"<html>new</html>",
    "newsletter/2024-recap/message.eml": b"Subject: new\r\n\r\nnew\r\n",
    "newsletter/feed.xml": b"<feed/>",
}


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under root (dot-files too): bytes and nanosecond mtime."""
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def published(root: Path) -> dict[str, bytes]:
    """The visible artifacts: every file except the manifest and dot-files."""
    return {path: data for path, (data, _) in snapshot(root).items()
            if path != MANIFEST and not any(part.startswith(".") for part in path.split("/"))}


def manifest(root: Path) -> dict[str, dict]:
    document = json.loads((root / MANIFEST).read_bytes())
    return {entry["path"]: entry for entry in document["artifacts"]}


def assert_manifest_describes(root: Path, artifacts: dict[str, bytes],
                              kept: set[str] = frozenset()) -> None:
    listed = manifest(root)
    assert sorted(listed) == sorted(artifacts)
    for path, data in artifacts.items():
        assert listed[path] == {"path": path, "bytes": len(data), "content_type": content_type(path),
                                "sha256": hashlib.sha256(data).hexdigest(),
                                **({"kept": True} if path in kept else {})}


def test_first_publish_writes_every_artifact_and_a_manifest(tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = publish(OLD, out, quiet=True)
    assert published(out) == OLD
    assert_manifest_describes(out, OLD)
    assert sorted(report.written) == sorted(OLD)
    assert (report.unchanged, report.removed) == ([], [])


def test_manifest_gives_content_types_a_web_server_needs(tmp_path: Path) -> None:
    publish(NEW, tmp_path, quiet=True)
    types = {path: entry["content_type"] for path, entry in manifest(tmp_path).items()}
    assert types["calendar/upcoming.ics"] == "text/calendar; charset=utf-8"
    assert types["newsletter/index.html"] == "text/html; charset=utf-8"
    assert types["newsletter/2024-recap/message.eml"] == "message/rfc822"
    assert types["newsletter/feed.xml"] == "application/atom+xml"
    assert content_type("newsletter/x/index.txt") == "text/plain; charset=utf-8"
    assert content_type("newsletter/x/message.json") == "application/json"


def test_second_publish_of_same_artifacts_keeps_bytes_and_mtimes(tmp_path: Path) -> None:
    publish(OLD, tmp_path, quiet=True)
    before = snapshot(tmp_path)
    report = publish(dict(reversed(OLD.items())), tmp_path, quiet=True)
    assert snapshot(tmp_path) == before  # bytes and mtime of every file, manifest included
    assert report.written == [] and report.removed == []
    assert sorted(report.unchanged) == sorted(OLD)


def test_only_changed_files_are_rewritten(tmp_path: Path) -> None:
    publish(OLD, tmp_path, quiet=True)
    before = snapshot(tmp_path)
    report = publish(NEW, tmp_path, quiet=True)
    after = snapshot(tmp_path)
    assert after["calendar/events/a.ics"] == before["calendar/events/a.ics"]
    assert sorted(report.written) == sorted(p for p in NEW if p != "calendar/events/a.ics")
    assert report.unchanged == ["calendar/events/a.ics"]


def test_removed_artifact_disappears_and_manifest_follows(tmp_path: Path) -> None:
    publish(OLD, tmp_path, quiet=True)
    report = publish(NEW, tmp_path, quiet=True)
    assert report.removed == ["calendar/events/b.ics"]
    assert not (tmp_path / "calendar/events/b.ics").exists()
    assert published(tmp_path) == NEW
    assert_manifest_describes(tmp_path, NEW)


def test_emptied_folders_of_a_removed_issue_go_too(tmp_path: Path) -> None:
    publish(OLD, tmp_path, quiet=True)
    without_issue = {p: d for p, d in OLD.items() if not p.startswith("newsletter/2024-recap/")}
    publish(without_issue, tmp_path, quiet=True)
    assert not (tmp_path / "newsletter/2024-recap").exists()
    assert (tmp_path / "newsletter").is_dir()


def test_files_the_pipeline_never_published_are_never_deleted(tmp_path: Path) -> None:
    (tmp_path / "calendar/events").mkdir(parents=True)
    (tmp_path / "calendar/events/hand-made.ics").write_bytes(b"mine")
    (tmp_path / "robots.txt").write_bytes(b"User-agent: *")
    publish(OLD, tmp_path, quiet=True)
    publish({"calendar/upcoming.ics": b"x"}, tmp_path, quiet=True)
    assert (tmp_path / "calendar/events/hand-made.ics").read_bytes() == b"mine"
    assert (tmp_path / "robots.txt").read_bytes() == b"User-agent: *"
    assert list(manifest(tmp_path)) == ["calendar/upcoming.ics"]


def test_tampered_manifest_cannot_delete_outside_the_root(tmp_path: Path) -> None:
    out = tmp_path / "out"
    victim = tmp_path / "precious.txt"
    victim.write_bytes(b"keep")
    publish(OLD, out, quiet=True)
    document = json.loads((out / MANIFEST).read_bytes())
    document["artifacts"].append({"path": "../precious.txt"})
    (out / MANIFEST).write_text(json.dumps(document))
    publish(NEW, out, quiet=True)
    assert victim.read_bytes() == b"keep"


def test_unreadable_manifest_prunes_nothing_and_is_rewritten(tmp_path: Path, capsys) -> None:
    publish(OLD, tmp_path, quiet=True)
    (tmp_path / MANIFEST).write_text("{not json")
    publish(NEW, tmp_path, quiet=True)
    assert (tmp_path / "calendar/events/b.ics").read_bytes() == b"B old"
    assert_manifest_describes(tmp_path, NEW)
    assert "manifest.json is unreadable" in capsys.readouterr().err


ADHOC = {"newsletter/events-2025-01-01-to-2025-01-31/index.html": b"<html>adhoc</html>",
         "newsletter/events-2025-01-01-to-2025-01-31/message.eml": b"Subject: adhoc\r\n\r\n"}


def test_without_prune_nothing_is_removed_and_manifest_merges(tmp_path: Path) -> None:
    publish(OLD, tmp_path, quiet=True)
    report = publish(ADHOC, tmp_path, quiet=True, prune=False)
    assert report.removed == []
    assert published(tmp_path) == {**OLD, **ADHOC}
    assert_manifest_describes(tmp_path, {**OLD, **ADHOC}, kept=set(ADHOC))


def test_adhoc_issue_survives_later_builds_until_deleted_by_hand(tmp_path: Path) -> None:
    publish(OLD, tmp_path, quiet=True)
    publish(ADHOC, tmp_path, quiet=True, prune=False)  # `pipeline newsletter --from --to`
    report = publish(NEW, tmp_path, quiet=True)  # the hourly `pipeline build`
    assert report.removed == ["calendar/events/b.ics"]
    assert published(tmp_path) == {**NEW, **ADHOC}
    assert_manifest_describes(tmp_path, {**NEW, **ADHOC}, kept=set(ADHOC))
    shutil.rmtree(tmp_path / "newsletter/events-2025-01-01-to-2025-01-31")  # the user's choice
    publish(NEW, tmp_path, quiet=True)
    assert_manifest_describes(tmp_path, NEW)


def test_manifest_is_deterministic_and_never_lists_state_files(tmp_path: Path) -> None:
    publish(OLD, tmp_path / "one", quiet=True)
    publish(dict(sorted(OLD.items(), reverse=True)), tmp_path / "two", quiet=True)
    assert (tmp_path / "one" / MANIFEST).read_bytes() == (tmp_path / "two" / MANIFEST).read_bytes()
    assert (tmp_path / "one" / ".pipeline.lock").exists()  # the lock is a dot-file beside them
    assert not any(path.startswith(".") or path == MANIFEST for path in manifest(tmp_path / "one"))
    assert not (tmp_path / "one" / JOURNAL).exists()


@pytest.mark.parametrize("bad", ["../escape.ics", "/etc/passwd", ".htaccess", "calendar/.hidden",
                                 "calendar//x.ics", "calendar/./x.ics", MANIFEST, "a\\..\\b", "",
                                 "calendar/x.ics\n"])  # `$` once let a final newline through
def test_unsafe_paths_are_refused_before_anything_is_written(tmp_path: Path, bad: str) -> None:
    with pytest.raises(PipelineError, match="not a safe relative path"):
        publish({"calendar/upcoming.ics": b"x", bad: b"y"}, tmp_path / "out", quiet=True)
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "escape.ics").exists()


@given(st.sets(st.lists(st.sampled_from(["a", "b", "e.ics"]), min_size=1, max_size=3)
               .map("/".join), max_size=6), st.sampled_from(["", "..", ".d/x", "a/../b"]))
def test_path_check_refuses_what_a_check_of_every_prefix_refuses(paths: set[str],
                                                                 unsafe: str) -> None:
    # validate_paths checks clashes as set operations (200k paths at 100k events); it must
    # refuse exactly the sets that looking up every prefix of every path refuses.
    paths = paths | {unsafe} if unsafe else paths
    expected = any(not is_safe(path) or any("/".join(path.split("/")[:i]) in paths
                                             for i in range(1, path.count("/") + 1))
                   for path in paths)
    try:
        validate_paths(paths)
        refused = False
    except PipelineError:
        refused = True
    assert refused == expected


def test_file_where_a_folder_is_needed_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="needs a folder"):
        publish({"calendar": b"x", "calendar/upcoming.ics": b"y"}, tmp_path, quiet=True)


def test_published_files_are_readable_by_a_web_server(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        publish(OLD, tmp_path, quiet=True)
    finally:
        os.umask(old_umask)
    modes = {p: (tmp_path / p).stat().st_mode & 0o777 for p in [*OLD, MANIFEST]}
    assert set(modes.values()) == {0o644}


@pytest.mark.parametrize("fail_after", range(0, 9))
def test_crash_between_two_writes_leaves_previous_output_readable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_after: int) -> None:
    publish(OLD, tmp_path, quiet=True)
    old_manifest = (tmp_path / MANIFEST).read_bytes()
    real_replace = os.replace
    calls = []

    def replace_then_crash(src, dst, **dir_fds):
        if len(calls) == fail_after:
            raise OSError(28, "No space left on device")
        calls.append(dst)
        real_replace(src, dst, **dir_fds)

    monkeypatch.setattr(os, "replace", replace_then_crash)
    try:
        publish(NEW, tmp_path, quiet=True)
        crashed = False
    except PipelineError as error:  # one line, no traceback
        assert "No space left on device" in error.message
        crashed = True
    monkeypatch.setattr(os, "replace", real_replace)
    # Every file is whole: its old or its new version, and nothing half-written is visible.
    for path, data in published(tmp_path).items():
        assert data in (OLD.get(path), NEW.get(path)), path
    assert not list(tmp_path.rglob(f"*{TEMP_SUFFIX}"))
    if crashed:
        # The manifest still describes the last finished publish; what may differ from it
        # is named in the journal, so the next run knows those paths are its own.
        assert (tmp_path / MANIFEST).read_bytes() == old_manifest
        differing = {p for p, d in published(tmp_path).items() if OLD.get(p) != d}
        differing |= {p for p in OLD if not (tmp_path / p).exists()}
        if differing:
            journal = set(json.loads((tmp_path / JOURNAL).read_bytes())["paths"])
            assert differing <= journal
    publish(NEW, tmp_path, quiet=True)  # the next run repairs everything
    assert published(tmp_path) == NEW
    assert_manifest_describes(tmp_path, NEW)
    assert not (tmp_path / JOURNAL).exists()


def test_the_journal_names_what_a_run_changes_not_every_file_it_owns(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An edit of one event must not journal the site's 20k paths (0.15 s at 10k events);
    # the manifest on disk names the rest, and a crash leaves it in place.
    publish(OLD, tmp_path, quiet=True)
    real_replace = os.replace

    def crash_after_the_journal(src, dst, **dir_fds):
        if not str(dst).endswith(JOURNAL):
            raise OSError(28, "No space left on device")
        real_replace(src, dst, **dir_fds)

    monkeypatch.setattr(os, "replace", crash_after_the_journal)
    with pytest.raises(PipelineError):
        publish(NEW, tmp_path, quiet=True)
    monkeypatch.setattr(os, "replace", real_replace)
    journal = set(json.loads((tmp_path / JOURNAL).read_bytes())["paths"])
    changed = {path for path in NEW if NEW[path] != OLD.get(path)}
    assert journal == changed | {"calendar/events/b.ics"}  # not a.ics: unchanged, in the manifest
    # The next run still owns every path the old manifest and the journal name: what neither
    # build renders now is pruned, whichever of them wrote it.
    publish({"calendar/upcoming.ics": b"only"}, tmp_path, quiet=True)
    assert published(tmp_path) == {"calendar/upcoming.ics": b"only"}
    assert not (tmp_path / JOURNAL).exists()


CRASHING_PUBLISH = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from pipeline.publish.writer import publish
    artifacts = {k: v.encode("latin-1") for k, v in json.loads(sys.argv[2]).items()}
    real_replace, calls = os.replace, []
    def replace_then_die(src, dst, **dir_fds):
        if len(calls) == int(sys.argv[3]):
            os._exit(9)  # like kill -9: no cleanup, no finally blocks
        calls.append(dst)
        real_replace(src, dst, **dir_fds)
    os.replace = replace_then_die
    publish(artifacts, Path(sys.argv[1]), quiet=True)
""")


@pytest.mark.parametrize("die_after", [1, 3])
def test_killed_publish_leaves_whole_files_and_next_run_cleans_up(tmp_path: Path,
                                                                  die_after: int) -> None:
    publish(OLD, tmp_path, quiet=True)
    # The new artifacts without a.ics: the killed run owns c.ics; the next run drops it again.
    later = {p: d for p, d in NEW.items() if p != "calendar/events/c.ics"}
    encoded = json.dumps({k: v.decode("latin-1") for k, v in NEW.items()})
    result = subprocess.run([sys.executable, "-c", CRASHING_PUBLISH, str(tmp_path), encoded,
                             str(die_after)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 9, result.stderr
    for path, data in published(tmp_path).items():
        assert data in (OLD.get(path), NEW.get(path)), path
    assert json.loads((tmp_path / MANIFEST).read_bytes())  # whole and parseable
    publish(later, tmp_path, quiet=True)
    assert published(tmp_path) == later  # c.ics (written by the killed run) is pruned too
    assert_manifest_describes(tmp_path, later)
    assert not list(tmp_path.rglob(f"*{TEMP_SUFFIX}")) and not (tmp_path / JOURNAL).exists()


def test_failure_while_staging_changes_nothing(tmp_path: Path, monkeypatch) -> None:
    publish(OLD, tmp_path, quiet=True)
    before = snapshot(tmp_path)
    import pipeline.publish.writer as module
    real_stage, calls = module._stage, []

    def stage_then_fail(folders, target, data, mode, **options):
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        calls.append(target)
        return real_stage(folders, target, data, mode, **options)

    monkeypatch.setattr(module, "_stage", stage_then_fail)
    with pytest.raises(PipelineError, match="No space left on device; nothing was published"):
        publish({**NEW, "newsletter/new-issue/index.html": b"x"}, tmp_path, quiet=True)
    after = snapshot(tmp_path)
    assert {p: v for p, v in after.items() if p != ".pipeline.lock"} == \
        {p: v for p, v in before.items() if p != ".pipeline.lock"}
    assert not (tmp_path / "newsletter/new-issue").exists()


def test_one_summary_line_quiet_prints_nothing_verbose_lists_files(tmp_path: Path,
                                                                  capsys) -> None:
    publish(OLD, tmp_path, summary="5 events, 1 issues")
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert len(lines) == 1 and out.err == ""
    assert lines[0].startswith("built: 5 events, 1 issues; 5 files: 5 written, 0 unchanged, "
                               "0 removed in ")
    publish(NEW, tmp_path, summary="x", quiet=True)
    assert capsys.readouterr() == ("", "")
    publish(NEW, tmp_path, summary="x", verbose=True)
    listed = capsys.readouterr().out.splitlines()
    assert sorted(line.split()[-1] for line in listed[:-1]) == sorted(NEW)
    assert all(line.split()[0] == "unchanged" for line in listed[:-1])


BAD_EVENT = """\
title: Broken
kind: meetup
start: 2025-02-30
"""


def test_build_that_fails_on_a_bad_event_leaves_output_untouched(tmp_path: Path) -> None:
    out = tmp_path / "output"
    publish(OLD, out, quiet=True)
    before = snapshot(out)
    (tmp_path / "events").mkdir()
    (tmp_path / "events/broken.yaml").write_text(BAD_EVENT)
    result = CliRunner().invoke(cli, ["build", "--events", str(tmp_path / "events"),
                                      "--newsletters", str(tmp_path / "none"), "--out", str(out),
                                      "--now", "2025-01-06"])
    assert result.exit_code == 1
    assert "broken.yaml:3" in result.output
    assert snapshot(out) == before


def _record_durability_calls(monkeypatch) -> list[str]:
    """Spy on os.sync, os.fsync and os.replace (by target name), in call order."""
    import pipeline.publish.writer as module
    calls: list[str] = []
    real_replace, real_fsync = os.replace, os.fsync
    monkeypatch.setattr(module.os, "sync", lambda: calls.append("sync"))
    monkeypatch.setattr(module.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(module.os, "replace",
                        lambda a, b, **fds: (calls.append(f"replace {Path(b).name}"),
                                             real_replace(a, b, **fds)))
    return calls


def test_a_batch_is_made_durable_once_before_the_first_rename(tmp_path: Path, monkeypatch) -> None:
    # One fsync per file made a 10k-event cold build spend 4-26 s in fsync; one os.sync()
    # before any rename gives the same guarantee: no renamed file can be empty after a crash.
    calls = _record_durability_calls(monkeypatch)
    publish(NEW, tmp_path, quiet=True)
    first_rename = next(i for i, call in enumerate(calls)
                        if call.startswith("replace") and JOURNAL not in call)
    # Staging fsyncs nothing; then one sync; then the journal (file and folder fsynced).
    assert calls[:first_rename] == ["sync", "fsync", f"replace {JOURNAL}", "fsync"]
    assert {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("[!.]*") if p.is_file()} == {
        *NEW, MANIFEST}


def _after_last_page(calls: list[str]) -> list[str]:
    """The calls after the last page's rename, up to the manifest's staging fsync."""
    last = max(i for i, call in enumerate(calls) if call == "replace index.html")
    return calls[last + 1:calls.index(f"replace {MANIFEST}") - 1]


def test_renames_in_many_folders_are_made_durable_by_one_sync(tmp_path: Path,
                                                              monkeypatch) -> None:
    # An fsync per folder touched was 10k folder opens and 1.4 s of a 10k-event cold build.
    from pipeline.publish.writer import SYNC_FROM_FOLDERS
    calls = _record_durability_calls(monkeypatch)
    pages = {f"events/e{i}/index.html": b"page %d" % i for i in range(SYNC_FROM_FOLDERS + 1)}
    publish(pages, tmp_path, quiet=True)
    assert _after_last_page(calls) == ["sync"]
    assert (tmp_path / "events/e0/index.html").read_bytes() == b"page 0"


def test_renames_in_a_few_folders_fsync_each_of_them(tmp_path: Path, monkeypatch) -> None:
    # A delta rebuild touches a handful of folders: it does not wait for the whole
    # system's dirty data a second time.
    calls = _record_durability_calls(monkeypatch)
    publish({"events/a/index.html": b"a", "events/b/index.html": b"b"}, tmp_path, quiet=True)
    assert _after_last_page(calls) == ["fsync", "fsync"]


def test_a_folder_found_missing_then_made_by_someone_else_is_used(tmp_path: Path) -> None:
    # Folders found missing are made without being looked up again; one that appeared
    # meanwhile is opened (and checked) instead of refused.
    from pipeline.publish.folders import RootFolders
    folders = RootFolders(tmp_path)
    assert folders.fd("events/a") is None
    (tmp_path / "events/a").mkdir(parents=True)
    (tmp_path / "events/a/notes.txt").write_text("theirs")
    temp = folders.stage("events/a/index.html", b"page", 0o644, sync=False)
    folders.replace(temp, "events/a/index.html")
    folders.close()
    assert (tmp_path / "events/a/index.html").read_bytes() == b"page"
    assert (tmp_path / "events/a/notes.txt").read_text() == "theirs"
    assert folders.created == []  # not ours: a failed publish would not remove it


def test_a_folder_found_missing_then_planted_as_a_symlink_is_refused(tmp_path: Path) -> None:
    from pipeline.publish.folders import RootFolders, SymlinkInRoot
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    folders = RootFolders(root)
    assert folders.fd("events") is None
    (root / "events").symlink_to(elsewhere)
    with pytest.raises(SymlinkInRoot):
        folders.stage("events/index.html", b"page", 0o644, sync=False)
    folders.close()
    assert list(elsewhere.iterdir()) == []


# Through the real `pipeline build`: generators, publish and the CLI together.
SITE = {
    "pipeline.yaml": """
        site_name: Test Community
        base_url: https://events.example.org/
        sender: News <news@example.org>
        feeds:
          - {id: meetups, name: Meetups, kinds: [meetup]}
    """,
    "events/seoul-meetup.yaml": """
        title: Seoul meetup
        kind: meetup
        start: 2025-03-05 19:00
        duration: 2h
        timezone: Asia/Seoul
    """,
    "events/sprint.yaml": """
        title: Docs sprint
        kind: docathon
        start: 2025-02-10
        end: 2025-02-11
    """,
    "events/old-conf.yaml": """
        title: Old conference
        kind: conference
        start: 2024-09-18
        end: 2024-09-19
    """,
    "newsletters/2024-recap.yaml": """
        title: 2024 recap
        date: 2025-01-06
        period: {from: 2024-01-01, to: 2024-12-31}
    """,
}


@pytest.fixture
def site(write_yaml, in_tmp: Path) -> Path:
    for relative, text in SITE.items():
        write_yaml(relative, text)
    shutil.copytree(ROOT / "templates", in_tmp / "templates")  # issues need their templates
    return in_tmp


def build(*extra: str):
    return CliRunner().invoke(cli, ["build", "--now", "2025-01-06T09:00:00Z", *extra])


def test_two_real_builds_leave_every_file_as_it_was(site: Path) -> None:
    first = build()
    assert first.exit_code == 0, first.output
    before = snapshot(site / "output")
    assert {"calendar/upcoming.ics", "calendar/meetups.ics", "calendar/events/sprint.ics",
            "newsletter/2024-recap/message.eml", MANIFEST} <= set(before)
    second = build()
    assert second.exit_code == 0, second.output
    assert snapshot(site / "output") == before
    assert second.output.startswith("built: 3 events, 2 feeds, 1 issue; ")
    assert " 0 written, " in second.output and second.output.count("\n") == 1
    assert_manifest_describes(site / "output", published(site / "output"))


def test_deleted_event_file_disappears_and_manifest_follows(site: Path) -> None:
    assert build("--quiet").exit_code == 0
    assert (site / "output/calendar/events/sprint.ics").exists()
    (site / "events/sprint.yaml").unlink()
    result = build("--verbose")
    assert result.exit_code == 0, result.output
    assert "removed   calendar/events/sprint.ics" in result.output
    assert not (site / "output/calendar/events/sprint.ics").exists()
    assert "calendar/events/sprint.ics" not in manifest(site / "output")
    assert b"Docs sprint" not in (site / "output/calendar/upcoming.ics").read_bytes()
    assert_manifest_describes(site / "output", published(site / "output"))


def test_real_build_with_a_bad_event_leaves_the_previous_output(site: Path) -> None:
    assert build("--quiet").exit_code == 0
    before = snapshot(site / "output")
    (site / "events/broken.yaml").write_text(BAD_EVENT)
    (site / "events/seoul-meetup.yaml").write_text(SITE["events/seoul-meetup.yaml"].replace(
        "Seoul meetup", "Renamed meetup"))  # a good change must not leak out either
    result = build()
    assert result.exit_code == 1
    assert "broken.yaml:3" in result.output and "Traceback" not in result.output
    assert snapshot(site / "output") == before


def test_quiet_build_prints_nothing(site: Path) -> None:
    result = build("--quiet")
    assert result.exit_code == 0 and result.output == ""


def test_three_concurrent_real_builds_end_consistent(site: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PIPELINE_LOCK_TIMEOUT": "60"}
    command = [sys.executable, "-m", "pipeline", "build", "--now", "2025-01-06T09:00:00Z"]
    runs = [subprocess.Popen(command, cwd=site, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(*run.communicate(timeout=180), run.returncode) for run in runs]
    for _, stderr, code in results:
        assert code in (0, 75) and "Traceback" not in stderr, stderr
    assert 0 in [code for _, _, code in results]
    # Together they wrote every file once; the others found them unchanged.
    assert sum(int(out.split(" written")[0].rsplit(" ", 1)[1]) for out, _, code in results
               if code == 0) == len(published(site / "output"))
    assert_manifest_describes(site / "output", published(site / "output"))
    assert not (site / "output" / JOURNAL).exists()


PROGRESS_RUN = textwrap.dedent("""
    import sys
    from pathlib import Path
    from pipeline.publish.writer import publish
    publish({f"calendar/events/e{i}.ics": b"x" for i in range(20)}, Path(sys.argv[1]))
""")


def test_progress_shows_on_a_terminal_and_never_in_cron_logs(tmp_path: Path) -> None:
    import pty

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    primary, secondary = pty.openpty()
    try:
        on_terminal = subprocess.run([sys.executable, "-c", PROGRESS_RUN, str(tmp_path / "tty")],
                                     env=env, stdout=subprocess.PIPE, stderr=secondary,
                                     timeout=60)
        os.close(secondary)
        shown = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(primary)
    assert on_terminal.returncode == 0
    assert b"publishing 20/20" in shown
    in_cron = subprocess.run([sys.executable, "-c", PROGRESS_RUN, str(tmp_path / "cron")],
                             env=env, capture_output=True, text=True, timeout=60)
    assert in_cron.returncode == 0 and in_cron.stderr == ""
    assert in_cron.stdout.startswith("published 20 files: 20 written")


def test_state_files_are_written_beside_but_never_listed_or_pruned(tmp_path: Path) -> None:
    publish(OLD, tmp_path, quiet=True, state={".pipeline-state.json": b'{"a": 1}\n'})
    assert (tmp_path / ".pipeline-state.json").read_bytes() == b'{"a": 1}\n'
    assert ".pipeline-state.json" not in manifest(tmp_path)
    before = snapshot(tmp_path)
    report = publish(OLD, tmp_path, quiet=True, state={".pipeline-state.json": b'{"a": 1}\n'})
    assert snapshot(tmp_path) == before and report.files == len(OLD)  # unchanged: not rewritten
    publish(NEW, tmp_path, quiet=True)  # a run without state leaves the state file alone
    assert (tmp_path / ".pipeline-state.json").read_bytes() == b'{"a": 1}\n'


@pytest.mark.parametrize("name", ["state.json", "../.state", ".a/b", JOURNAL, ".pipeline.lock", "."])
def test_state_file_names_are_checked_before_anything_is_written(tmp_path: Path, name) -> None:
    with pytest.raises(PipelineError, match="cannot publish state files"):
        publish(OLD, tmp_path / "out", quiet=True, state={name: b"x"})
    assert not (tmp_path / "out").exists()


def test_a_folder_where_an_artifact_goes_is_reported_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "calendar/upcoming.ics").mkdir(parents=True)
    with pytest.raises(PipelineError, match=r"upcoming\.ics: a folder is in the way"):
        publish(OLD, tmp_path, quiet=True)
    assert (tmp_path / "calendar/upcoming.ics").is_dir()
    assert not (tmp_path / MANIFEST).exists()


def test_staging_never_writes_through_a_name_that_already_exists(tmp_path: Path) -> None:
    # The temp name is fixed per process; should it exist (a symlink planted in a shared
    # folder, say), O_EXCL refuses it and a random name is used instead.
    from pipeline.publish.folders import RootFolders
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me")
    planted = tmp_path / f".a.ics.{os.getpid()}{TEMP_SUFFIX}"
    planted.symlink_to(victim)
    folders = RootFolders(tmp_path)
    temp = tmp_path / folders.stage("a.ics", b"BEGIN:VCALENDAR", 0o644, sync=False)
    folders.close()
    assert Path(temp) != planted and Path(temp).read_bytes() == b"BEGIN:VCALENDAR"
    assert victim.read_bytes() == b"keep me"
    assert Path(temp).stat().st_mode & 0o777 == 0o644


def test_many_folders_publish_under_a_small_descriptor_limit(tmp_path: Path) -> None:
    # Bug: every folder's descriptor stayed open, so a site with a page per event failed at
    # 100k events ("Too many open files"), or past 1,000 under a cron job's usual limit.
    script = textwrap.dedent(f"""
        import resource
        from pathlib import Path
        from pipeline.publish.writer import publish
        resource.setrlimit(resource.RLIMIT_NOFILE, (400, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
        files = {{f"events/e{{i}}/index.html": b"page %d" % i for i in range(1000)}}
        publish(files, Path({str(tmp_path / "out")!r}), quiet=True)
        publish(files, Path({str(tmp_path / "out")!r}), quiet=True)  # every one unchanged
        publish({{"events/e1/index.html": b"one"}}, Path({str(tmp_path / "out")!r}), quiet=True)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    assert sorted(p.name for p in (tmp_path / "out" / "events").iterdir()) == ["e1"]
    assert (tmp_path / "out" / "events" / "e1" / "index.html").read_bytes() == b"one"


def publish_changes(root: Path, artifacts: dict[str, bytes], gone: set[str],
                    state: dict[str, bytes] | None = None):
    from pipeline.publish.writer import locked_root

    with locked_root(root) as publish_root:
        return publish_root.publish_changes(artifacts, gone, state or {})


def test_publishing_changes_by_path_leaves_what_a_whole_publish_does(tmp_path: Path) -> None:
    # A delta rebuild names what may change (NEW's files but a.ics) and what goes (b.ics).
    delta, whole = tmp_path / "delta", tmp_path / "whole"
    for root in (delta, whole):
        publish(OLD, root, quiet=True)
    before = snapshot(delta)
    report = publish_changes(delta, {path: data for path, data in NEW.items()
                                     if path != "calendar/events/a.ics"},
                             {"calendar/events/b.ics"}, {".state.json": b"{}\n"})
    full = publish(NEW, whole, quiet=True, state={".state.json": b"{}\n"}, trust_manifest=True)
    assert snapshot(delta).keys() == snapshot(whole).keys()
    assert published(delta) == NEW and (delta / MANIFEST).read_bytes() == (
        whole / MANIFEST).read_bytes()
    assert snapshot(delta)["calendar/events/a.ics"] == before["calendar/events/a.ics"]
    assert report is not None and report.removed == ["calendar/events/b.ics"]
    assert report.summary_line("").startswith("published 6 files: 5 written, 1 unchanged, "
                                              "1 removed")
    assert report.summary_line("") == full.summary_line("").replace(
        f"{full.seconds:.2f}", f"{report.seconds:.2f}")


def test_changes_are_not_published_by_path_over_kept_files_or_a_journal(tmp_path: Path) -> None:
    publish(OLD, tmp_path, quiet=True)
    publish({"extra/adhoc.html": b"x"}, tmp_path, quiet=True, prune=False)  # kept
    before = snapshot(tmp_path)
    assert publish_changes(tmp_path, {"calendar/events/a.ics": b"A new"}, set()) is None
    assert snapshot(tmp_path) == before
    publish(OLD, tmp_path, quiet=True)
    (tmp_path / JOURNAL).write_text('{"paths": []}')
    assert publish_changes(tmp_path, {"calendar/events/a.ics": b"A new"}, set()) is None
    assert published(tmp_path)["calendar/events/a.ics"] == b"A old"
