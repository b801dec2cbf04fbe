"""PubMed by PMID, for the re-check of studies already sent (`digest recheck`).

- `fetch_by_pmid`: EFetch of the articles themselves, at most 200 ids a request (more
  are POSTed), so a new "Retracted Publication" type or a `RetractionIn`, `ErratumIn` or
  `ExpressionOfConcernIn` link is seen. PMIDs efetch does not return are named.
- `modified_since`: the incremental pass: ESearch `(1[uid] OR 2[uid] ...)` with
  `datetype=mdat` from a day, so only the articles PubMed changed since the last check
  are fetched again.

Both go through the E-utilities rate key (NCBI's 3/s, 10/s with a key, in the HTTP
client). Network only; pages go back raw, to be parsed by `parse_efetch`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from digest.sources.base import FetchedPage, page_from, parse_or_explain
from digest.sources.pubmed.fetch import EUTILS_BASE, GET_ID_LIMIT, RATE_KEY
from digest.sources.pubmed.parse_efetch import parse_efetch
from digest.sources.pubmed.parse_esearch import parse_esearch

if TYPE_CHECKING:
    from digest.http.client import Http

BATCH = GET_ID_LIMIT  # 200 ids a request: the GET limit, and a small enough POST


def _get_or_post(
    http: Http, url: str, params: dict[str, str], ids: int, source: str
) -> tuple[str, bytes]:
    if ids > GET_ID_LIMIT or len(params.get("term", "")) > 300:
        response = http.post(url, data=params, source=source, rate_key=RATE_KEY)
    else:
        response = http.get(url, params=params, source=source, rate_key=RATE_KEY)
    return response.url, response.content


def fetch_by_pmid(
    http: Http,
    pmids: Sequence[str],
    *,
    base: str = EUTILS_BASE,
    batch: int = BATCH,
    source: str = "recheck",
) -> tuple[list[FetchedPage], list[str]]:
    """(efetch pages, PMIDs no article came back for)."""
    pages: list[FetchedPage] = []
    missing: list[str] = []
    for offset in range(0, len(pmids), batch):
        ids = list(pmids[offset : offset + batch])
        params = {"db": "pubmed", "retmode": "xml", "id": ",".join(ids), **http.ncbi_params()}
        url = f"{base.rstrip('/')}/efetch.fcgi"
        if len(ids) > GET_ID_LIMIT:
            response = http.post(url, data=params, source=source, rate_key=RATE_KEY)
        else:
            response = http.get(url, params=params, source=source, rate_key=RATE_KEY)
        parsed = parse_or_explain(
            source, response.url, parse_efetch, response.content, what="efetch"
        )
        returned = {record.source_id for record in parsed.records}
        missing += [pmid for pmid in ids if pmid not in returned]
        pages.append(page_from(response))
    return pages, missing


def modified_since(
    http: Http,
    pmids: Sequence[str],
    since: date,
    until: date,
    *,
    base: str = EUTILS_BASE,
    batch: int = BATCH,
    source: str = "recheck",
) -> set[str]:
    """The PMIDs among `pmids` whose PubMed record was modified from `since` to `until`."""
    changed: set[str] = set()
    for offset in range(0, len(pmids), batch):
        ids = list(pmids[offset : offset + batch])
        params = {
            "db": "pubmed",
            "term": " OR ".join(f"{pmid}[uid]" for pmid in ids),
            "datetype": "mdat",
            "mindate": since.strftime("%Y/%m/%d"),
            "maxdate": until.strftime("%Y/%m/%d"),
            "retmax": str(len(ids)),
            "retmode": "xml",
            **http.ncbi_params(),
        }
        url, content = _get_or_post(http, f"{base.rstrip('/')}/esearch.fcgi", params, 0, source)
        result = parse_or_explain(source, url, parse_esearch, content, what="esearch")
        changed.update(pmid for pmid in result.ids if pmid in set(ids))
    return changed
