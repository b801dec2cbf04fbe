"""Issue 17, network side: secrets redacted by value, wall-clock budgets, network faults
as named FetchErrors, redirects limited and logged.

Every body served here is HAND-MADE (inline, named handmade_*): error bodies, redirects,
a trickling server, broken gzip. The feed served where a good one is needed is the
hand-made PubMed RSS fixture (tests/fixtures/HANDMADE.md).
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from digest.app.cli import main
from digest.errors import forget_secrets, redact, register_secret
from digest.http.client import Http
from digest.http.politeness import RateLimiter
from digest.ingest.run import fetch_one
from digest.model import FetchRun
from tests.conftest import FIXTURES, MINIMAL_TOPICS, make_settings

FEED = (FIXTURES / "handmade" / "handmade_pubmed_rss_fetch1.xml").read_text()


@pytest.fixture(autouse=True)
def _no_leftover_secrets() -> Iterator[None]:
    yield
    forget_secrets()


def client_for(settings: Any) -> Http:
    return Http(
        settings.http,
        settings.contact_email,
        sleep=lambda _s: None,
        limiter=RateLimiter(sleep=lambda _s: None),
    )


def rss_settings(db_engine: Engine, url: str, extra: str = "", **http: Any) -> Any:
    settings = make_settings(
        db_engine.url.render_as_string(hide_password=False),
        f"  - name: feed\n    kind: rss\n    url: {url}\n{extra}",
    )
    if http:
        settings = settings.model_copy(update={"http": settings.http.model_copy(update=http)})
    return settings


def fetch_feed(db_engine: Engine, url: str, extra: str = "", **http: Any) -> Any:
    settings = rss_settings(db_engine, url, extra, **http)
    return fetch_one(db_engine, client_for(settings), settings.sources[0])


# ------------------------------------------------------------------ 2. redaction by value

SECRET = "NCBI/key+é=1&2"  # HAND-MADE: a key whose encoded forms all differ from it


def test_redaction_covers_raw_url_encoded_and_json_escaped_forms() -> None:
    register_secret(SECRET)
    for form in (SECRET, quote(SECRET, safe=""), json.dumps(SECRET)[1:-1]):
        assert SECRET not in redact(f'{{"api-key": "{form}"}}')
        assert form not in redact(f"x {form} y")


def test_handmade_error_body_echoing_the_key_never_reaches_errors_logs_or_run_log(
    tmp_path: Path,
    db_engine: Engine,
    replay: Any,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    key = "abcdef0123456789handmadekey"  # HAND-MADE, hex-like as NCBI keys are
    spelled = [key, quote(key), json.dumps({"k": key})]
    handmade_body = json.dumps(
        {"error": "API key invalid", "api-key": key, "echo": f"?api%2Dkey={quote(key)}"}
    )
    server = replay(
        [
            {
                "path": "/entrez/eutils/esearch.fcgi",
                "responses": [
                    {"status": 400, "body": handmade_body, "content_type": "application/json"}
                ],
            }
        ]
    )
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"database_url: {db_engine.url.render_as_string(hide_password=False)}\n"
        f"contact_email: t@example.org\n{MINIMAL_TOPICS}\nsources:\n"
        "  - name: pm\n    kind: pubmed\n    query: acupuncture\n"
        f"    base_url: {server.url}/entrez/eutils\n"
    )
    monkeypatch.setenv("NCBI_API_KEY", key)
    for fmt in ("text", "json"):
        out, err = io.StringIO(), io.StringIO()
        code = main(["--config", str(config), "-vv", "--log-format", fmt, "fetch"], out, err)
        assert code == 1
        logged = capfd.readouterr().err  # the -vv debug log, urllib3's request lines included
        assert "esearch.fcgi" in logged
        for text in (err.getvalue(), out.getvalue(), logged):
            assert not any(form in text for form in spelled), text
        assert "HTTP 400" in err.getvalue() and "***" in err.getvalue()
    with Session(db_engine) as session:
        errors = [run.error or "" for run in session.exec(select(FetchRun))]
    assert errors and not any(key in e for e in errors)


# ------------------------------------------------------------------ 3. wall-clock budgets


@pytest.fixture
def trickle_server() -> Iterator[str]:
    """HAND-MADE slow-loris server: announces 200 bytes, sends one every 0.2 s."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", "200")
            self.end_headers()
            try:
                for _ in range(200):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed"
    server.shutdown()
    server.server_close()


