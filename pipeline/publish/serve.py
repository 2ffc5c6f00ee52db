"""`pipeline serve`: preview the publish root over HTTP with the headers production should send."""

from __future__ import annotations

import functools
import posixpath
import socket
import sys
import urllib.parse
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click

from pipeline.errors import PipelineError, display_path
from pipeline.publish.manifest import MANIFEST, content_type

# Calendar apps poll feeds (REFRESH-INTERVAL is hours); pages change with each issue;
# the manifest is how deployers see what changed, so it is always revalidated.
CACHE_CONTROL = {
    ".ics": "public, max-age=3600",
    ".html": "public, max-age=300",
    ".xml": "public, max-age=3600",
    ".txt": "public, max-age=300",
}
DEFAULT_CACHE_CONTROL = "public, max-age=300"
NO_CACHE = "no-cache"


def cache_control(path: str) -> str:
    """The Cache-Control value for a published path."""
    if posixpath.basename(path) == MANIFEST:
        return NO_CACHE
    return CACHE_CONTROL.get(posixpath.splitext(path)[1].lower(), DEFAULT_CACHE_CONTROL)


class PreviewHandler(SimpleHTTPRequestHandler):
    """Static files with production content types; dot-files (locks, state) are never served."""

    server_version = "pipeline-serve"
    sys_version = ""

    def send_head(self):  # type: ignore[override]
        path = urllib.parse.unquote(self.path.split("?", 1)[0].split("#", 1)[0])
        if any(part.startswith(".") for part in path.split("/") if part):
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return None
        self._request_path = path
        return super().send_head()

    def guess_type(self, path) -> str:  # type: ignore[override]
        return content_type(str(path))

    def end_headers(self) -> None:
        path = getattr(self, "_request_path", "")
        if path and not path.endswith("/"):
            self.send_header("Cache-Control", cache_control(path))
        # Never transform (no gzip of .ics: some calendar clients mishandle it) or sniff.
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()


def make_server(out_dir: Path, bind: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server for `out_dir` on bind:port (port 0: any free port)."""
    if not out_dir.is_dir():
        raise PipelineError(f"{display_path(out_dir)} is not a folder; run `pipeline build` first")
    handler = functools.partial(PreviewHandler, directory=str(out_dir))
    server_class = ThreadingHTTPServer
    if ":" in bind:  # an IPv6 address such as ::1
        server_class = type("ThreadingHTTPServerV6", (ThreadingHTTPServer,),
                            {"address_family": socket.AF_INET6})
    try:
        return server_class((bind, port), handler)
    except OSError as error:
        raise PipelineError(f"cannot listen on {bind}:{port}: {error.strerror}") from None


def serve(out_dir: Path, bind: str, port: int) -> None:
    """Serve until interrupted; the first line says where (with the real port)."""
    server = make_server(out_dir, bind, port)
    host, real_port = server.server_address[:2]
    shown = f"[{host}]" if ":" in str(host) else host
    click.echo(f"serving {display_path(out_dir)} at http://{shown}:{real_port}/ "
               "(Ctrl-C to stop)")
    sys.stdout.flush()  # the line matters to whoever waits for it through a pipe
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
