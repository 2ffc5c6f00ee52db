"""`pipeline serve`: preview the publish root over HTTP with the headers production should send."""

from __future__ import annotations

import functools
import html
import io
import os
import posixpath
import socket
import sys
import threading
import urllib.parse
from collections.abc import Callable
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
    ".xml": "public, max-age=300",  # newsletter/feed.xml: as nginx sends newsletter/
    ".txt": "public, max-age=300",
}
DEFAULT_CACHE_CONTROL = "public, max-age=300"
NO_CACHE = "no-cache"
# A preview serves a few browser tabs: past this many open connections a new one gets a 503
# at once, and a client that sends nothing for IDLE_TIMEOUT seconds is dropped (slowloris).
MAX_CONNECTIONS = 32
IDLE_TIMEOUT = 10.0
# `serve --watch`: pages poll this (never a file: it starts with a character no published
# path has) and reload when the number it answers changes after a rebuild.
VERSION_PATH = "/~pipeline/version"
RELOAD_SCRIPT = ("<script>(function(){{var v={version};setInterval(function(){{"
                 "fetch('" + VERSION_PATH + "',{{cache:'no-store'}}).then(function(r){{"
                 "return r.text()}}).then(function(t){{if(+t!==v)location.reload()}})"
                 ".catch(function(){{}})}},1000)}})();</script>")


def cache_control(path: str) -> str:
    """The Cache-Control value for a published path."""
    if posixpath.basename(path) == MANIFEST:
        return NO_CACHE
    return CACHE_CONTROL.get(posixpath.splitext(path)[1].lower(), DEFAULT_CACHE_CONTROL)


class Reloads:
    """The build number that open pages compare with (`serve --watch` only)."""

    def __init__(self) -> None:
        self.version = 0
        self.lock = threading.Lock()

    def bump(self) -> None:
        """A rebuild finished: every open page reloads."""
        with self.lock:
            self.version += 1


class PreviewHandler(SimpleHTTPRequestHandler):
    """Static files with production content types; dot-files (locks, state) are never served."""

    server_version = "pipeline-serve"
    sys_version = ""
    timeout = IDLE_TIMEOUT  # per read on the connection's socket
    reloads: Reloads | None = None

    def send_head(self):  # type: ignore[override]
        raw = self.path.split("?", 1)[0].split("#", 1)[0]
        path = urllib.parse.unquote(raw, errors="strict") if _decodes(raw) else None
        if path is None or "\x00" in path or "\\" in path:
            # A NUL reached os.stat() and dropped the connection; say what is wrong instead.
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad request path")
            return None
        if self.reloads is not None and path == VERSION_PATH:
            return self._bytes(str(self.reloads.version).encode(), "text/plain; charset=utf-8")
        if any(part.startswith(".") for part in path.split("/") if part):
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return None
        self._request_path = path
        if self.reloads is not None and path.endswith((".html", "/")):
            page = self._page_with_reload(path)
            if page is not None:
                return page
        return super().send_head()

    def _page_with_reload(self, path: str):
        """An HTML page with the reload script added (never cached: it changes per build)."""
        target = Path(self.translate_path(path))
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return None
        body = target.read_bytes()
        script = RELOAD_SCRIPT.format(version=self.reloads.version).encode()  # type: ignore[union-attr]
        at = body.rfind(b"</body>")
        body = body[:at] + script + body[at:] if at >= 0 else body + script
        return self._bytes(body, "text/html; charset=utf-8")

    def _bytes(self, body: bytes, kind: str):
        self._request_path = ""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        return io.BytesIO(body)

    def list_directory(self, path):  # type: ignore[override]
        """A folder's index: published files and folders only, never dot-files."""
        try:
            names = sorted(n for n in os.listdir(path) if not n.startswith("."))
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return None
        shown = urllib.parse.unquote(self.path.split("?", 1)[0])
        items = []
        for name in names:
            link = name + ("/" if os.path.isdir(os.path.join(path, name)) else "")
            items.append(f'<li><a href="{urllib.parse.quote(link)}">{html.escape(link)}</a></li>')
        title = "Preview of the publish root" if shown == "/" else f"Index of {html.escape(shown)}"
        hint = ("<p>Subscribe to <a href=\"calendar/upcoming.ics\">calendar/upcoming.ics</a>; "
                "issues are under <a href=\"newsletter/\">newsletter/</a>.</p>"
                if shown == "/" else "")
        page = (f"<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>{title}</title>"
                f"<h1>{title}</h1>{hint}<ul>{''.join(items)}</ul></html>\n").encode()
        if self.reloads is not None:
            page = page.replace(b"</html>", RELOAD_SCRIPT.format(
                version=self.reloads.version).encode() + b"</html>")
        return self._bytes(page, "text/html; charset=utf-8")

    def guess_type(self, path) -> str:  # type: ignore[override]
        return content_type(str(path))

    def end_headers(self) -> None:
        path = getattr(self, "_request_path", "")
        if path:  # a folder's address serves its index.html: sent as that page is
            self.send_header("Cache-Control",
                             cache_control(path + "index.html" if path.endswith("/") else path))
        # Never transform (no gzip of .ics: some calendar clients mishandle it) or sniff.
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def log_message(self, format, *args) -> None:  # type: ignore[override]
        if self.reloads is None or VERSION_PATH not in str(args[:1]):  # polls are noise
            super().log_message(format, *args)


