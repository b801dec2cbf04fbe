from __future__ import annotations

from typing import Literal

from digest.sources.base_config import SourceBase


class PubmedRssSource(SourceBase):
    kind: Literal["pubmed_rss"]
    url: str
    enrich: bool = False  # fetch the feed's PMIDs through E-utilities for full records
    eutils_base_url: str | None = None  # E-utilities mirror/replay for enrichment
