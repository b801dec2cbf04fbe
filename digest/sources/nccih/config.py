from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from digest.sources.base_config import SourceBase, Strict


class NccihPage(Strict):
    url: str
    design: Literal["guideline", "review", "patient-information"] = "review"
    # CSS selectors tried in order for the main content (unverified against live pages)
    main_selectors: list[str] = Field(
        default_factory=lambda: ["main", "article", "#main-content", "[role=main]"]
    )


class NccihSource(SourceBase):
    kind: Literal["nccih"]
    feeds: list[str] = Field(default_factory=list)
    pages: list[NccihPage] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something_to_fetch(self) -> NccihSource:
        if not self.feeds and not self.pages:
            raise ValueError("an nccih source needs at least one of feeds or pages")
        return self
