"""The re-check's cost per 1,000 sent studies: requests per host and seconds, against the
loopback replay server, for the first check, the next day's incremental check and the
steady daily average.

    python -m bench.bench_recheck [--studies 1000] [--throttled 40]
    python -m bench bench_recheck        # the same, with the defaults

The watch list: `--studies` studies, each with a DOI and a PMID, carried by an issue, in
a fresh SQLite database (BENCH-MADE PubMed-shaped records, named so; nothing rendered).
The answers are genuine recordings (tests/fixtures/corpus/): every `/works/{doi}` gets
the genuine 404 body ("Resource not found.", a clean "not in Crossref"), every efetch the
genuine PMID 993 article (so the others count as missing), every ESearch the genuine
zero-hit answer, every notices query a HAND-MADE empty work-list.

Two clocks. "Measured" is the run unthrottled on loopback: digest's own cost (HTTP
client, parsing, storing, state). "At the polite rate" is what the rate limiter makes it
against the real hosts: Crossref at `http.rate_limits["api.crossref.org"]` (5 req/s, the
`x-rate-limit-limit` its answers carry), E-utilities at NCBI's 3 req/s without a key or
10 with one (each with the client's 10 % margin); the limiter waits per host, so the two
hosts' waits add up when the run asks them one after the other, as it does. Europe PMC
(asked by PMID with each full fetch, 100 a request) at `www.ebi.ac.uk`'s 5 req/s; it gets
the genuine no-results answer. A small run
with the limiter on (`--throttled` studies) checks the figure against the clock.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from digest.app.recheck import RecheckReport, run_recheck
from digest.app.replay import ReplayServer, routes_from
from digest.config import Settings, parse_settings
from digest.http.client import Http
from digest.http.politeness import RateLimiter
from digest.ingest.run import refresh_studies
from digest.model import Digest, ParseResult, RecordData, Study
from digest.sources import describe_change
from digest.store.db import make_engine, migrate
from digest.store.records import ParsedPage, save_outcome

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
NOW = datetime(2026, 12, 7, 4, 30, tzinfo=UTC)
# HAND-MADE: a notices query with no hit
EMPTY_LIST = '{"status": "ok", "message-type": "work-list", "message": {"items": []}}'
CROSSREF_RATE = 5.0
NCBI_RATE = 3.0 * 0.9
EPMC_RATE = 5.0  # http.rate_limits["www.ebi.ac.uk"]


def _routes(dois: list[str]) -> list[dict[str, Any]]:
    not_found = {
        "status": 404,
        "file": "crossref/habanero_works_10.1371_notarealdoi_404.txt",
        "content_type": "text/plain",
    }
    return [
        *({"path": f"/cr/works/{doi}", "responses": [not_found]} for doi in dois),
        {
            "path": "/cr/works",
            "responses": [{"body": EMPTY_LIST, "content_type": "application/json"}],
        },
        {
            "path": "/eu/efetch.fcgi",
            "responses": [
                {"file": "pubmed-efetch/neilfws_efetch_pmid993_retracted.xml",
                 "content_type": "text/xml"}
            ],
        },
        {
            "path": "/epmc/search",
            "responses": [
                {"file": "europepmc/pyeuropepmc_search_no_results.json",
                 "content_type": "application/json"}
            ],
        },
        {
            "path": "/eu/esearch.fcgi",
            "responses": [
                {"file": "pubmed-esearch/biopython_esearch_zero_results_errorlist.xml",
                 "content_type": "text/xml"}
            ],
        },
    ]  # fmt: skip


def _settings(url: str, server: ReplayServer, folder: Path) -> Settings:
    return parse_settings(
        f"database_url: {url}\ncontact_email: bench@digest.invalid\n"
        "topics: {interventions: [{slug: acupuncture, label: Acupuncture,"
        " terms: [acupuncture]}], conditions: [{slug: pain, label: Pain, terms: [pain]}]}\n"
        "sources: []\n"
        f"digest: {{output_dir: {folder / 'out'}}}\n"
        f"recheck: {{crossref_base_url: {server.url}/cr, eutils_base_url: {server.url}/eu,"
        f" europepmc_base_url: {server.url}/epmc}}\n",
        env={},
    )


def _watch(settings: Settings, engine: Any, n: int) -> list[str]:
    """n BENCH-MADE PubMed-shaped records (PMIDs 9xxxxxxx, DOIs under Crossref's test
    prefix), stored as a fetch stores them, their studies carried by one issue."""
    records = [
        RecordData(
            source="pubmed",
            source_id=str(90_000_000 + i),
            pmid=str(90_000_000 + i),
            doi=f"10.5555/bench.recheck.{i}",
            title=f"BENCH-MADE record {i}: acupuncture for pain",
            publication_types=["Journal Article"],
        )
        for i in range(n)
    ]
    body = "".join(r.to_json() + "\n" for r in records).encode()
    page = ParsedPage("bench:records", body, "jsonl", ParseResult(records=records))
    with Session(engine) as session:
        save_outcome(session, source_name="bench", kind="bench", pages=[page], cursor={},
                     describe_change=describe_change, now=NOW - timedelta(days=9))  # fmt: skip
        session.commit()
    refresh_studies(settings, engine)
    with Session(engine) as session:
        slugs = [{"slug": s.slug} for s in session.exec(select(Study))]
        session.add(Digest(week="2026-W48", content={"sections": [{"studies": slugs}]}))
        session.commit()
    return [r.doi or "" for r in records]


def _client(settings: Settings, throttled: bool) -> Http:
    if throttled:
        return Http(settings.http, settings.contact_email)
    return Http(
        settings.http,
        settings.contact_email,
        sleep=lambda _s: None,
        limiter=RateLimiter(sleep=lambda _s: None),
    )


def _host(path: str) -> str:
    return (
        "crossref" if path.startswith("/cr/") else "epmc" if path.startswith("/epmc/") else "ncbi"
    )


def _hosts(server: ReplayServer, since: int) -> Counter[str]:
    return Counter(_host(r.path) for r in server.requests[since:])


def _polite_seconds(hosts: Counter[str]) -> float:
    return hosts["crossref"] / CROSSREF_RATE + hosts["ncbi"] / NCBI_RATE + hosts["epmc"] / EPMC_RATE


def _run(n: int, throttled: bool) -> list[tuple[str, RecheckReport, Counter[str], float]]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'bench.db'}"
        engine = make_engine(url)
        migrate(engine)
        dois = [f"10.5555/bench.recheck.{i}" for i in range(n)]
        rows = []
        with ReplayServer(routes_from(_routes(dois)), CORPUS) as server:
            settings = _settings(url, server, folder)
            _watch(settings, engine, n)
            for label, when in (("first check", NOW), ("next day", NOW + timedelta(days=1))):
                seen = len(server.requests)
                started = time.perf_counter()
                report = run_recheck(
                    settings, engine, now=when, http=_client(settings, throttled), write_site=False
                )
                wall = time.perf_counter() - started
                rows.append((label, report, _hosts(server, seen), wall))
        engine.dispose()
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=1000)
    parser.add_argument("--throttled", type=int, default=40, help="studies in the limiter run")
    args = parser.parse_args()
    n = args.studies
    print(f"re-check of {n} sent studies (each with a DOI and a PMID), loopback replay server")
    print(f"{'run':<12} {'crossref':>9} {'ncbi':>5} {'epmc':>5} {'requests':>9} "
          f"{'measured s':>11} {'polite s':>9}")  # fmt: skip
    rows = _run(n, throttled=False)
    for label, report, hosts, wall in rows:
        assert report.ok, report.failed
        total = sum(hosts.values())
        print(f"{label:<12} {hosts['crossref']:>9} {hosts['ncbi']:>5} {hosts['epmc']:>5} "
              f"{total:>9} {wall:>11.1f} {_polite_seconds(hosts):>9.1f}")  # fmt: skip
    # steady state: the daily incremental pass plus the rolling full re-fetch of 1/30 of
    # the list (recheck.full_every_days = 30), on average
    daily = rows[1][2]
    share = n / 30
    steady = Counter(
        crossref=daily["crossref"] + round(share),
        ncbi=daily["ncbi"] + math.ceil(share / 200),
        epmc=daily["epmc"] + math.ceil(share / 100),
    )
    total = sum(steady.values())
    print(f"{'steady/day':<12} {steady['crossref']:>9} {steady['ncbi']:>5} {steady['epmc']:>5} "
          f"{total:>9} {'':>11} {_polite_seconds(steady):>9.1f}")  # fmt: skip
    per = 1000 / n
    first = rows[0][2]
    print(
        f"per 1,000 sent studies: first check {round(sum(first.values()) * per)} requests, "
        f"{_polite_seconds(first) * per:.0f} s at the polite rate; then "
        f"{round(total * per)} requests, {_polite_seconds(steady) * per:.0f} s a day"
    )
    if args.throttled:
        label, _report, hosts, wall = _run(args.throttled, throttled=True)[0]
        print(
            f"limiter check ({args.throttled} studies, {label}, rate limiter on): "
            f"{sum(hosts.values())} requests in {wall:.1f} s wall; "
            f"predicted {_polite_seconds(hosts):.1f} s"
        )


if __name__ == "__main__":
    main()
