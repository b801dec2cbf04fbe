"""The pubmed kind's parser, and the names callers outside `sources/` import.

The readers live in `parse_efetch` (EFetch XML), `parse_esearch` (ESearch XML),
`article` and `fields` (one article and its fields) and `xmltext` (shared helpers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from digest.model import ParseResult
from digest.sources.pubmed.parse_efetch import EfetchBatch, iter_efetch, parse_efetch
from digest.sources.pubmed.parse_esearch import ESearchResult, parse_esearch

__all__ = [
    "ESearchResult",
    "EfetchBatch",
    "iter_efetch",
    "parse_efetch",
    "parse_esearch",
    "parse_pubmed",
]


def parse_pubmed(
    payload: bytes, context: Mapping[str, Any] | None = None, content_type: str | None = None
) -> ParseResult:
    """A stored pubmed page: an efetch answer (esearch answers are not stored)."""
    return parse_efetch(payload)