def test_a_trickling_server_is_cut_off_at_the_request_deadline(
    db_engine: Engine, trickle_server: str
) -> None:
    started = time.monotonic()
    result = fetch_feed(db_engine, trickle_server, request_deadline=1.0, max_retries=0)
    assert time.monotonic() - started < 5
    assert result.outcome == "failed"
    assert "[feed]" in (result.error or "") and "wall-clock budget" in (result.error or "")


def test_retries_stop_at_the_source_run_deadline(db_engine: Engine, replay: Any) -> None:
    server = replay(
        [{"path": "/feed", "responses": [{"status": 503, "headers": {"Retry-After": "2"}}]}]
    )
    settings = rss_settings(db_engine, f"{server.url}/feed", source_deadline=1.0, max_retries=5)
    slept: list[float] = []
    client = Http(settings.http, settings.contact_email, sleep=slept.append, limiter=RateLimiter())
    result = fetch_one(db_engine, client, settings.sources[0])
    assert result.outcome == "failed" and "budget" in (result.error or "")
    assert slept == []  # it did not wait 2 s x 5 knowing the budget was 1 s


# ------------------------------------------------------------------ 12. network faults


@pytest.mark.parametrize(
    "handmade_response, expected",
    [
        ({"status": 503, "headers": {"Retry-After": "²"}}, "HTTP 503"),
        ({"status": 302, "headers": {"Location": "/feed"}}, "redirects"),
        ({"status": 302, "headers": {"Location": "file:///etc/passwd"}}, "file: URL refused"),
        (
            {"body": "not gzip at all", "headers": {"Content-Encoding": "gzip"}},
            "not valid gzip",
        ),
    ],
    ids=["retry-after-superscript", "redirect-loop", "redirect-to-file", "invalid-gzip"],
)
def test_handmade_network_faults_are_fetch_errors_naming_the_source(
    db_engine: Engine, replay: Any, handmade_response: dict[str, Any], expected: str
) -> None:
    server = replay([{"path": "/feed", "responses": [handmade_response]}])
    result = fetch_feed(db_engine, f"{server.url}/feed", max_retries=1)
    assert result.outcome == "failed"
    assert "internal error" not in (result.error or ""), result.error
    assert (result.error or "").startswith("[feed]") and expected in (result.error or "")


def test_handmade_deeply_nested_json_is_a_parse_error_naming_the_source(
    db_engine: Engine, replay: Any
) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    server = replay(
        [
            {
                "path": "/api/v2/studies",
                "responses": [{"body": deep, "content_type": "application/json"}],
            }
        ]
    )
    settings = make_settings(
        db_engine.url.render_as_string(hide_password=False),
        "  - name: ct\n    kind: clinicaltrials\n    cond: pain\n"
        f"    base_url: {server.url}/api/v2\n",
    )
    result = fetch_one(db_engine, client_for(settings), settings.sources[0])
    assert result.outcome == "failed" and "internal error" not in (result.error or "")
    assert "ct" in (result.error or "")


# ------------------------------------------------------------------ 13. redirects


