"""Where the archive's evidence lives: condition id -> page URL and the words that name it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from digest.config import TopicModel


@dataclass(frozen=True)
class EvidenceIndex:
    condition_urls: Mapping[str, str]
    condition_terms: Mapping[str, Sequence[str]]
    # catch-all conditions (e.g. chronic-pain) that give way to a more specific one
    umbrella: frozenset[str] = field(default_factory=frozenset)
    index_url: str = ""  # the archive's list of conditions, when a sentence names none

    @classmethod
    def from_topics(cls, topics: TopicModel, base_url: str) -> EvidenceIndex:
        """From sources.yaml's topic model; URLs as the site renders them (conditions/<slug>/)."""
        base = base_url if base_url.endswith("/") else base_url + "/"
        return cls(
            condition_urls={
                c.slug: f"{base}conditions/{quote(c.slug, safe='')}/" for c in topics.conditions
            },
            condition_terms={c.slug: tuple(c.terms) for c in topics.conditions},
            umbrella=frozenset(c.slug for c in topics.conditions if c.umbrella),
            index_url=f"{base}conditions/",
        )

    @classmethod
    def empty(cls) -> EvidenceIndex:
        return cls(condition_urls={}, condition_terms={})
