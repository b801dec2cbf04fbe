"""Crossref REST API: update notices (retractions, by default) whose metadata changed in
a window, `/works?filter=update-type:…,from-update-date:…` with cursor paging.

Cursor: {"updated_since": "YYYY-MM-DD"}, the first day of the next window (a day of
overlap: re-seen works are idempotent upserts). Paging starts at `cursor=*` and follows
`next-cursor`; Crossref may hand back the same cursor on every page (a scroll id), so the
end is an empty page, or as many items as `total-results` said. `mailto` (the contact
address) puts the requests in Crossref's polite pool.
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
from digest.sources.crossref.config import CrossrefSource
from digest.sources.crossref.parse import crossref_page_info

CROSSREF_BASE = "https://api.crossref.org"
RATE_KEY = "api.crossref.org"
MAX_PAGES = 500


def fetch_crossref(
    ctx: FetchContext, config: CrossrefSource, cursor: dict[str, Any]
) -> FetchOutcome:
    base = base_url_of(config, CROSSREF_BASE)
    since = window_start(ctx, cursor.get("updated_since"), config.backfill_days)
    filters = [f"update-type:{kind}" for kind in config.update_types]
    params = {
        "filter": ",".join([*filters, f"from-update-date:{since.isoformat()}"]),
        "rows": str(config.rows),
        "mailto": ctx.http.contact_email,
    }
    if config.query:
        params["query"] = config.query
    outcome = FetchOutcome(cursor={"updated_since": (ctx.today - timedelta(days=1)).isoformat()})
    mark, seen = "*", 0
    for page_number in range(1, MAX_PAGES + 1):
        response = ctx.http.get(
            f"{base}/works", params=dict(params, cursor=mark), source=config.name, rate_key=RATE_KEY
        )
        # parsed here for the next cursor and the end of the list
        next_mark, total, items = parse_or_explain(
            config.name, response.url, crossref_page_info, response.content
        )
        if items:
            outcome.pages.append(page_from(response))
        seen += items
        ctx.progress(f"{config.name}: page {page_number}, {seen}/{total} works")
        if not items or not next_mark or (total is not None and seen >= total):
            return outcome
        mark = next_mark
    raise FetchError(f"more than {MAX_PAGES} pages; narrow the query", source=config.name)
