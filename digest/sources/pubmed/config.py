from __future__ import annotations

from typing import Literal

from pydantic import Field

from digest.sources.base_config import SourceBase


class PubmedSource(SourceBase):
    kind: Literal["pubmed"]
    query: str
    backfill_days: int = Field(default=30, ge=1)
    batch_size: int = Field(default=200, ge=1, le=10_000)
    max_window_hits: int = Field(default=9_999, ge=1, le=9_999)
    # also re-fetch articles of the query modified in the window (retractions, errata)
    refetch_updated: bool = True
