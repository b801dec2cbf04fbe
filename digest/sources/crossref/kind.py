from __future__ import annotations

from digest.sources.base import SourceKind, SourceTraits
from digest.sources.changes import describe_notices
from digest.sources.crossref.config import CrossrefSource
from digest.sources.crossref.fetch import fetch_crossref
from digest.sources.crossref.parse import parse_crossref

KIND = SourceKind(
    kind="crossref",
    config=CrossrefSource,
    fetch=fetch_crossref,
    parse=parse_crossref,
    description="Crossref REST works: retraction and correction notices (cursor paging)",
    traits=SourceTraits(
        record_sources=("crossref",),
        label="Crossref (publishers' DOI registry)",
        precedence=1,  # the DOI registry: publisher-deposited metadata
        describe_change=describe_notices,
    ),
)
