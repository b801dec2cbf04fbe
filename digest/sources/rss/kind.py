from __future__ import annotations

from digest.sources.base import SourceKind, SourceTraits
from digest.sources.rss.config import RssSource
from digest.sources.rss.fetch import fetch_rss
from digest.sources.rss.parse import parse_rss

KIND = SourceKind(
    kind="rss",
    config=RssSource,
    fetch=fetch_rss,
    parse=parse_rss,
    description="any RSS/Atom feed",
    traits=SourceTraits(
        record_sources=("rss",), label="a journal's news feed", precedence=1
    ),  # a journal's own feed
)
