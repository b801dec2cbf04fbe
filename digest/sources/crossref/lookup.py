"""Crossref lookups by DOI, for the re-check of studies already sent (`digest recheck`).

- `fetch_work`: `GET /works/{doi}`, one work with its `updated-by` (the notices about it,
  the publisher's and Retraction Watch's). A 404 is an answer, "not in Crossref" (many
  DOIs are registered with DataCite, mEDRA, ...), never a failed run.
- `fetch_notices_about`: `GET /works?filter=updates:{doi},updates:{doi},...` (one filter
  per DOI, OR'ed), the notices whose `update-to` names any of the DOIs, optionally only
  those indexed since a day (`from-index-date:`, the incremental pass: a Retraction Watch
  assertion changes the notice's index date, not its deposit date). Cursor paging
  (`cursor=*`, then `next-cursor`) to the end: an empty page, or `total-results` seen.

Every request carries `mailto=` (Crossref's polite pool) and `rows` at most 1000; the
rate limit (`http.rate_limits["api.crossref.org"]`) and `Retry-After` are the HTTP
client's. Network only: pages go back raw, to be parsed by `parse_crossref`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import quote

from digest.errors import FetchError
from digest.sources.base import FetchedPage, page_from, parse_or_explain
from digest.sources.crossref.fetch import CROSSREF_BASE, RATE_KEY
from digest.sources.crossref.parse import crossref_page_info

if TYPE_CHECKING:
    from digest.http.client import Http

MAX_ROWS = 1000  # Crossref's cap per page
MAX_PAGES = 100


@dataclass(frozen=True, slots=True)
class WorkAnswer:
    """Crossref's answer for one DOI: the work's page, or None ("not in Crossref")."""

    doi: str
    page: FetchedPage | None

    @property
    def found(self) -> bool:
        return self.page is not None


def fetch_work(
    http: Http, doi: str, *, base: str = CROSSREF_BASE, source: str = "recheck"
) -> WorkAnswer:
    """`/works/{doi}`: the work, or a clean "not in Crossref" on 404."""
    response = http.get(
        f"{base.rstrip('/')}/works/{quote(doi, safe='/()')}",
        params={"mailto": http.contact_email},
        source=source,
        rate_key=RATE_KEY,
        accept=(404,),
    )
    if response.status == 404:
        return WorkAnswer(doi, None)
    return WorkAnswer(doi, page_from(response, {"lookup": "work", "doi": doi}))


def fetch_notices_about(
    http: Http,
    dois: Sequence[str],
    *,
    since: date | None = None,
    rows: int = 100,
    base: str = CROSSREF_BASE,
    source: str = "recheck",
    progress: Callable[[str], None] = lambda _m: None,
) -> list[FetchedPage]:
    """The notices (`update-to`) naming any of `dois`, indexed since `since` if given."""
    if not dois:
        return []
    filters = [f"updates:{doi}" for doi in dois]
    if since is not None:
        filters.append(f"from-index-date:{since.isoformat()}")
    params = {
        "filter": ",".join(filters),
        "rows": str(min(max(rows, 1), MAX_ROWS)),
        "mailto": http.contact_email,
    }
    pages: list[FetchedPage] = []
    mark, seen = "*", 0
    for _ in range(MAX_PAGES):
        response = http.get(
            f"{base.rstrip('/')}/works",
            params=dict(params, cursor=mark),
            source=source,
            rate_key=RATE_KEY,
        )
        next_mark, total, items = parse_or_explain(
            source, response.url, crossref_page_info, response.content
        )
        if items:
            pages.append(page_from(response, {"lookup": "updates"}))
        seen += items
        progress(f"crossref: notices about {len(dois)} DOI(s): {seen}/{total}")
        if not items or not next_mark or (total is not None and seen >= total):
            return pages
        mark = next_mark
    raise FetchError(f"more than {MAX_PAGES} pages of notices", source=source)
