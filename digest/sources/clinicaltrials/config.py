from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from digest.sources.base_config import SourceBase


class ClinicalTrialsSource(SourceBase):
    kind: Literal["clinicaltrials"]
    cond: str | None = None
    intr: str | None = None
    term: str | None = None
    page_size: int = Field(default=200, ge=1, le=1000)
    backfill_days: int = Field(default=30, ge=1)

    @model_validator(mode="after")
    def _some_query(self) -> ClinicalTrialsSource:
        if not (self.cond or self.intr or self.term):
            raise ValueError("a clinicaltrials source needs cond, intr or term")
        return self
