"""Replay equals fetch, per kind: fetch a source against the replay server, then re-parse
every stored payload (the `payload` table) with its stored context and its kind's parser;
the records must be exactly the stored ones.

Each kind's source and recordings are the demo's (digest/recordings: genuine payloads,
except files named handmade_*: no genuine PubMed RSS, journal Atom or NCCIH page exists in
the corpus); Crossref's are genuine cursor pages of tests/fixtures/corpus/crossref.
pubmed_rss with enrichment adds a genuine efetch answer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from digest.app.demo import API_PATHS, REPLAY_DIR
from digest.http.client import Http
from digest.http.politeness import RateLimiter
from digest.ingest.imports import import_files
from digest.ingest.replay import replay_payloads
from digest.ingest.run import fetch_one
from digest.model import Payload, Record
from digest.sources import KINDS
from tests.conftest import CORPUS, FIXTURES, make_settings
from tests.test_fetch_crossref import crossref_source, cursor_routes

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DEMO = yaml.safe_load((REPLAY_DIR / "demo-sources.yaml").read_text(encoding="utf-8"))
MANIFEST = yaml.safe_load((REPLAY_DIR / "manifest.yaml").read_text(encoding="utf-8"))


def client_for(settings: Any) -> Http:
    return Http(
        settings.http,
        settings.contact_email,
        sleep=lambda _s: None,
        limiter=RateLimiter(sleep=lambda _s: None),
    )


def demo_source(kind: str, server_url: str, **extra: Any) -> str:
    source = next(s for s in DEMO["sources"] if s["kind"] == kind)
    source = {**source, "base_url": server_url + API_PATHS.get(kind, ""), **extra}
    return yaml.safe_dump([source], sort_keys=False)


def stored(engine: Engine) -> dict[tuple[str, str], dict[str, Any]]:
    with Session(engine) as session:
        return {(r.source, r.source_id): r.data for r in session.exec(select(Record))}


def assert_replay_equals_stored(engine: Engine) -> int:
    """Re-parse every payload; return how many payloads were checked."""
    with Session(engine) as session:
        payloads = list(replay_payloads(session))
        by_payload: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        for row in session.exec(select(Record)):
            by_payload.setdefault(row.payload_sha256 or "", {})[(row.source, row.source_id)] = (
                row.data
            )
    replayed: dict[tuple[str, str], dict[str, Any]] = {}
    for payload in payloads:
        again = {(r.source, r.source_id): r.to_json_dict() for r in payload.parsed.records}
        # every record this payload stored is what the payload parses to, field for field
        for key, data in by_payload.get(payload.sha256, {}).items():
            assert again.get(key) == data, (payload.url, key)
        replayed.update(again)
    # and nothing is stored that no payload says, nor said that was not stored
    assert replayed.keys() == stored(engine).keys()
    return len(payloads)


def fetch_kind(db_engine: Engine, replay: Any, kind: str, **extra: Any) -> None:
    server = replay(MANIFEST["routes"], root=REPLAY_DIR)
    settings = make_settings(
        db_engine.url.render_as_string(hide_password=False), demo_source(kind, server.url, **extra)
    )
    result = fetch_one(db_engine, client_for(settings), settings.sources[0], now=NOW)
    assert result.outcome == "ok", result.error
    assert result.summary.new > 0


def fetch_crossref(db_engine: Engine, replay: Any) -> None:
    """Crossref is not in the demo: its genuine cursor pages from the test corpus."""
    server = replay(cursor_routes(), root=CORPUS)
    settings = make_settings(
        db_engine.url.render_as_string(hide_password=False), crossref_source(server.url)
    )
    result = fetch_one(db_engine, client_for(settings), settings.sources[0], now=NOW)
    assert result.outcome == "ok", result.error


DEMO_KINDS = {s["kind"] for s in DEMO["sources"]}
OTHER_SETUPS = {"crossref": fetch_crossref}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_replay_equals_fetch(kind: str, db_engine: Engine, replay: Any) -> None:
    # a new kind needs a demo source (digest/recordings) or a setup here
    assert kind in DEMO_KINDS or kind in OTHER_SETUPS, f"no recordings for {kind}"
    if kind in DEMO_KINDS:
        fetch_kind(db_engine, replay, kind)
    else:
        OTHER_SETUPS[kind](db_engine, replay)
    assert assert_replay_equals_stored(db_engine) >= 1


def test_replay_equals_fetch_pubmed_rss_enriched(db_engine: Engine, replay: Any) -> None:
    server = replay(
        [
            {
                "path": "/rss/search/1HandMadeFixtureFeedId00000000000000000000000000000/",
                "responses": [
                    {
                        "file": "handmade/handmade_pubmed_rss_fetch1.xml",
                        "content_type": "application/rss+xml",
                    }
                ],
            },
            {
                "path": "/entrez/eutils/efetch.fcgi",
                "responses": [
                    {
                        "file": "corpus/pubmed-efetch/biomcp_efetch_22663011_nejm_trametinib.xml",
                        "content_type": "text/xml",
                    }
                ],
            },
        ],
        root=FIXTURES,
    )
    settings = make_settings(
        db_engine.url.render_as_string(hide_password=False),
        demo_source(
            "pubmed_rss",
            server.url,
            enrich=True,
            eutils_base_url=f"{server.url}/entrez/eutils",
        ),
    )
    result = fetch_one(db_engine, client_for(settings), settings.sources[0], now=NOW)
    assert result.outcome == "ok", result.error
    records = stored(db_engine)
    assert ("pubmed", "22663011") in records and ("pubmed_rss", "22663011") not in records
    with Session(db_engine) as session:
        contexts = [p.context for p in session.exec(select(Payload))]
    feed_url = next(s["url"] for s in DEMO["sources"] if s["kind"] == "pubmed_rss")
    assert {"url": feed_url, "enriched_pmids": ["22663011"]} in contexts
    assert assert_replay_equals_stored(db_engine) == 2


def test_replay_equals_import(db_engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(db_engine.url.render_as_string(hide_password=False), "  []")
    files = [REPLAY_DIR / name for name in DEMO["imports"]]
    import_files(settings, db_engine, files, now=NOW)
    assert assert_replay_equals_stored(db_engine) == len(files)


def test_rss_ids_are_prefixed_by_the_parser_from_context(db_engine: Engine, replay: Any) -> None:
    fetch_kind(db_engine, replay, "rss")
    name = next(s["name"] for s in DEMO["sources"] if s["kind"] == "rss")
    assert all(source_id.startswith(f"{name}:") for _s, source_id in stored(db_engine))
