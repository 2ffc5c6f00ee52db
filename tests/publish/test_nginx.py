"""docs/deployment.md's nginx snippet, as written, run by Debian's real nginx on loopback."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from conftest import ROOT, require, require_executable

from pipeline.publish.writer import publish

ARTIFACTS = {
    "calendar/upcoming.ics": b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + b"X-PAD:x\r\n" * 200
    + b"END:VCALENDAR\r\n",
    "newsletter/index.html": b"<!doctype html><title>Archive</title>" + b" " * 2000,
    "newsletter/feed.xml": b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'/>",
    "newsletter/2025-01/index.txt": "Caf\u00e9 ".encode() * 400,
    "newsletter/2025-01/message.eml": b"Subject: x\r\n\r\nx\r\n",
    "events/index.html": b"<!doctype html><title>Events</title>",
}
# What each kind of file is sent with: nginx (this snippet) and `pipeline serve` alike.
HEADERS = [
    ("calendar/upcoming.ics", "text/calendar; charset=utf-8", "public, max-age=3600"),
    ("newsletter/index.html", "text/html; charset=utf-8", "public, max-age=300"),
    ("newsletter/feed.xml", "application/atom+xml", "public, max-age=300"),
    ("newsletter/2025-01/index.txt", "text/plain; charset=utf-8", "public, max-age=300"),
    ("newsletter/2025-01/message.eml", "message/rfc822", "public, max-age=300"),
    ("events/index.html", "text/html; charset=utf-8", "public, max-age=300"),
    ("events/", "text/html; charset=utf-8", "public, max-age=300"),
    ("manifest.json", "application/json", "no-cache"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def documented_snippet() -> str:
    text = (ROOT / "docs/deployment.md").read_text(encoding="utf-8")
    (snippet,) = re.findall(r"```nginx\n(.*?)```", text, flags=re.S)
    return snippet


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory):
    """nginx serving a publish root with the snippet; only ports, paths and the cert swapped."""
    binary = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""),
                                                         "/usr/sbin"]))
    require(binary is not None, "nginx is not installed (Debian: apt-get install nginx)")
    openssl = require_executable("openssl")
    base = tmp_path_factory.mktemp("nginx")
    publish(ARTIFACTS, base / "www", quiet=True)
    (base / "www/.pipeline-state.json").write_text("{}")  # a dot-file left by a build
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(base / "key.pem"),
                    "-out", str(base / "cert.pem")], check=True, capture_output=True, timeout=60)
    https_port, http_port = free_port(), free_port()
    snippet = (documented_snippet()
               .replace("listen 80;", f"listen 127.0.0.1:{http_port};")
               .replace("listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl")
               .replace("/etc/letsencrypt/live/events.example.org/fullchain.pem",
                        str(base / "cert.pem"))
               .replace("/etc/letsencrypt/live/events.example.org/privkey.pem",
                        str(base / "key.pem"))
               .replace("/var/www/events", str(base / "www")))
    temp = {name: base / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    # Root runs workers as `nobody`, who cannot read pytest's private temp folders.
    user = "user root;\n" if os.geteuid() == 0 else ""
    config = base / "nginx.conf"
    config.write_text(
        f"{user}worker_processes 1;\npid {base}/nginx.pid;\nerror_log {base}/error.log;\n"
        "events { worker_connections 64; }\nhttp {\n"
        f"  access_log off;\n  client_body_temp_path {temp['body']};\n"
        f"  proxy_temp_path {temp['proxy']};\n  fastcgi_temp_path {temp['fastcgi']};\n"
        f"  uwsgi_temp_path {temp['uwsgi']};\n  scgi_temp_path {temp['scgi']};\n"
        f"{snippet}\n}}\n")
    command = [binary, "-p", str(base), "-c", str(config)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr  # `nginx -t`: the documented config is valid
    server = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"https://127.0.0.1:{https_port}/", f"http://127.0.0.1:{http_port}/"
    finally:
        server.terminate()
        server.wait(timeout=10)


def fetch(url: str, **headers: str):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip", **headers})
    with urllib.request.urlopen(request, timeout=10, context=context) as response:
        return response.status, response.headers, response.read()


@pytest.mark.parametrize(("path", "content_type", "cache"), HEADERS)
def test_content_type_and_caching_as_documented(nginx, path: str, content_type: str,
                                                cache: str) -> None:
    status, headers, body = fetch(nginx[0] + path)
    assert (status, headers["Content-Type"], headers["Cache-Control"]) == (200, content_type,
                                                                           cache)
    assert headers["X-Content-Type-Options"] == "nosniff"
    if headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    if path in ARTIFACTS:
        assert body == ARTIFACTS[path]


def test_feeds_are_never_compressed(nginx) -> None:
    _, headers, _ = fetch(nginx[0] + "calendar/upcoming.ics")
    assert headers.get("Content-Encoding") is None


def test_an_unchanged_feed_answers_304(nginx) -> None:
    _, headers, _ = fetch(nginx[0] + "calendar/upcoming.ics")
    assert headers["ETag"] and headers["Last-Modified"]
    with pytest.raises(urllib.error.HTTPError) as answer:
        fetch(nginx[0] + "calendar/upcoming.ics", **{"If-None-Match": headers["ETag"]})
    assert answer.value.code == 304


@pytest.mark.parametrize("path", [".pipeline-state.json", ".pipeline.lock",
                                  "calendar/.upcoming.ics.tmp"])
def test_dot_files_are_404(nginx, path: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as answer:
        fetch(nginx[0] + path)
    assert answer.value.code == 404


def test_plain_http_redirects_to_https(nginx) -> None:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(nginx[1] + "calendar/upcoming.ics", timeout=10)
    assert answer.value.code == 301
    assert answer.value.headers["Location"].startswith("https://")


@pytest.mark.parametrize(("path", "content_type", "cache"), HEADERS)
def test_the_preview_sends_what_nginx_sends(path: str, content_type: str, cache: str) -> None:
    # `pipeline serve` once sent newsletter/feed.xml with max-age=3600, nginx with 300.
    from pipeline.publish.manifest import content_type as type_of
    from pipeline.publish.serve import cache_control

    served = path + "index.html" if path.endswith("/") else path  # as both servers do
    assert (type_of(served), cache_control(path)) == (content_type, cache)
