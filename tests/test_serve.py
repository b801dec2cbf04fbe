"""`digest serve`'s static file app: serves the site, nothing outside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

from digest.app.serve import static_app


def call(app: Any, path: str) -> tuple[str, bytes, dict[str, str]]:
    environ: dict[str, Any] = {"PATH_INFO": path}
    setup_testing_defaults(environ)
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app(environ, start_response))
    return seen["status"], body, seen["headers"]


def test_static_app_serves_pages_and_refuses_escapes(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "studies" / "x").mkdir(parents=True)
    (site / "index.html").write_text("<p>home</p>")
    (site / "studies" / "x" / "index.html").write_text("<p>study</p>")
    (site / "feed.xml").write_text("<feed/>")
    (tmp_path / "secret.txt").write_text("outside")
    app = static_app(site)

    assert call(app, "/")[:2] == ("200 OK", b"<p>home</p>")
    status, body, headers = call(app, "/studies/x/")
    assert status == "200 OK"
    assert body == b"<p>study</p>" and headers["Content-Type"].startswith("text/html")
    assert call(app, "/feed.xml")[2]["Content-Type"].startswith("application/atom+xml")
    assert call(app, "/../secret.txt")[0] == "404 Not Found"
    assert call(app, "/%2e%2e/secret.txt")[0] == "404 Not Found"
    assert call(app, "/missing/")[0] == "404 Not Found"
