"""A small HTTP server on 127.0.0.1 that answers real API paths from recorded payloads.

Used by `digest demo` and by the tests: the fetchers speak their real protocol (paths,
parameters, POST bodies, conditional GET) to it, pointed there by `base_url`.

A manifest lists routes; a route matches on method, path and (a subset of) query/form
parameters and serves its responses in order, the last one repeating:

    routes:
      - path: /entrez/eutils/esearch.fcgi
        match: {db: pubmed}
        responses:
          - {status: 429, body: '{"error":"API rate limit exceeded"}', headers: {Retry-After: "0"}}
          - {file: pubmed/esearch.xml, content_type: text/xml}

A response may also set `delay` (seconds before answering, to provoke a timeout),
`truncate` (send only that many bytes of the body while announcing its full length) and
`etag`/`last_modified` (a matching conditional GET gets 304).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from digest.errors import ConfigError


@dataclass(slots=True)
class ReplayResponse:
    status: int = 200
    file: str | None = None
    body: str | None = None
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    truncate: int | None = None
    etag: str | None = None
    last_modified: str | None = None


@dataclass(slots=True)
class ReplayRoute:
    path: str
    method: str = "ANY"
    match: dict[str, str] = field(default_factory=dict)
    responses: list[ReplayResponse] = field(default_factory=list)
    served: int = 0

    def next_response(self) -> ReplayResponse:
        index = min(self.served, len(self.responses) - 1)
        self.served += 1
        return self.responses[index]


@dataclass(frozen=True, slots=True)
class SeenRequest:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


def load_manifest(path: Path) -> list[ReplayRoute]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read replay manifest {path}: {exc}") from exc
    return routes_from(raw.get("routes", []) if isinstance(raw, dict) else [])


def routes_from(raw_routes: list[dict[str, Any]]) -> list[ReplayRoute]:
    routes = []
    for raw in raw_routes:
        responses = [ReplayResponse(**r) for r in raw.get("responses", [])]
        if not responses:
            raise ConfigError(f"replay route {raw.get('path')} has no responses")
        routes.append(
            ReplayRoute(
                path=raw["path"],
                method=raw.get("method", "ANY").upper(),
                match={k: str(v) for k, v in (raw.get("match") or {}).items()},
                responses=responses,
            )
        )
    return routes


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout test, a size cap) is not the server's problem."""


class ReplayServer:
    """Serve routes on 127.0.0.1 (port 0 = any free port) in a background thread."""

    def __init__(self, routes: list[ReplayRoute], root: Path, port: int = 0) -> None:
        self.routes = routes
        self.root = root
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def find(self, method: str, path: str, params: dict[str, str]) -> ReplayRoute | None:
        for route in self.routes:
            if route.path != path or route.method not in ("ANY", method):
                continue
            if all(params.get(k) == v for k, v in route.match.items()):
                return route
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return None

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def _answer(self, method: str) -> None:
                parts = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                if method == "POST":
                    length = int(self.headers.get("Content-Length", "0"))
                    form = self.rfile.read(length).decode("utf-8", "replace")
                    params.update({k: v[-1] for k, v in parse_qs(form).items()})
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.requests.append(SeenRequest(method, parts.path, params, headers))
                    route = server.find(method, parts.path, params)
                    response = route.next_response() if route else None
                if response is None:
                    self._send(404, b"no recording for this request", "text/plain", {})
                    return
                if response.delay:
                    time.sleep(response.delay)
                if self._not_modified(response, headers):
                    self._send(304, b"", response.content_type, {})
                    return
                body = server._body(response)
                extra = dict(response.headers)
                if response.etag:
                    extra["ETag"] = response.etag
                if response.last_modified:
                    extra["Last-Modified"] = response.last_modified
                self._send(
                    response.status, body, response.content_type, extra, truncate=response.truncate
                )

            def _not_modified(self, response: ReplayResponse, headers: dict[str, str]) -> bool:
                if response.etag and headers.get("if-none-match") == response.etag:
                    return True
                return bool(
                    response.last_modified
                    and headers.get("if-modified-since") == response.last_modified
                )

            def _send(
                self,
                status: int,
                body: bytes,
                content_type: str,
                headers: dict[str, str],
                truncate: int | None = None,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                if truncate is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                if status != 304:
                    self.wfile.write(body if truncate is None else body[:truncate])
                if truncate is not None:
                    self.wfile.flush()
                    self.close_connection = True

        return Handler

    def _body(self, response: ReplayResponse) -> bytes:
        if response.file is not None:
            return (self.root / response.file).read_bytes()
        return (response.body or "").encode("utf-8")