def _decodes(raw: str) -> bool:
    try:
        urllib.parse.unquote(raw, errors="strict")
    except UnicodeDecodeError:
        return False
    return True


class BoundedHTTPServer(ThreadingHTTPServer):
    """A thread per connection, at most MAX_CONNECTIONS at once; the rest get a 503."""

    def __init__(self, *args, max_connections: int = MAX_CONNECTIONS, **kwargs) -> None:
        self.slots = threading.BoundedSemaphore(max_connections)
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address) -> None:  # type: ignore[override]
        if not self.slots.acquire(blocking=False):
            try:
                request.settimeout(1.0)
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"
                                b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:  # type: ignore[override]
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def make_server(out_dir: Path, bind: str, port: int, reloads: Reloads | None = None,
                max_connections: int = MAX_CONNECTIONS,
                idle_timeout: float = IDLE_TIMEOUT) -> ThreadingHTTPServer:
    """An HTTP server for `out_dir` on bind:port (port 0: any free port)."""
    if not out_dir.is_dir():
        raise PipelineError(f"{display_path(out_dir)} is not a folder; run `pipeline build` first")
    handler_class = type("Handler", (PreviewHandler,), {"reloads": reloads,
                                                         "timeout": idle_timeout})
    handler = functools.partial(handler_class, directory=str(out_dir))
    server_class: type[ThreadingHTTPServer] = BoundedHTTPServer
    if ":" in bind:  # an IPv6 address such as ::1
        server_class = type("BoundedHTTPServerV6", (BoundedHTTPServer,),
                            {"address_family": socket.AF_INET6})
    try:
        return server_class((bind, port), handler,  # type: ignore[call-arg]
                            max_connections=max_connections)
    except OSError as error:
        raise PipelineError(f"cannot listen on {bind}:{port}: {error.strerror}") from None


def serve(out_dir: Path, bind: str, port: int,
          watch: tuple[tuple[Path, ...], Callable[[], None]] | None = None) -> None:
    """Serve until interrupted; the first line says where (with the real port).

    `watch`: folders to watch and the rebuild to run when a file in them changes; open
    pages then reload.
    """
    reloads = Reloads() if watch is not None else None
    server = make_server(out_dir, bind, port, reloads)
    host, real_port = server.server_address[:2]
    shown = f"[{host}]" if ":" in str(host) else host
    click.echo(f"serving {display_path(out_dir)} at http://{shown}:{real_port}/ "
               "(Ctrl-C to stop)")
    sys.stdout.flush()  # the line matters to whoever waits for it through a pipe
    stop = threading.Event()
    if watch is not None and reloads is not None:
        threading.Thread(target=_watch, args=(*watch, reloads, stop, out_dir), daemon=True,
                         ).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()


def _watch(folders: tuple[Path, ...], rebuild: Callable[[], None], reloads: Reloads,
           stop: threading.Event, out_dir: Path) -> None:
    """Rebuild after each batch of changes; a failed rebuild is printed and waits for a fix."""
    import watchfiles

    ignored = out_dir.resolve()

    def is_input(_change: object, name: str) -> bool:
        # The build's own output and dot-files (caches, locks, editors' swap files) are not
        # inputs: watching them would rebuild for ever.
        path = Path(name).resolve()
        return not path.is_relative_to(ignored) and not any(
            part.startswith(".") for part in path.parts[1:])

    existing = [str(folder) for folder in folders if folder.exists()]
    for _changes in watchfiles.watch(*existing, watch_filter=is_input, stop_event=stop,
                                     raise_interrupt=False, debounce=300):
        try:
            rebuild()
        except click.ClickException as error:
            error.show()
        except Exception as error:  # a bug: said, and the watcher goes on (it once died)
            click.echo(f"error: the rebuild failed ({type(error).__name__}: {error}); this "
                       "is a bug in pipeline, please report it. Still watching: the next "
                       "change is built again", err=True)
        else:
            reloads.bump()
        sys.stdout.flush()
