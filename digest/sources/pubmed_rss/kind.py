from __future__ import annotations

from digest.sources.base import SourceKind, SourceTraits
from digest.sources.pubmed_rss.config import PubmedRssSource
from digest.sources.pubmed_rss.fetch import fetch_pubmed_rss
from digest.sources.pubmed_rss.parse import parse_pubmed_rss_page

KIND = SourceKind(
    kind="pubmed_rss",
    config=PubmedRssSource,
    fetch=fetch_pubmed_rss,
    parse=parse_pubmed_rss_page,
    description="a PubMed 'Create RSS' feed",
    traits=SourceTraits(
        record_sources=("pubmed_rss",), label="PubMed (saved search feed)", precedence=1
    ),
)
