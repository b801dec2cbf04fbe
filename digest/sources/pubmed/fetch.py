"""PubMed through NCBI E-utilities: esearch (Entrez-date window) then efetch in POST batches.

Cursor: {"edat_through": "YYYY-MM-DD", "retry_pmids": [...]}. `edat_through` is the day
before the last run's end: NCBI dates are US-Eastern days, ours UTC, so each window
overlaps the last by a day (re-seen PMIDs are idempotent upserts). A window holding more
hits than ESearch can return (10,000) is split in halves by date. After the new articles
(Entrez date), articles of the query *modified* in the window (datetype=mdat) are fetched
again, so a retraction or erratum linked to an older article is seen. PMIDs that efetch
did not return are retried once on the next run.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from digest.errors import FetchError
from digest.sources.base import (
    FetchContext,
    FetchOutcome,
    base_url_of,
    page_from,
    parse_or_explain,
    window_start,
)
from digest.sources.pubmed.config import PubmedSource
from digest.sources.pubmed.parse_efetch import parse_efetch
from digest.sources.pubmed.parse_esearch import ESearchResult, parse_esearch

EUTILS_BASE = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
GET_ID_LIMIT = 200  # NCBI: more ids than this in one request must be POSTed
MAX_RETRY_PMIDS = 1000
# digest.http.RATE_KEY: the rate-limit key NCBI's own cap (3/s, 10/s with a key) applies
# to; spelled out so that sources/ need not import digest.http (which imports config)
RATE_KEY = "eutils.ncbi.nlm.nih.gov"


def _ncbi_date(day: date) -> str:
    return day.strftime("%Y/%m/%d")


def fetch_pubmed(ctx: FetchContext, config: PubmedSource, cursor: dict[str, Any]) -> FetchOutcome:
    base = base_url_of(config, EUTILS_BASE)
    start = window_start(ctx, cursor.get("edat_through"), config.backfill_days)
    end = ctx.today
    if start > end:
        raise FetchError(f"window starts after today ({start} > {end})", source=config.name)
    outcome = FetchOutcome(cursor={"edat_through": (end - timedelta(days=1)).isoformat()})
    fetched: set[str] = set()
    missing: list[str] = []
    retries = [str(p) for p in cursor.get("retry_pmids", [])]
    datetypes = ("edat", "mdat") if config.refetch_updated else ("edat",)
    for datetype in datetypes:
        for window_from, window_to, search in _search_windows(
            ctx, config, base, start, end, datetype
        ):
            _check_search(config, search)
            outcome.warnings.extend(search.warnings)
            what = "entered" if datetype == "edat" else "updated"
            ctx.progress(f"{config.name}: {search.count} hit(s) {what} {window_from}..{window_to}")
            ids = [pmid for pmid in search.ids if pmid not in fetched]
            fetched.update(ids)
            missing += _fetch_articles(ctx, config, base, ids, outcome)
    again = [pmid for pmid in dict.fromkeys(retries) if pmid not in fetched]
    if again:
        ctx.progress(f"{config.name}: retrying {len(again)} PMID(s) efetch missed last time")
        still = _fetch_articles(ctx, config, base, again, outcome)
        if still:
            outcome.warnings.append(
                f"{len(still)} PMID(s) still unavailable after a retry, "
                f"given up: {', '.join(still[:5])}"
            )
    # each missing PMID gets one more try on the next run
    outcome.cursor["retry_pmids"] = [p for p in dict.fromkeys(missing) if p not in retries][
        :MAX_RETRY_PMIDS
    ]
    return outcome


def _check_search(config: PubmedSource, search: ESearchResult) -> None:
    if search.field_not_found:
        raise FetchError(
            "the saved query uses unknown field(s) "
            f"{', '.join(search.field_not_found)}: PubMed would ignore them",
            source=config.name,
        )
    if len(search.ids) < min(search.count, config.max_window_hits):
        raise FetchError(
            f"esearch reported {search.count} hits but returned {len(search.ids)} ids",
            source=config.name,
        )


def _search_windows(
    ctx: FetchContext, config: PubmedSource, base: str, start: date, end: date, datetype: str
) -> list[tuple[date, date, ESearchResult]]:
    """esearch each window, halving any window with more hits than can be retrieved."""
    pending = [(start, end)]
    done: list[tuple[date, date, ESearchResult]] = []
    while pending:
        window_from, window_to = pending.pop(0)
        result = _esearch(ctx, config, base, window_from, window_to, datetype)
        if result.count <= config.max_window_hits:
            done.append((window_from, window_to, result))
            continue
        if window_from == window_to:
            raise FetchError(
                f"{result.count} hits on the single day {window_from}: more than ESearch can "
                "return; narrow the query",
                source=config.name,
            )
        middle = window_from + (window_to - window_from) // 2
        ctx.progress(f"{config.name}: {result.count} hits, splitting {window_from}..{window_to}")
        pending[:0] = [(window_from, middle), (middle + timedelta(days=1), window_to)]
    return done


def _esearch(
    ctx: FetchContext,
    config: PubmedSource,
    base: str,
    window_from: date,
    window_to: date,
    datetype: str,
) -> ESearchResult:
    params = {
        "db": "pubmed",
        "term": config.query,
        # the History server keeps the result set (WebEnv) for follow-up requests; we fetch
        # by explicit ids so that missing PMIDs can be named and retried
        "usehistory": "y",
        "datetype": datetype,
        "mindate": _ncbi_date(window_from),
        "maxdate": _ncbi_date(window_to),
        "retmax": str(config.max_window_hits),
        "retmode": "xml",
        **ctx.http.ncbi_params(),
    }
    # Long queries belong in a POST body (NCBI: "several hundred characters").
    if len(config.query) > 300:
        response = ctx.http.post(
            f"{base}/esearch.fcgi", data=params, source=config.name, rate_key=RATE_KEY
        )
    else:
        response = ctx.http.get(
            f"{base}/esearch.fcgi", params=params, source=config.name, rate_key=RATE_KEY
        )
    # parsed here: the ids decide what to fetch next; esearch answers are not stored
    return parse_or_explain(
        config.name, response.url, parse_esearch, response.content, what="esearch"
    )


def _fetch_articles(
    ctx: FetchContext, config: PubmedSource, base: str, ids: list[str], outcome: FetchOutcome
) -> list[str]:
    """efetch `ids` in batches into `outcome`; returns the PMIDs no article came back for."""
    not_returned: list[str] = []
    for offset in range(0, len(ids), config.batch_size):
        batch = ids[offset : offset + config.batch_size]
        params = {"db": "pubmed", "retmode": "xml", "id": ",".join(batch), **ctx.http.ncbi_params()}
        url = f"{base}/efetch.fcgi"
        if len(batch) > GET_ID_LIMIT:
            response = ctx.http.post(url, data=params, source=config.name, rate_key=RATE_KEY)
        else:
            response = ctx.http.get(url, params=params, source=config.name, rate_key=RATE_KEY)
        # parsed here for the PMIDs it returned (the rest are retried next run)
        parsed = parse_or_explain(
            config.name, response.url, parse_efetch, response.content, what="efetch"
        )
        returned = {record.source_id for record in parsed.records}
        missing = [pmid for pmid in batch if pmid not in returned]
        if missing:
            # NCBI answers 200 with fewer articles when some PMIDs are unavailable.
            not_returned += missing
            outcome.warnings.append(
                f"efetch returned no article for {len(missing)} PMID(s): {', '.join(missing[:5])}"
                + ("..." if len(missing) > 5 else "")
            )
        outcome.pages.append(page_from(response))
        ctx.progress(
            f"{config.name}: fetched {min(offset + len(batch), len(ids))}/{len(ids)} articles"
        )
    return not_returned
