from __future__ import annotations

from typing import Literal

from pydantic import Field

from digest.sources.base_config import SourceBase


class CrossrefSource(SourceBase):
    kind: Literal["crossref"]
    # Crossref `update-type` values to ask for (several are OR'ed): the notices themselves
    update_types: list[str] = Field(default_factory=lambda: ["retraction"], min_length=1)
    query: str | None = None  # optional free-text `query` narrowing the notices
    rows: int = Field(default=500, ge=1, le=1000)  # Crossref's cap per page is 1000
    backfill_days: int = Field(default=30, ge=1)
