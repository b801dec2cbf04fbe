"""`digest serve`: preview the static site locally, plus the one-click unsubscribe endpoint.

The unsubscribe endpoint (RFC 8058: POST, no redirect, no auth) is mounted at the path of
`email.unsubscribe_url` when DIGEST_SECRET is set; in production put it behind a
TLS-terminating proxy at that https address. Everything else is served from the site folder.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable, Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import unquote, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

log = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# A client that connects and never sends (or never finishes) its request is dropped after
# this many seconds; each connection has its own thread, so it never blocks the others.
CLIENT_TIMEOUT = 10.0


def static_app(root: Path) -> WsgiApp:
    """Serve files under root; `dir/` serves `dir/index.html`; nothing outside root."""
    base = root.resolve()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = unquote(environ.get("PATH_INFO") or "/")
        try:
            target = (base / path.lstrip("/")).resolve()
            exists = target.is_dir() or target.is_file()
        except (ValueError, OSError):  # "/%00": a NUL byte; a name too long for the OS
            exists = False
        if not exists:
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"not found"]
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(base) or not target.is_file():
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"not found"]
        kind = (
            "application/atom+xml"
            if target.suffix == ".xml"
            else (mimetypes.guess_type(target.name)[0] or "application/octet-stream")
        )
        if kind.startswith("text/") or kind.endswith(("json", "javascript", "xml")):
            kind += "; charset=utf-8"
        body = target.read_bytes()
        start_response("200 OK", [("Content-Type", kind), ("Content-Length", str(len(body)))])
        return [body]

    return app


def combined_app(site: WsgiApp, unsubscribe: WsgiApp | None, unsubscribe_path: str) -> WsgiApp:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if unsubscribe is not None and environ.get("PATH_INFO") == unsubscribe_path:
            return unsubscribe(environ, start_response)
        return site(environ, start_response)

    return app


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a stuck client never keeps the process from stopping


class _Quiet(WSGIRequestHandler):
    timeout = CLIENT_TIMEOUT  # socket timeout per connection (StreamRequestHandler)

    def log_message(self, format: str, *args: Any) -> None:
        # request lines may carry unsubscribe tokens: log the path only, at debug level
        log.debug("%s", str(args[0]).split("?", 1)[0] if args else "")


def serve(
    site_dir: Path,
    host: str,
    port: int,
    unsubscribe: WsgiApp | None = None,
    unsubscribe_url: str | None = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    path = urlsplit(unsubscribe_url).path if unsubscribe_url else "/unsubscribe"
    app = combined_app(static_app(site_dir), unsubscribe, path)
    with make_server(
        host, port, app, server_class=_ThreadingServer, handler_class=_Quiet
    ) as server:
        url = f"http://{host}:{server.server_port}/"
        if ready:
            ready(url)
        server.serve_forever()
