"""ClinicalTrials.gov API v2: /studies with a last-update window, pageToken paging.

Cursor: {"updated_since": "YYYY-MM-DD"}, the first day of the next window. Later pages
repeat the first page's parameters (the API requires it) with the new pageToken.
"""

from __future__ import annotations

from datetime import timedelta
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
from digest.sources.clinicaltrials.config import ClinicalTrialsSource
from digest.sources.clinicaltrials.parse_v2 import ctgov_page_info, parse_ctgov_json

CTGOV_BASE = "https://clinicaltrials.gov/api/v2"
RATE_KEY = "clinicaltrials.gov"
MAX_PAGES = 500


def fetch_clinicaltrials(
    ctx: FetchContext, config: ClinicalTrialsSource, cursor: dict[str, Any]
) -> FetchOutcome:
    base = base_url_of(config, CTGOV_BASE)
    since = window_start(ctx, cursor.get("updated_since"), config.backfill_days)
    params: dict[str, str] = {
        "format": "json",
        "filter.advanced": f"AREA[LastUpdatePostDate]RANGE[{since.isoformat()},MAX]",
        "sort": "LastUpdatePostDate:asc",
        "pageSize": str(config.page_size),
    }
    for key, value in (
        ("query.cond", config.cond),
        ("query.intr", config.intr),
        ("query.term", config.term),
    ):
        if value:
            params[key] = value
    # registry dates are US days, ours UTC: the next window overlaps this one by a day
    outcome = FetchOutcome(cursor={"updated_since": (ctx.today - timedelta(days=1)).isoformat()})
    studies = 0
    token: str | None = None
    seen_tokens: set[str] = set()
    for page_number in range(1, MAX_PAGES + 1):
        page_params = (
            dict(params, countTotal="true") if token is None else dict(params, pageToken=token)
        )
        response = ctx.http.get(
            f"{base}/studies", params=page_params, source=config.name, rate_key=RATE_KEY
        )
        # parsed here for the next pageToken and the progress count
        token, total = parse_or_explain(
            config.name, response.url, ctgov_page_info, response.content
        )
        studies += len(
            parse_or_explain(config.name, response.url, parse_ctgov_json, response.content).records
        )
        outcome.pages.append(page_from(response))
        ctx.progress(
            f"{config.name}: page {page_number}, {studies}"
            + (f"/{total}" if total is not None and page_number == 1 else "")
            + " studies"
        )
        if not token:
            return outcome
        if token in seen_tokens:
            raise FetchError(
                "the API repeated a pageToken; stopping to avoid a loop",
                source=config.name,
                url=response.url,
            )
        seen_tokens.add(token)
    raise FetchError(f"more than {MAX_PAGES} pages; narrow the query", source=config.name)
