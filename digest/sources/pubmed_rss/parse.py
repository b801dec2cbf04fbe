"""A PubMed "Create RSS" feed -> records keyed by PMID; and the pubmed_rss kind's parser,
which also reads the efetch pages its enrichment fetched."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from digest.facts import normalize_pmid
from digest.model import ParseResult, RecordData
from digest.sources.pubmed.parse_efetch import parse_efetch
from digest.sources.rss.parse import parse_feed

PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
SOURCE = "pubmed_rss"


def _as_pubmed(record: RecordData) -> RecordData:
    """A feed record whose item carries a PMID -> keyed by that PMID. Its own source name
    ("pubmed_rss") keeps it from overwriting the richer efetch record of the same PMID;
    dedupe merges the two by PMID."""
    if not record.pmid:
        return record
    record.source = "pubmed_rss"
    record.source_id = record.pmid
    record.url = PUBMED_URL.format(pmid=record.pmid)
    record.extra["via"] = "pubmed_rss"
    return record


def parse_pubmed_rss(
    payload: bytes,
    *,
    content_type: str | None = None,
    base_url: str | None = None,
) -> ParseResult:
    """A PubMed "Create RSS" feed: records keyed by PMID (dc:identifier `pmid:`, else the
    link path, else a `pubmed:<PMID>` guid); items without one stay generic "rss" records."""
    result = parse_feed(payload, "rss", content_type=content_type, base_url=base_url)
    for record in result.records:
        if not record.pmid:
            guid = str(record.extra.get("guid") or "")
            if guid.lower().startswith("pubmed:"):
                record.pmid = normalize_pmid(guid.split(":", 1)[1])
        _as_pubmed(record)
    return result


def parse_pubmed_rss_page(
    payload: bytes, context: Mapping[str, Any] | None = None, content_type: str | None = None
) -> ParseResult:
    """The pubmed_rss kind's parser. Context of a feed page: {"url": the configured feed,
    "enriched_pmids": [...]} — items whose PMID enrichment fetched in full are dropped (the
    efetch record stands for them); of an enrichment page: {"page": "efetch"}."""
    context = context or {}
    page = context.get("page") or ("efetch" if b"<PubmedArticleSet" in payload[:4096] else "feed")
    if page == "efetch":
        return parse_efetch(payload)
    result = parse_pubmed_rss(payload, content_type=content_type, base_url=context.get("url"))
    enriched = set(context.get("enriched_pmids") or ())
    if enriched:
        result.records = [
            r for r in result.records if not (r.source == SOURCE and r.source_id in enriched)
        ]
    return result
