"""Europe PMC by PMID, for the re-check of studies already sent (`digest recheck`).

`search?query=(EXT_ID:1 OR EXT_ID:2 ...) AND SRC:MED&resultType=core`, up to 100 PMIDs a
request, with cursorMark paging to the end: Europe PMC marks a retracted article in its
`pubTypeList` ("retracted publication") and links the notice in `commentCorrectionList`
(`RetractionIn`, `ErratumIn`, `ExpressionOfConcernIn`), which `parse_europepmc_json`
reads as for any fetch. Network only; pages go back raw.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from digest.errors import FetchError
from digest.sources.base import FetchedPage, page_from, parse_or_explain
from digest.sources.europepmc.fetch import EPMC_BASE, RATE_KEY
from digest.sources.europepmc.parse import europepmc_page_info, parse_europepmc_json

if TYPE_CHECKING:
    from digest.http.client import Http

BATCH = 100
MAX_PAGES = 20


def pmid_query(pmids: Sequence[str]) -> str:
    ids = " OR ".join(f"EXT_ID:{pmid}" for pmid in pmids)
    return f"({ids}) AND SRC:MED" if len(pmids) > 1 else f"{ids} AND SRC:MED"


def fetch_by_pmid(
    http: Http,
    pmids: Sequence[str],
    *,
    base: str = EPMC_BASE,
    batch: int = BATCH,
    source: str = "recheck",
) -> tuple[list[FetchedPage], list[str]]:
    """(search pages, PMIDs Europe PMC holds no MED record of)."""
    pages: list[FetchedPage] = []
    returned: set[str] = set()
    for offset in range(0, len(pmids), batch):
        ids = list(pmids[offset : offset + batch])
        params = {
            "query": pmid_query(ids),
            "resultType": "core",
            "format": "json",
            "pageSize": str(len(ids)),
        }
        mark = "*"
        for _ in range(MAX_PAGES):
            response = http.get(
                f"{base.rstrip('/')}/search",
                params=dict(params, cursorMark=mark),
                source=source,
                rate_key=RATE_KEY,
            )
            next_mark, _hits = parse_or_explain(
                source, response.url, europepmc_page_info, response.content
            )
            parsed = parse_or_explain(source, response.url, parse_europepmc_json, response.content)
            returned |= {r.pmid for r in parsed.records if r.pmid}
            if parsed.records:
                pages.append(page_from(response))
            if not next_mark or not parsed.records:
                break
            mark = next_mark
        else:
            raise FetchError(f"more than {MAX_PAGES} pages for {len(ids)} PMIDs", source=source)
    return pages, [pmid for pmid in pmids if pmid not in returned]
