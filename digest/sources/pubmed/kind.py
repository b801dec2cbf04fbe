from __future__ import annotations

from digest.sources.base import SourceKind, SourceTraits
from digest.sources.changes import describe_notices
from digest.sources.pubmed.config import PubmedSource
from digest.sources.pubmed.fetch import fetch_pubmed
from digest.sources.pubmed.ids import pubmed_identifiers
from digest.sources.pubmed.parse import parse_pubmed

KIND = SourceKind(
    kind="pubmed",
    config=PubmedSource,
    fetch=fetch_pubmed,
    parse=parse_pubmed,
    description="PubMed via E-utilities (esearch + efetch XML)",
    traits=SourceTraits(
        record_sources=("pubmed",),
        label="PubMed",
        precedence=0,  # curated: the best field values
        own_identifiers=pubmed_identifiers,
        describe_change=describe_notices,
        demo_api_path="/entrez/eutils",
    ),
)
