"""Europe PMC REST search: core JSON, cursorMark paging, a first-publication-date window.

Preprints (SRC:PPR) are included unless the source says otherwise. Cursor:
{"published_since": "YYYY-MM-DD"}.
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
from digest.sources.europepmc.config import EuropePmcSource
from digest.sources.europepmc.parse import europepmc_page_info, parse_europepmc_json

EPMC_BASE = "https://www.ebi.ac.uk/europepmc/webservices/rest"
RATE_KEY = "www.ebi.ac.uk"
MAX_PAGES = 500
INDEXING_LAG = 14


def windowed_query(config: EuropePmcSource, since: date, until: date) -> str:
    query = f"({config.query}) AND FIRST_PDATE:[{since.isoformat()} TO {until.isoformat()}]"
    return query if config.include_preprints else f"{query} AND NOT SRC:PPR"


def fetch_europepmc(
    ctx: FetchContext, config: EuropePmcSource, cursor: dict[str, Any]
) -> FetchOutcome:
    base = base_url_of(config, EPMC_BASE)
    since = window_start(ctx, cursor.get("published_since"), config.backfill_days)
    params = {
        "query": windowed_query(config, since, ctx.today),
        "resultType": "core",
        "format": "json",
        "pageSize": str(config.page_size),
    }
    # Europe PMC indexes some articles days after their first publication date: the next
    # window reaches back INDEXING_LAG days (re-seen results are idempotent upserts)
    outcome = FetchOutcome(
        cursor={"published_since": (ctx.today - timedelta(days=INDEXING_LAG)).isoformat()}
    )
    results = 0
    mark = "*"
    for page_number in range(1, MAX_PAGES + 1):
        response = ctx.http.get(
            f"{base}/search",
            params=dict(params, cursorMark=mark),
            source=config.name,
            rate_key=RATE_KEY,
        )
        # parsed here for the next cursorMark and whether the page was empty
        next_mark, hits = parse_or_explain(
            config.name, response.url, europepmc_page_info, response.content
        )
        parsed = parse_or_explain(config.name, response.url, parse_europepmc_json, response.content)
        results += len(parsed.records)
        outcome.pages.append(page_from(response))
        ctx.progress(f"{config.name}: page {page_number}, {results}/{hits} results")
        # The end: no next cursor, the same cursor again, or an empty page.
        if not next_mark or next_mark == mark or not parsed.records:
            return outcome
        mark = next_mark
    raise FetchError(f"more than {MAX_PAGES} pages; narrow the query", source=config.name)
