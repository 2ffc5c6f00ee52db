"""`pipeline serve`: the publish root over HTTP with production content types and headers."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pipeline.publish.writer import publish

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = {
    "calendar/upcoming.ics": b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
    "newsletter/index.html": b"<!doctype html><title>Archive</title>",
    "newsletter/feed.xml": b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'/>",
    "newsletter/2025-01/index.txt": "Caf\u00e9".encode(),
    "newsletter/2025-01/message.eml": b"Subject: x\r\n\r\nx\r\n",
    "newsletter/2025-01/message.json": b"{}",
}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    """`python -m pipeline serve --port 0` in a subprocess; its first line gives the URL."""
    out = tmp_path_factory.mktemp("site") / "output"
    publish(ARTIFACTS, out, quiet=True)
    server = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--out", str(out),
                               "--port", "0", "--bind", "127.0.0.1"], cwd=out.parent,
                              env={**os.environ, "PYTHONPATH": str(ROOT)},
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        assert line.startswith("serving ") and "http://127.0.0.1:" in line, line
        yield line.split(" at ", 1)[1].split()[0]
    finally:
        server.terminate()
        server.wait(timeout=10)


def fetch(url: str, **headers: str):
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip, br", **headers})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers, response.read()


@pytest.mark.parametrize(("path", "expected_type"), [
    ("calendar/upcoming.ics", "text/calendar; charset=utf-8"),
    ("newsletter/index.html", "text/html; charset=utf-8"),
    ("newsletter/feed.xml", "application/atom+xml"),
    ("newsletter/2025-01/index.txt", "text/plain; charset=utf-8"),
    ("newsletter/2025-01/message.eml", "message/rfc822"),
    ("newsletter/2025-01/message.json", "application/json"),
    ("manifest.json", "application/json"),
])
def test_each_artifact_is_served_with_its_content_type(base_url: str, path: str,
                                                       expected_type: str) -> None:
    status, headers, body = fetch(base_url + path)
    assert status == 200
    assert headers["Content-Type"] == expected_type
    if path in ARTIFACTS:
        assert body == ARTIFACTS[path]


def test_calendar_is_never_gzipped_and_is_cacheable(base_url: str) -> None:
    _, headers, body = fetch(base_url + "calendar/upcoming.ics")
    assert headers.get("Content-Encoding") is None
    assert body.startswith(b"BEGIN:VCALENDAR")
    assert headers["Cache-Control"] == "public, max-age=3600"
    assert headers["Last-Modified"]


def test_a_folder_address_is_cached_as_its_index_page(base_url: str) -> None:
    # nginx sends newsletter/ (its index.html) with max-age=300; the preview sent nothing.
    status, headers, body = fetch(base_url + "newsletter/")
    assert (status, body) == (200, ARTIFACTS["newsletter/index.html"])
    assert headers["Cache-Control"] == "public, max-age=300"


def test_manifest_is_always_revalidated(base_url: str) -> None:
    _, headers, _ = fetch(base_url + "manifest.json")
    assert headers["Cache-Control"] == "no-cache"


def test_unchanged_file_answers_304_to_a_conditional_request(base_url: str) -> None:
    _, headers, _ = fetch(base_url + "calendar/upcoming.ics")
    with pytest.raises(urllib.error.HTTPError) as answer:
        fetch(base_url + "calendar/upcoming.ics", **{"If-Modified-Since": headers["Last-Modified"]})
    assert answer.value.code == 304


@pytest.mark.parametrize("path", [".pipeline.lock", "calendar/.upcoming.ics.x.pipeline-tmp",
                                  "%2Epipeline.lock"])
def test_dot_files_are_not_served(base_url: str, path: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as answer:
        fetch(base_url + path)
    assert answer.value.code == 404


def test_every_artifact_of_a_real_build_is_served_as_its_manifest_says(tmp_path: Path) -> None:
    out = tmp_path / "output"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    built = subprocess.run([sys.executable, "-m", "pipeline", "build", "--quiet", "--out", str(out),
                            "--now", "2025-01-06T09:00:00Z"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    manifest = json.loads((out / "manifest.json").read_bytes())["artifacts"]
    server = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--out", str(out),
                               "--port", "0"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        base = server.stdout.readline().split(" at ", 1)[1].split()[0]
        for entry in manifest:
            _, headers, body = fetch(base + entry["path"])
            assert headers["Content-Type"] == entry["content_type"], entry["path"]
            assert hashlib.sha256(body).hexdigest() == entry["sha256"]
            assert headers.get("Content-Encoding") is None
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert {e["content_type"] for e in manifest} >= {"text/calendar; charset=utf-8",
                                                     "text/html; charset=utf-8", "message/rfc822"}


def raw_request(base_url: str, request: bytes) -> bytes:
    """Send bytes as they are (urllib would quote them); the whole answer."""
    import socket

    host, port = base_url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_the_root_is_an_index_page_that_never_names_dot_files(base_url: str) -> None:
    # Issue 11: `/` listed .pipeline.lock and the ledger by name.
    status, headers, body = fetch(base_url)
    page = body.decode()
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert 'href="calendar/"' in page and 'href="newsletter/"' in page
    assert 'href="calendar/upcoming.ics"' in page
    assert ".pipeline" not in page and "ledger" not in page


@pytest.mark.parametrize("path", ["/%00", "/calendar/upcoming.ics%00.html", "/%ff%fe",
                                  "/..%5c..%5cetc%5cpasswd"])
def test_a_nul_or_undecodable_path_is_answered_400(base_url: str, path: str) -> None:
    # Issue 11: `%00` reached os.stat() and the connection was dropped without an answer.
    answer = raw_request(base_url, f"GET {path} HTTP/1.0\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.0 400 "), answer[:80]


@pytest.fixture
def small_server(tmp_path: Path):
    """An in-process server allowing 2 connections, dropping a silent one after 1 s."""
    import threading

    from pipeline.publish.serve import make_server

    out = tmp_path / "output"
    publish(ARTIFACTS, out, quiet=True)
    server = make_server(out, "127.0.0.1", 0, max_connections=2, idle_timeout=1.0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_connections_are_bounded_and_silent_clients_dropped(small_server: str) -> None:
    # Issue 11: one thread per slow client, without limit.
    import socket
    import time

    host, port = "127.0.0.1", int(small_server.rstrip("/").rsplit(":", 1)[1])
    slow = [socket.create_connection((host, port), timeout=10) for _ in range(2)]
    time.sleep(0.2)  # both are being served (each holds a slot, sending nothing)
    third = raw_request(small_server, b"GET /manifest.json HTTP/1.0\r\n\r\n")
    assert third.startswith(b"HTTP/1.1 503 "), third[:80]
    started = time.monotonic()
    assert slow[0].recv(1024) == b""  # the server hung up on the silent client
    assert time.monotonic() - started < 5
    for connection in slow:
        connection.close()
    time.sleep(0.2)
    status, _, _ = fetch(small_server + "manifest.json")  # slots are free again
    assert status == 200


def test_watch_rebuilds_on_change_and_open_pages_learn_of_it(tmp_path: Path) -> None:
    import time

    site = tmp_path / "site"
    (site / "events").mkdir(parents=True)
    (site / "newsletters").mkdir()
    event = site / "events/meetup.yaml"
    event.write_text("title: Before\nkind: meetup\nstart: 2030-05-01\n")
    (site / "newsletters/2030-04.yaml").write_text(
        "title: April\ndate: 2030-04-20\nperiod: {from: 2030-04-01, to: 2030-04-20}\n")
    server = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--watch", "--site",
                               str(site), "--port", "0", "--now", "2030-04-20"],
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        assert line.startswith("built: 1 event"), line  # the first build, then the server
        base = server.stdout.readline().split(" at ", 1)[1].split()[0]
        _, headers, page = fetch(base + "newsletter/2030-04/")
        assert b"/~pipeline/version" in page and headers["Cache-Control"] == "no-store"
        assert fetch(base + "~pipeline/version")[2] == b"0"
        assert b"SUMMARY:Before" in fetch(base + "calendar/upcoming.ics")[2]
        time.sleep(0.5)  # the watcher is up
        event.write_text("title: After\nkind: meetup\nstart: 2030-05-01\n")
        deadline = time.monotonic() + 20
        while fetch(base + "~pipeline/version")[2] == b"0" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert fetch(base + "~pipeline/version")[2] == b"1"
        assert b"SUMMARY:After" in fetch(base + "calendar/upcoming.ics")[2]
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_rebuild_failing_unexpectedly_is_said_and_the_watcher_goes_on(tmp_path, monkeypatch,
                                                                        capsys):
    # A rebuild that raises something other than a ClickException (a bug) used to end the
    # watcher thread: the preview then served stale pages without a word.
    import threading

    import watchfiles

    from pipeline.publish import serve as serve_module

    monkeypatch.setattr(watchfiles, "watch", lambda *folders, **options: iter([{1}, {2}, {3}]))
    calls = []

    def rebuild() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("unexpected")

    reloads = serve_module.Reloads()
    serve_module._watch((tmp_path,), rebuild, reloads, threading.Event(), tmp_path / "output")
    assert calls == [0, 1, 2]  # every batch of changes was built, the one after the bug too
    assert reloads.version == 2  # open pages reload after each good rebuild only
    error = capsys.readouterr().err
    assert "RuntimeError: unexpected" in error and "Still watching" in error
    assert "Traceback" not in error