def test_same_origin_redirect_is_followed_and_logged(
    db_engine: Engine, replay: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = replay(
        [
            {"path": "/old", "responses": [{"status": 301, "headers": {"Location": "/feed"}}]},
            {"path": "/feed", "responses": [{"body": FEED, "content_type": "application/rss+xml"}]},
        ]
    )
    caplog.set_level("INFO", logger="digest.http")
    result = fetch_feed(db_engine, f"{server.url}/old")
    assert result.outcome == "ok", result.error
    assert any(
        "redirect 301" in r.getMessage() and "/feed" in r.getMessage() for r in caplog.records
    )


def test_cross_origin_redirect_needs_the_sources_allow_list(db_engine: Engine, replay: Any) -> None:
    other = replay(
        [{"path": "/feed", "responses": [{"body": FEED, "content_type": "application/rss+xml"}]}]
    )
    first = replay(
        [
            {
                "path": "/old",
                "responses": [{"status": 302, "headers": {"Location": f"{other.url}/feed"}}],
            }
        ]
    )
    other_host = other.url.split("//")[1].split(":")[0]
    refused = fetch_feed(db_engine, f"{first.url}/old")
    assert refused.outcome == "failed" and "another origin refused" in (refused.error or "")
    # the allow-list names hosts; both replay servers are on 127.0.0.1 (ports differ)
    allowed = fetch_feed(
        db_engine, f"{first.url}/old", extra=f"    allow_redirects_to: [{other_host}]\n"
    )
    assert allowed.outcome == "ok", allowed.error


def test_redirect_limit(db_engine: Engine, replay: Any) -> None:
    hops = [
        {"path": f"/r{i}", "responses": [{"status": 302, "headers": {"Location": f"/r{i + 1}"}}]}
        for i in range(3)
    ]
    server = replay(
        [
            *hops,
            {"path": "/r3", "responses": [{"body": FEED, "content_type": "application/rss+xml"}]},
        ]
    )
    assert fetch_feed(db_engine, f"{server.url}/r0", max_redirects=3).outcome == "ok"
    limited = fetch_feed(db_engine, f"{server.url}/r0", max_redirects=2)
    assert limited.outcome == "failed" and "more than 2 redirects" in (limited.error or "")


# ------------------------------------------------------------------ 22. truncated pages


def test_handmade_truncated_nccih_page_is_a_warning_not_a_guidance_change(
    db_engine: Engine, replay: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    from digest.model import RecordChange

    v1 = (FIXTURES / "handmade" / "handmade_nccih_lowback_v1.html").read_text()
    handmade_cut = v1[: len(v1) // 2]  # a dropped connection
    handmade_short = (  # complete markup, but the main text mostly gone (an error frame)
        "<html><body><main><h1>Low-Back Pain</h1><p>Temporarily unavailable.</p></main>"
        "</body></html>"
    )
    page = "/health/low-back-pain"
    server = replay(
        [
            {
                "path": page,
                "responses": [
                    {"body": v1, "content_type": "text/html"},
                    {"body": handmade_cut, "content_type": "text/html"},
                    {"body": handmade_short, "content_type": "text/html"},
                    {"file": "handmade_nccih_lowback_v2.html", "content_type": "text/html"},
                ],
            }
        ],
        root=FIXTURES / "handmade",
    )
    settings = make_settings(
        db_engine.url.render_as_string(hide_password=False),
        "  - name: nccih\n    kind: nccih\n    pages:\n"
        f"      - url: https://www.nccih.nih.gov{page}\n    base_url: {server.url}\n",
    )
    client = client_for(settings)
    now = datetime(2026, 11, 20, tzinfo=UTC)
    results = [
        fetch_one(db_engine, client, settings.sources[0], now=now + timedelta(days=d))
        for d in range(4)
    ]
    assert [r.failed for r in results] == [False] * 4
    assert not results[0].warnings
    assert "closing </html>" in " ".join(results[1].warnings)
    assert "under half" in " ".join(results[2].warnings)
    with Session(db_engine) as session:
        changes = list(session.exec(select(RecordChange)))
    assert len(changes) == 1  # only the genuine edit (v2), not "sections removed/added"
