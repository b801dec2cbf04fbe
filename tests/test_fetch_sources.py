"""ClinicalTrials.gov, Europe PMC, RSS/PubMed RSS and NCCIH fetchers against the replay server.

Bodies are genuine recordings from tests/fixtures/corpus, except files named handmade_*
(tests/fixtures/HANDMADE.md) and inline bodies marked HAND-MADE.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from digest.http.client import Http
from digest.http.politeness import RateLimiter
from digest.ingest.run import fetch_one
from digest.model import FetchRun, Record, RecordChange, SourceState
from tests.conftest import CORPUS, FIXTURES, make_settings

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CT = "clinicaltrials/"
PAGE1, PAGE2 = (
    CT + "biomcp_v2_search_phelan_page1_fields.json",
    CT + "biomcp_v2_search_phelan_page2_fields.json",
)
PAIN = CT + "biomcp_v2_search_pain_psychoeducation_1study.json"
EP = "europepmc/"
HANDMADE = FIXTURES / "handmade"


def token(path: str, key: str) -> str:
    return str(json.loads((CORPUS / path).read_text())[key])


def client_for(settings: Any) -> Http:
    return Http(
        settings.http,
        settings.contact_email,
        sleep=lambda _s: None,
        limiter=RateLimiter(sleep=lambda _s: None),
    )


def settings_with(db_engine: Engine, source_yaml: str) -> Any:
    return make_settings(db_engine.url.render_as_string(hide_password=False), source_yaml)


def count(engine: Engine, model: Any) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def cursor_of(engine: Engine, name: str) -> dict[str, Any]:
    with Session(engine) as session:
        state = session.get(SourceState, name)
        return dict(state.cursor) if state else {}


def json_file(path: str) -> dict[str, Any]:
    return {"file": path, "content_type": "application/json"}


# ---------------------------------------------------------------- ClinicalTrials.gov


def ct_routes(first: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [
        {
            "path": "/api/v2/studies",
            "match": {"pageToken": token(PAGE1, "nextPageToken")},
            "responses": [json_file(PAGE2)],
        },
        {
            "path": "/api/v2/studies",
            "match": {"pageToken": token(PAGE2, "nextPageToken")},
            "responses": [json_file(PAIN)],
        },
        {
            "path": "/api/v2/studies",
            "match": {"pageToken": token(PAIN, "nextPageToken")},
            # HAND-MADE: the documented empty last page
            "responses": [{"body": '{"studies": []}', "content_type": "application/json"}],
        },
        {"path": "/api/v2/studies", "responses": [first or json_file(PAGE1)]},
    ]


def ct_source(url: str) -> str:
    return (
        "  - name: ct\n    kind: clinicaltrials\n    cond: pain\n    intr: acupuncture\n"
        f"    base_url: {url}/api/v2\n    page_size: 5\n"
    )


def test_clinicaltrials_pages_to_the_end_repeating_parameters(
    db_engine: Engine, replay: Any
) -> None:
    server = replay(ct_routes())
    settings = settings_with(db_engine, ct_source(server.url))

    result = fetch_one(db_engine, client_for(settings), settings.sources[0], now=NOW)

    assert result.outcome == "ok", result.error
    assert result.summary.new == 11  # 5 + 5 + 1 genuine studies, then an empty page
    assert [r.params.get("pageToken") is not None for r in server.requests] == [
        False,
        True,
        True,
        True,
    ]
    first = server.requests[0].params
    assert first["countTotal"] == "true"
    assert first["filter.advanced"] == "AREA[LastUpdatePostDate]RANGE[2026-10-21,MAX]"
    for later in server.requests[1:]:
        assert "countTotal" not in later.params
        for key in ("query.cond", "query.intr", "filter.advanced", "pageSize", "format"):
            assert later.params[key] == first[key]
    assert cursor_of(db_engine, "ct") == {"updated_since": "2026-11-19"}  # a day of overlap


def test_clinicaltrials_malformed_json_stores_nothing(db_engine: Engine, replay: Any) -> None:
    cut = (CORPUS / PAGE1).read_text()[:3000]  # HAND-MADE truncation of a genuine page
    server = replay(ct_routes({"body": cut, "content_type": "application/json"}))
    settings = settings_with(db_engine, ct_source(server.url))
    result = fetch_one(db_engine, client_for(settings), settings.sources[0], now=NOW)
    assert result.outcome == "failed"
    assert "ct" in (result.error or "")
    assert count(db_engine, Record) == 0
    assert cursor_of(db_engine, "ct") == {}


def test_clinicaltrials_failure_on_a_later_page_stores_nothing(
    db_engine: Engine, replay: Any
) -> None:
    routes = ct_routes()
    routes[1]["responses"] = [{"status": 503, "body": "busy"}]
    server = replay(routes)
    settings = settings_with(db_engine, ct_source(server.url))
    result = fetch_one(db_engine, client_for(settings), settings.sources[0], now=NOW)
    assert result.outcome == "failed" and "503" in (result.error or "")
    assert count(db_engine, Record) == 0  # the first two good pages are not half-stored


def test_registry_update_is_recorded_as_a_change(db_engine: Engine, replay: Any) -> None:
    original = json.loads((CORPUS / PAIN).read_text())
    updated = json.loads((CORPUS / PAIN).read_text())  # HAND-MADE edit of a genuine record
    status = updated["studies"][0]["protocolSection"].setdefault("statusModule", {})
    status["overallStatus"] = "TERMINATED"
    for body in (original, updated):
        body.pop("nextPageToken", None)
    server = replay(
        [
            {
                "path": "/api/v2/studies",
                "responses": [
                    {"body": json.dumps(original), "content_type": "application/json"},
                    {"body": json.dumps(updated), "content_type": "application/json"},
                ],
            }
        ]
    )
    settings = settings_with(db_engine, ct_source(server.url))
    fetch_one(db_engine, client_for(settings), settings.sources[0], now=NOW)
    second = fetch_one(
        db_engine, client_for(settings), settings.sources[0], now=NOW + timedelta(days=1)
    )
    assert second.summary.updated == 1
    with Session(db_engine) as session:
        changes = list(session.exec(select(RecordChange)))
    assert len(changes) == 1
    assert "TERMINATED" in changes[0].summary


# ---------------------------------------------------------------- Europe PMC


def test_europepmc_cursor_paging_to_the_end(db_engine: Engine, replay: Any) -> None:
    core = json.loads((CORPUS / EP / "pyeuropepmc_search_cancer_core_25.json").read_text())
    lite = json.loads((CORPUS / EP / "pyeuropepmc_search_cancer_lite_1000.json").read_text())
    server = replay(
        [
            {
                "path": "/rest/search",
                "match": {"cursorMark": core["nextCursorMark"]},
                "responses": [json_file(EP + "pyeuropepmc_search_cancer_lite_1000.json")],
            },
            {
                "path": "/rest/search",
                "match": {"cursorMark": lite["nextCursorMark"]},
                "responses": [json_file(EP + "pyeuropepmc_search_no_results.json")],
            },
            {
                "path": "/rest/search",
                "match": {"cursorMark": "*"},
                "responses": [json_file(EP + "pyeuropepmc_search_cancer_core_25.json")],
            },
        ]
    )
    settings = settings_with(
        db_engine,
        (
            "  - name: ep\n    kind: europepmc\n    query: TITLE_ABS:acupuncture\n"
            f"    base_url: {server.url}/rest\n"
        ),
    )

    result = fetch_one(db_engine, client_for(settings), settings.sources[0], now=NOW)

    assert result.outcome == "ok", result.error
    assert len(server.requests) == 3
    first = server.requests[0].params
    assert first["resultType"] == "core" and first["format"] == "json"
    assert "FIRST_PDATE:[2026-10-21 TO 2026-11-20]" in first["query"]
    ids = {r["source"] + ":" + r["id"] for r in core["resultList"]["result"]}
    ids |= {r["source"] + ":" + r["id"] for r in lite["resultList"]["result"]}
    assert count(db_engine, Record) == len(ids)
    assert cursor_of(db_engine, "ep") == {"published_since": "2026-11-06"}  # indexing lag


def test_europepmc_html_error_page_fails_cleanly(db_engine: Engine, replay: Any) -> None:
    server = replay(
        [
            {
                "path": "/rest/search",
                "responses": [{"file": "handmade_error_page.html", "content_type": "text/html"}],
            }
        ],
        root=HANDMADE,
    )
    settings = settings_with(
        db_engine,
        (f"  - name: ep\n    kind: europepmc\n    query: x\n    base_url: {server.url}/rest\n"),
    )
    result = fetch_one(db_engine, client_for(settings), settings.sources[0], now=NOW)
    assert result.outcome == "failed" and "ep" in (result.error or "")
    assert count(db_engine, Record) == 0


# ---------------------------------------------------------------- feeds


RSS_PATH = "/rss/search/1HandMadeFixtureFeedId00000000000000000000000000000/"


def rss_source(url: str) -> str:
    return (
        "  - name: prss\n    kind: pubmed_rss\n"
        f"    url: https://pubmed.ncbi.nlm.nih.gov{RSS_PATH}?limit=15&fc=1\n"
        f"    base_url: {url}\n"
    )


def test_pubmed_rss_conditional_get_304_stores_nothing(db_engine: Engine, replay: Any) -> None:
    feed = {
        "file": "handmade_pubmed_rss_fetch1.xml",
        "content_type": "application/rss+xml",
        "etag": '"v1"',
    }
    server = replay([{"path": RSS_PATH, "responses": [feed]}], root=HANDMADE)
    settings = settings_with(db_engine, rss_source(server.url))
    first = fetch_one(db_engine, client_for(settings), settings.sources[0], now=NOW)
    assert first.outcome == "ok" and first.summary.new > 0
    stored = count(db_engine, Record)
    cursor = cursor_of(db_engine, "prss")

    second = fetch_one(
        db_engine, client_for(settings), settings.sources[0], now=NOW + timedelta(hours=1)
    )

    assert server.requests[1].headers.get("if-none-match") == '"v1"'
    assert second.outcome == "not-modified"
    assert count(db_engine, Record) == stored
    assert cursor_of(db_engine, "prss") == cursor
    with Session(db_engine) as session:
        runs = [r.outcome for r in session.exec(select(FetchRun).order_by(FetchRun.id))]  # type: ignore[arg-type]
    assert runs == ["ok", "not-modified"]


def test_pubmed_rss_tracking_parameters_never_make_old_items_new(
    db_engine: Engine, replay: Any
) -> None:
    server = replay(
        [
            {
                "path": RSS_PATH,
                "responses": [
                    {
                        "file": "handmade_pubmed_rss_fetch1.xml",
                        "content_type": "application/rss+xml",
                    },
                    {
                        "file": "handmade_pubmed_rss_fetch2.xml",
                        "content_type": "application/rss+xml",
                    },
                ],
            }
        ],
        root=HANDMADE,
    )
    settings = settings_with(db_engine, rss_source(server.url))
    fetch_one(db_engine, client_for(settings), settings.sources[0], now=NOW)
    with Session(db_engine) as session:
        first_ids = {(r.source, r.source_id) for r in session.exec(select(Record))}
    second = fetch_one(db_engine, client_for(settings), settings.sources[0], now=NOW)
    with Session(db_engine) as session:
        second_ids = {(r.source, r.source_id) for r in session.exec(select(Record))}
    assert second.outcome == "ok", second.error
    assert second_ids == first_ids  # the same items, whatever their links' tracking params
    assert ("pubmed_rss", "22663011") in first_ids


def test_truncated_feed_keeps_whole_items_but_not_its_validators(
    db_engine: Engine, replay: Any
) -> None:
    cut = {
        "file": "handmade_pubmed_rss_truncated.xml",
        "content_type": "application/rss+xml",
        "etag": '"cut"',
    }
    server = replay([{"path": RSS_PATH, "responses": [cut]}], root=HANDMADE)
    settings = settings_with(db_engine, rss_source(server.url))
    result = fetch_one(db_engine, client_for(settings), settings.sources[0], now=NOW)
    assert result.outcome == "ok", result.error
    assert any("not well-formed" in w for w in result.warnings)
    assert count(db_engine, Record) == result.summary.new > 0  # the complete items
    # no validator kept: the next run downloads the feed again instead of getting a 304
    assert cursor_of(db_engine, "prss") == {"validators": {}}
    fetch_one(db_engine, client_for(settings), settings.sources[0], now=NOW)
    assert "if-none-match" not in server.requests[1].headers


def test_html_page_instead_of_a_feed_fails_cleanly(db_engine: Engine, replay: Any) -> None:
    server = replay(
        [
            {
                "path": RSS_PATH,
                "responses": [{"file": "handmade_error_page.html", "content_type": "text/html"}],
            }
        ],
        root=HANDMADE,
    )
    settings = settings_with(db_engine, rss_source(server.url))
    result = fetch_one(db_engine, client_for(settings), settings.sources[0], now=NOW)
    assert result.outcome == "failed" and "prss" in (result.error or "")
    assert count(db_engine, Record) == 0 and cursor_of(db_engine, "prss") == {}


# ---------------------------------------------------------------- NCCIH


LOWBACK = "/health/low-back-pain"


def nccih_source(url: str) -> str:
    return (
        "  - name: nccih\n    kind: nccih\n    pages:\n"
        f"      - url: https://www.nccih.nih.gov{LOWBACK}\n        design: guideline\n"
        f"    base_url: {url}\n"
    )


def html(name: str) -> dict[str, Any]:
    return {"file": name, "content_type": "text/html; charset=utf-8"}


def test_nccih_page_change_gives_one_readable_change(db_engine: Engine, replay: Any) -> None:
    server = replay(
        [
            {
                "path": LOWBACK,
                "responses": [
                    html("handmade_nccih_lowback_v1.html"),
                    html("handmade_nccih_lowback_v1.html"),
                    html("handmade_nccih_lowback_v2.html"),
                ],
            }
        ],
        root=HANDMADE,
    )
    settings = settings_with(db_engine, nccih_source(server.url))
    client = client_for(settings)
    for day in range(3):
        result = fetch_one(db_engine, client, settings.sources[0], now=NOW + timedelta(days=day))
        assert result.outcome == "ok", result.error
    with Session(db_engine) as session:
        changes = list(session.exec(select(RecordChange)))
        record = session.exec(select(Record)).one()
    assert len(changes) == 1  # the unchanged second fetch produced none
    assert changes[0].summary.startswith("NCCIH updated its guidance")
    assert changes[0].diff["notable"] is True
    assert changes[0].diff["added"] or changes[0].diff["changed"]
    assert record.data["extra"]["design"] == "guideline"
    snapshot = record.data["extra"]["snapshot"]
    assert "Skip to main content" not in snapshot


def test_pubmed_rss_enrichment_fetches_full_records(db_engine: Engine, replay: Any) -> None:
    server = replay(
        [
            {
                "path": RSS_PATH,
                "responses": [
                    {
                        "file": "handmade/handmade_pubmed_rss_fetch1.xml",
                        "content_type": "application/rss+xml",
                    }
                ],
            },
            # genuine efetch of one of the feed's PMIDs; the others stay thin feed records
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
    settings = settings_with(
        db_engine,
        rss_source(server.url)
        + f"    enrich: true\n    eutils_base_url: {server.url}/entrez/eutils\n",
    )
    result = fetch_one(db_engine, client_for(settings), settings.sources[0], now=NOW)
    assert result.outcome == "ok", result.error
    fetch = next(r for r in server.requests if r.path.endswith("efetch.fcgi"))
    assert "22663011" in fetch.params["id"].split(",") and fetch.params["tool"] == "digest"
    with Session(db_engine) as session:
        rows = {(r.source, r.source_id): r for r in session.exec(select(Record))}
    assert ("pubmed", "22663011") in rows and ("pubmed_rss", "22663011") not in rows
    assert rows[("pubmed", "22663011")].data["mesh_terms"]  # the full efetch record
    assert ("pubmed_rss", "29768149") in rows  # not returned by efetch: kept from the feed
