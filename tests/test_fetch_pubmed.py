"""The PubMed fetcher against recorded E-utilities payloads served on 127.0.0.1.

Every body served is a genuine recording from tests/fixtures/corpus, except the few
inline bodies marked HAND-MADE (an HTML maintenance page, a 429 JSON body).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from digest.http.client import Http
from digest.http.politeness import RateLimiter
from digest.ingest.run import fetch_one, fetch_sources
from digest.model import FetchRun, Payload, Record, SourceState
from tests.conftest import make_settings

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
ESEARCH = "/entrez/eutils/esearch.fcgi"
EFETCH = "/entrez/eutils/efetch.fcgi"
ESEARCH_259 = "pubmed-esearch/hawc_esearch_259_ids_complex_query.xml"
EFETCH_259 = "pubmed-efetch/hawc_efetch_259_phthalates_liver.xml"
# HAND-MADE: what NCBI's maintenance page looks like in spirit; not a recording.
HANDMADE_HTML_PAGE = "<html><head><title>Maintenance</title></head><body>Down</body></html>"


def ok(file: str) -> dict[str, Any]:
    return {"file": file, "content_type": "text/xml; charset=UTF-8"}


def routes(esearch: list[dict[str, Any]], efetch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"path": ESEARCH, "responses": esearch}, {"path": EFETCH, "responses": efetch}]


class Sleeps:
    """Records the sleeps the client asks for instead of sleeping (rate limit, backoff)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def setup(db_engine: Engine, server_url: str, extra_source: str = "", **http: Any) -> Any:
    url = db_engine.url.render_as_string(hide_password=False)
    sources = (
        "  - name: pm\n    kind: pubmed\n    query: acupuncture AND pain\n"
        f"    base_url: {server_url}/entrez/eutils\n    batch_size: 500\n" + extra_source
    )
    settings = make_settings(url, sources)
    if http:
        settings = settings.model_copy(update={"http": settings.http.model_copy(update=http)})
    sleeps, waits = Sleeps(), Sleeps()
    client = Http(
        settings.http,
        settings.contact_email,
        settings.tool_name,
        sleep=sleeps,
        limiter=RateLimiter(sleep=waits),
    )
    client.waits = waits  # type: ignore[attr-defined]
    return settings, client, sleeps


def count(engine: Engine, model: Any) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def cursor(engine: Engine, name: str = "pm") -> dict[str, Any]:
    with Session(engine) as session:
        state = session.get(SourceState, name)
        return dict(state.cursor) if state else {}


def test_fetch_stores_every_article_and_moves_the_cursor(db_engine: Engine, replay: Any) -> None:
    server = replay(routes([ok(ESEARCH_259)], [ok(EFETCH_259)]))
    settings, client, _ = setup(db_engine, server.url)

    result = fetch_one(db_engine, client, settings.sources[0], now=NOW)

    assert result.outcome == "ok", result.error
    assert (result.summary.fetched, result.summary.new) == (259, 259)
    assert count(db_engine, Record) == 259
    # a day of overlap: NCBI's Entrez dates are US-Eastern days
    assert cursor(db_engine) == {"edat_through": "2026-11-19", "retry_pmids": []}
    search = next(r for r in server.requests if r.path == ESEARCH)
    assert search.params["usehistory"] == "y"
    assert search.params["datetype"] == "edat"
    assert search.params["mindate"] == "2026/10/21"  # first run: 30-day backfill
    assert search.params["maxdate"] == "2026/11/20"
    assert search.params["tool"] == "digest" and search.params["email"] == "test@example.org"
    fetch = next(r for r in server.requests if r.path == EFETCH)
    assert fetch.method == "POST"  # 259 ids: more than a GET may carry
    assert len(fetch.params["id"].split(",")) == 259
    assert (
        "digest/" in fetch.headers["user-agent"]
        and "test@example.org" in fetch.headers["user-agent"]
    )


def test_fetching_the_same_window_twice_changes_nothing(db_engine: Engine, replay: Any) -> None:
    server = replay(routes([ok(ESEARCH_259)], [ok(EFETCH_259)]))
    settings, client, _ = setup(db_engine, server.url)
    fetch_one(db_engine, client, settings.sources[0], now=NOW)
    with Session(db_engine) as session:
        before = {(r.source_id, r.content_hash) for r in session.exec(select(Record))}

    again = fetch_one(db_engine, client, settings.sources[0], now=NOW + timedelta(days=1))

    assert (again.summary.new, again.summary.updated, again.summary.unchanged) == (0, 0, 259)
    with Session(db_engine) as session:
        after = {(r.source_id, r.content_hash) for r in session.exec(select(Record))}
    assert before == after
    assert count(db_engine, Payload) == 1  # the same efetch body, stored once by its hash
    search = [r for r in server.requests if r.path == ESEARCH][-1]
    assert search.params["mindate"] == "2026/11/19"  # resumes from the cursor


