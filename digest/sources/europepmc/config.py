from __future__ import annotations

from typing import Literal

from pydantic import Field

from digest.sources.base_config import SourceBase


class EuropePmcSource(SourceBase):
    kind: Literal["europepmc"]
    query: str
    include_preprints: bool = True
    page_size: int = Field(default=200, ge=1, le=1000)
    backfill_days: int = Field(default=30, ge=1)
