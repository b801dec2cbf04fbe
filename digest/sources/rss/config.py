from __future__ import annotations

from typing import Literal

from digest.sources.base_config import SourceBase


class RssSource(SourceBase):
    kind: Literal["rss"]
    url: str