def test_small_batches_are_fetched_with_get(db_engine: Engine, replay: Any) -> None:
    server = replay(routes([ok(ESEARCH_259)], [ok(EFETCH_259)]))
    settings, client, _ = setup(db_engine, server.url)
    config = settings.sources[0].model_copy(update={"batch_size": 100})

    result = fetch_one(db_engine, client, config, now=NOW)

    assert result.outcome == "ok", result.error
    fetches = [r for r in server.requests if r.path == EFETCH]
    assert [r.method for r in fetches] == ["GET", "GET", "GET"]  # 259 ids in batches of 100
    assert [len(r.params["id"].split(",")) for r in fetches] == [100, 100, 59]


def test_an_esearch_with_fewer_ids_than_its_count_fails(db_engine: Engine, replay: Any) -> None:
    # genuine: a second page (retstart=3, retmax=3) of a 6-hit search; we ask for all ids,
    # so an answer like this means NCBI dropped some: fail rather than lose them
    seed_cursor(db_engine)
    server = replay(
        routes(
            [ok("pubmed-esearch/hawc_esearch_breast_cancer_retstart3.xml")],
            [ok("pubmed-efetch/hawc_efetch_6_science_breast_cancer.xml")],
        )
    )
    settings, client, _ = setup(db_engine, server.url)
    result = fetch_one(db_engine, client, settings.sources[0], now=NOW)
    assert_failed_cleanly(db_engine, result, "reported 6 hits but returned 3 ids")


def test_pmids_efetch_missed_are_retried_once(db_engine: Engine, replay: Any) -> None:
    # genuine recordings with a gap: the 259-id search answered by the 20-article efetch;
    # the next run's search finds nothing new (a genuine zero-hit answer)
    server = replay(
        routes(
            [
                ok(ESEARCH_259),
                ok(ESEARCH_259),
                ok("pubmed-esearch/biopython_esearch_zero_results_errorlist.xml"),
            ],
            [ok("pubmed-efetch/hawc_efetch_20_articles.xml")],
        )
    )
    settings, client, _ = setup(db_engine, server.url)
    first = fetch_one(db_engine, client, settings.sources[0], now=NOW)
    assert first.outcome == "ok", first.error
    missed = cursor(db_engine)["retry_pmids"]
    assert len(missed) == 259 - 20 or len(missed) > 200
    assert any("efetch returned no article" in w for w in first.warnings)

    second = fetch_one(db_engine, client, settings.sources[0], now=NOW)

    assert second.outcome == "ok", second.error
    retry = [r for r in server.requests if r.path == EFETCH][-1]
    assert retry.params["id"].split(",") == missed  # asked again, once
    assert any("given up" in w for w in second.warnings)
    assert cursor(db_engine)["retry_pmids"] == []


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_errors_are_retried_with_backoff(
    db_engine: Engine, replay: Any, status: int
) -> None:
    # HAND-MADE 429 body in the shape NCBI is reported to send
    failing = {
        "status": status,
        "body": '{"error":"API rate limit exceeded"}',
        "content_type": "application/json",
        "headers": {"Retry-After": "0"},
    }
    server = replay(routes([failing, ok(ESEARCH_259)], [failing, failing, ok(EFETCH_259)]))
    settings, client, sleeps = setup(db_engine, server.url)

    result = fetch_one(db_engine, client, settings.sources[0], now=NOW)

    assert result.outcome == "ok", result.error
    assert count(db_engine, Record) == 259
    # esearch x2, efetch x3, then the mdat esearch (its ids were all just fetched)
    assert len(server.requests) == 6
    assert [r.params["datetype"] for r in server.requests if r.path == ESEARCH] == [
        "edat",
        "edat",
        "mdat",
    ]
    assert sleeps.calls == [0.01, 0.01, 0.02]  # exponential from backoff_base, per request


def test_retry_after_is_honoured(db_engine: Engine, replay: Any) -> None:
    limited = {"status": 429, "body": "{}", "headers": {"Retry-After": "7"}}
    server = replay(routes([limited, ok(ESEARCH_259)], [ok(EFETCH_259)]))
    settings, client, sleeps = setup(db_engine, server.url, backoff_max=60.0)
    fetch_one(db_engine, client, settings.sources[0], now=NOW)
    assert 7.0 in sleeps.calls


