"""A PubMed "Create RSS" feed (conditional GET), optionally enriched through E-utilities.

RSS caps at 100 thin items; with `enrich`, the feed's PMIDs not yet held as full PubMed
records are fetched with efetch. Page contexts: the feed {"url", "enriched_pmids"} (the
PMIDs efetch returned, whose thin items the parser drops), efetch {"page": "efetch"}.
"""

from __future__ import annotations

from typing import Any

from digest.sources.base import FetchContext, FetchOutcome, page_from, parse_or_explain
from digest.sources.conditional import conditional_get, rebase, remember
from digest.sources.pubmed.fetch import EUTILS_BASE
from digest.sources.pubmed.fetch import RATE_KEY as NCBI_RATE_KEY
from digest.sources.pubmed.parse_efetch import parse_efetch
from digest.sources.pubmed_rss.config import PubmedRssSource
from digest.sources.pubmed_rss.parse import SOURCE, parse_pubmed_rss_page

RATE_KEY = "pubmed.ncbi.nlm.nih.gov"


def fetch_pubmed_rss(
    ctx: FetchContext, config: PubmedRssSource, cursor: dict[str, Any]
) -> FetchOutcome:
    outcome = FetchOutcome(cursor=dict(cursor))
    url = rebase(config.url, config.base_url)
    response = conditional_get(ctx, config.name, url, cursor, rate_key=RATE_KEY)
    if response is None:
        outcome.not_modified = True
        return outcome
    # parsed here for the PMIDs to enrich and to know whether the answer was complete
    context: dict[str, Any] = {"url": config.url}
    feed = parse_or_explain(
        config.name,
        response.url,
        parse_pubmed_rss_page,
        response.content,
        context,
        response.content_type,
    )
    remember(outcome, url, response, complete=not feed.warnings)
    outcome.pages.append(page_from(response, context))
    pmids = [r.source_id for r in feed.records if r.source == SOURCE]
    ctx.progress(f"{config.name}: {len(feed.records)} item(s), {len(pmids)} with a PMID")
    known = ctx.known_ids("pubmed", pmids)
    new_pmids = [p for p in pmids if p not in known]
    if config.enrich and new_pmids:  # PMIDs already held as full PubMed records are skipped
        enriched = _enrich(ctx, config, new_pmids, outcome)
        outcome.pages[0].context["enriched_pmids"] = sorted(enriched)
    return outcome


def _enrich(
    ctx: FetchContext, config: PubmedRssSource, pmids: list[str], outcome: FetchOutcome
) -> set[str]:
    """efetch the feed's new PMIDs; returns those an article came back for."""
    base = (config.eutils_base_url or EUTILS_BASE).rstrip("/")
    response = ctx.http.get(
        f"{base}/efetch.fcgi",
        params={"db": "pubmed", "retmode": "xml", "id": ",".join(pmids), **ctx.http.ncbi_params()},
        source=config.name,
        rate_key=NCBI_RATE_KEY,
    )
    full = parse_or_explain(config.name, response.url, parse_efetch, response.content)
    outcome.pages.append(page_from(response, {"page": "efetch"}))
    return {r.source_id for r in full.records}
