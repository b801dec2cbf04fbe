"""The Crossref fetcher against the replay server, on genuine /works answers
(tests/fixtures/corpus/crossref/PROVENANCE.md); inline bodies are marked HAND-MADE."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from digest.http.client import Http
from digest.http.politeness import RateLimiter
from digest.ingest.run import fetch_one
from digest.model import Record, SourceState
from tests.conftest import CORPUS, make_settings

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PAGE1 = "crossref/habanero_works_query-widget_cursor-page1.json"
PAGE2 = "crossref/habanero_works_query-widget_cursor-page2.json"
NOTICES = "crossref/uws_works_filter-updates_10.1016_s0140-6736(97)11096-0.json"
SCROLL = json.loads((CORPUS / PAGE1).read_text())["message"]["next-cursor"]
# HAND-MADE: the documented end of a cursor walk, an empty items list
EMPTY_PAGE = json.dumps(
    {"status": "ok", "message-type": "work-list", "message": {"items": [], "next-cursor": SCROLL}}
)


def json_file(path: str) -> dict[str, Any]:
    return {"file": path, "content_type": "application/json"}


def cursor_routes() -> list[dict[str, Any]]:
    """Two genuine cursor pages (Crossref repeats the scroll cursor), then the end."""
    return [
        {"path": "/works", "match": {"cursor": "*"}, "responses": [json_file(PAGE1)]},
        {
            "path": "/works",
            "match": {"cursor": SCROLL},
            "responses": [
                json_file(PAGE2),
                {"body": EMPTY_PAGE, "content_type": "application/json"},
            ],
        },
    ]


def notice_routes() -> list[dict[str, Any]]:
    """One genuine page of two notices: no next-cursor, so no second request."""
    return [{"path": "/works", "responses": [json_file(NOTICES)]}]


def crossref_source(url: str, extra: str = "") -> str:
    return f"  - name: cr\n    kind: crossref\n    base_url: {url}\n    rows: 20\n{extra}"


def client_for(settings: Any) -> Http:
    return Http(
        settings.http,
        settings.contact_email,
        sleep=lambda _s: None,
        limiter=RateLimiter(sleep=lambda _s: None),
    )


def run(db_engine: Engine, server: Any, extra: str = "", now: datetime = NOW) -> Any:
    settings = make_settings(
        db_engine.url.render_as_string(hide_password=False), crossref_source(server.url, extra)
    )
    return fetch_one(db_engine, client_for(settings), settings.sources[0], now=now)


def test_cursor_walk_to_the_empty_page(db_engine: Engine, replay: Any) -> None:
    server = replay(cursor_routes(), root=CORPUS)
    result = run(db_engine, server)
    assert result.outcome == "ok", result.error
    assert result.summary.fetched == 40 and result.summary.new == 40
    cursors = [r.params["cursor"] for r in server.requests]
    assert cursors == ["*", SCROLL, SCROLL]
    first = server.requests[0].params
    assert first["filter"] == "update-type:retraction,from-update-date:2026-10-21"
    assert first["rows"] == "20" and first["mailto"] == "test@example.org"
    with Session(db_engine) as session:
        state = session.get(SourceState, "cr")
    assert state is not None and state.cursor == {"updated_since": "2026-11-19"}


def test_notices_are_stored_with_their_relations(db_engine: Engine, replay: Any) -> None:
    server = replay(notice_routes(), root=CORPUS)
    result = run(
        db_engine,
        server,
        "    update_types: [retraction, expression_of_concern]\n    query: wakefield\n",
    )
    assert result.outcome == "ok", result.error
    assert len(server.requests) == 1  # no next-cursor: the list is complete
    params = server.requests[0].params
    assert params["filter"].startswith("update-type:retraction,update-type:expression_of_concern,")
    assert params["query"] == "wakefield"
    with Session(db_engine) as session:
        rows = {r.source_id: r.data for r in session.exec(select(Record))}
    kinds = {doi: [rel["kind"] for rel in data["relations"]] for doi, data in rows.items()}
    assert kinds == {
        "10.1016/s0140-6736(04)15715-2": ["erratum-for"],
        "10.1016/s0140-6736(10)60175-4": ["retraction-of"],
    }


def test_since_and_the_stored_cursor_set_the_window(db_engine: Engine, replay: Any) -> None:
    server = replay(notice_routes(), root=CORPUS)
    assert run(db_engine, server).outcome == "ok"
    assert run(db_engine, server, now=NOW + timedelta(days=7)).outcome == "ok"
    windows = [r.params["filter"].rsplit(":", 1)[1] for r in server.requests]
    assert windows == ["2026-10-21", "2026-11-19"]  # backfill, then the cursor's day


def test_a_404_fails_the_source_and_stores_nothing(db_engine: Engine, replay: Any) -> None:
    server = replay(
        [
            {
                "path": "/works",
                "responses": [
                    {
                        "status": 404,
                        "file": "crossref/habanero_works_10.1371_notarealdoi_404.txt",
                        "content_type": "text/plain",
                    }
                ],
            }
        ],
        root=CORPUS,
    )
    result = run(db_engine, server)
    assert result.outcome == "failed" and "404" in (result.error or "")
    with Session(db_engine) as session:
        assert session.exec(select(Record)).first() is None