def assert_failed_cleanly(db_engine: Engine, result: Any, words: str) -> None:
    assert result.outcome == "failed"
    assert words in (result.error or ""), result.error
    assert "pm" in (result.error or "")  # names the source
    assert count(db_engine, Record) == 0
    assert count(db_engine, Payload) == 0
    assert cursor(db_engine) == {"edat_through": "2026-11-01"}  # unmoved
    with Session(db_engine) as session:
        run = session.exec(select(FetchRun).order_by(FetchRun.id.desc())).first()  # type: ignore[union-attr]
        assert run is not None and run.outcome == "failed" and run.error


def seed_cursor(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        session.add(SourceState(name="pm", kind="pubmed", cursor={"edat_through": "2026-11-01"}))
        session.commit()


@pytest.mark.parametrize(
    ("esearch", "efetch", "words"),
    [
        (
            [ok("pubmed-esearch/eutilsjson_esearch_invalid_db_error.xml")],
            [ok(EFETCH_259)],
            "Invalid db name",
        ),
        ([{"body": HANDMADE_HTML_PAGE, "content_type": "text/html"}], [ok(EFETCH_259)], "html"),
        ([ok(ESEARCH_259)], [{"body": HANDMADE_HTML_PAGE, "content_type": "text/html"}], "html"),
        ([{"status": 500, "body": "boom"}], [ok(EFETCH_259)], "HTTP 500"),
        ([{"status": 400, "body": "bad request"}], [ok(EFETCH_259)], "HTTP 400"),
    ],
    ids=["error-element", "html-esearch", "html-efetch", "5xx-forever", "4xx"],
)
def test_bad_answers_fail_the_source_and_store_nothing(
    db_engine: Engine,
    replay: Any,
    esearch: list[dict[str, Any]],
    efetch: list[dict[str, Any]],
    words: str,
) -> None:
    seed_cursor(db_engine)
    server = replay(routes(esearch, efetch))
    settings, client, _ = setup(db_engine, server.url)
    result = fetch_one(db_engine, client, settings.sources[0], now=NOW)
    assert_failed_cleanly(db_engine, result, words)


def test_truncated_xml_fails_cleanly(db_engine: Engine, replay: Any, tmp_path: Any) -> None:
    from tests.conftest import CORPUS

    # HAND-MADE truncation of a genuine recording: its first half, served as complete.
    half = (CORPUS / EFETCH_259).read_bytes()[:1_500_000].decode("utf-8", "ignore")
    seed_cursor(db_engine)
    server = replay(routes([ok(ESEARCH_259)], [{"body": half, "content_type": "text/xml"}]))
    settings, client, _ = setup(db_engine, server.url)
    result = fetch_one(db_engine, client, settings.sources[0], now=NOW)
    assert_failed_cleanly(db_engine, result, "truncated")


def test_connection_cut_mid_body_is_retried_then_fails(db_engine: Engine, replay: Any) -> None:
    cut = {**ok(EFETCH_259), "truncate": 50_000}
    seed_cursor(db_engine)
    server = replay(routes([ok(ESEARCH_259)], [cut]))
    settings, client, _ = setup(db_engine, server.url)
    result = fetch_one(db_engine, client, settings.sources[0], now=NOW)
    assert_failed_cleanly(db_engine, result, "gave up after 4 attempt(s)")
    assert len([r for r in server.requests if r.path == EFETCH]) == 4


def test_timeout_is_retried_then_succeeds(db_engine: Engine, replay: Any) -> None:
    slow = {**ok(ESEARCH_259), "delay": 0.6}
    server = replay(routes([slow, ok(ESEARCH_259)], [ok(EFETCH_259)]))
    settings, client, _ = setup(db_engine, server.url, read_timeout=0.2)
    result = fetch_one(db_engine, client, settings.sources[0], now=NOW)
    assert result.outcome == "ok", result.error
    assert count(db_engine, Record) == 259


def test_timeouts_exhaust_retries(db_engine: Engine, replay: Any) -> None:
    seed_cursor(db_engine)
    server = replay(routes([{**ok(ESEARCH_259), "delay": 0.5}], [ok(EFETCH_259)]))
    settings, client, _ = setup(db_engine, server.url, read_timeout=0.1, max_retries=1)
    result = fetch_one(db_engine, client, settings.sources[0], now=NOW)
    assert_failed_cleanly(db_engine, result, "timed out")


def test_response_size_cap(db_engine: Engine, replay: Any) -> None:
    seed_cursor(db_engine)
    server = replay(routes([ok(ESEARCH_259)], [ok(EFETCH_259)]))
    settings, client, _ = setup(db_engine, server.url, max_response_bytes=100_000)
    result = fetch_one(db_engine, client, settings.sources[0], now=NOW)
    assert_failed_cleanly(db_engine, result, "cap")


def test_a_window_with_too_many_hits_is_split(db_engine: Engine, replay: Any) -> None:
    big = ok("pubmed-esearch/biopython_esearch_usehistory_webenv.xml")  # Count 42249
    small = ok(ESEARCH_259)  # Count 259
    server = replay(
        [
            {
                "path": ESEARCH,
                "match": {"mindate": "2026/11/10", "maxdate": "2026/11/20"},
                "responses": [big],
            },
            {"path": ESEARCH, "responses": [small]},
            {
                "path": EFETCH,
                "responses": [ok(EFETCH_259)],
            },
        ]
    )
    settings, client, _ = setup(db_engine, server.url)

    result = fetch_one(db_engine, client, settings.sources[0], since=date(2026, 11, 10), now=NOW)

    assert result.outcome == "ok", result.error
    windows = [
        (r.params["mindate"], r.params["maxdate"])
        for r in server.requests
        if r.path == ESEARCH and r.params["datetype"] == "edat"
    ]
    assert windows == [
        ("2026/11/10", "2026/11/20"),
        ("2026/11/10", "2026/11/15"),
        ("2026/11/16", "2026/11/20"),
    ]


def test_one_failing_source_does_not_stop_the_others(db_engine: Engine, replay: Any) -> None:
    server = replay(routes([ok(ESEARCH_259)], [ok(EFETCH_259)]))
    broken = (
        "  - name: broken\n    kind: pubmed\n    query: x\n"
        "    base_url: http://127.0.0.1:9/entrez/eutils\n"
    )
    settings, client, _ = setup(db_engine, server.url, extra_source=broken, max_retries=0)
    results = fetch_sources(settings, db_engine, client, now=NOW)
    outcomes = {r.name: r.outcome for r in results}
    assert outcomes == {"pm": "ok", "broken": "failed"}
    assert count(db_engine, Record) == 259
    assert cursor(db_engine, "broken") == {}


def test_rate_limit_spaces_requests(db_engine: Engine, replay: Any) -> None:
    server = replay(routes([ok(ESEARCH_259)], [ok(EFETCH_259)]))
    settings, client, _ = setup(db_engine, server.url)
    # Without an API key NCBI allows 3/s: the client aims under it.
    assert client.rate_for("eutils.ncbi.nlm.nih.gov") < 3
    client.ncbi_api_key = "secret"
    assert 3 < client.rate_for("eutils.ncbi.nlm.nih.gov") < 10
    fetch_one(db_engine, client, settings.sources[0], now=NOW)
    assert any(r.params.get("api_key") == "secret" for r in server.requests)
    waits = client.waits.calls  # type: ignore[attr-defined]
    assert any(0 < s <= 1 / 9 + 1e-6 for s in waits)  # the second request waited its turn


def test_a_run_left_running_by_a_killed_process_is_closed(db_engine: Engine, replay: Any) -> None:
    with Session(db_engine) as session:  # what a SIGKILL mid-fetch leaves behind
        session.add(FetchRun(source="pm", kind="pubmed", started_at=NOW - timedelta(days=1)))
        session.commit()
    server = replay(routes([ok(ESEARCH_259)], [ok(EFETCH_259)]))
    settings, client, _ = setup(db_engine, server.url)
    fetch_one(db_engine, client, settings.sources[0], now=NOW)
    with Session(db_engine) as session:
        outcomes = [r.outcome for r in session.exec(select(FetchRun).order_by(FetchRun.id))]  # type: ignore[arg-type]
    assert outcomes == ["interrupted", "ok"]


def test_the_api_key_never_reaches_errors_logs_or_payload_urls(
    db_engine: Engine, replay: Any, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "NCBI-SECRET-KEY-123"
    server = replay(
        routes(
            [ok(ESEARCH_259)],
            [{"body": HANDMADE_HTML_PAGE, "content_type": "text/html"}],
        )
    )
    settings, client, _ = setup(db_engine, server.url)
    client.ncbi_api_key = secret
    config = settings.sources[0].model_copy(update={"batch_size": 100})  # GET: key in URL
    result = fetch_one(db_engine, client, config, now=NOW)
    assert result.outcome == "failed"
    assert server.requests[0].params["api_key"] == secret  # sent to NCBI...
    assert secret not in (result.error or "") and "api_key=***" in (result.error or "")
    assert secret not in caplog.text  # ...and nowhere else
    with Session(db_engine) as session:
        runs = list(session.exec(select(FetchRun)))
    assert all(secret not in (run.error or "") for run in runs)
