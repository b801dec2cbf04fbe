"""Order the items of one digest honestly: stronger designs first, retractions apart.

The order, in full (deterministic, documented because readers rely on it):
1. design strength, `DESIGN_ORDER` (systematic-review > guideline > rct >
   non-randomized-trial > observational > qualitative > trial-registration > protocol >
   review > case-report > animal-or-lab > patient-information > editorial > notice >
   other; an unknown design
   string sorts after all of them);
2. sample size, largest first; unknown (None) after every known size;
3. recency, `published` newest first; partial dates ("2024", "2024-05") sort as the start
   of their period, so "2024-05-17" comes before "2024-05" and "2024"; unknown last;
4. slug, ascending: a stable tie-break, so building twice gives the same order.

Retracted items (and notices: errata, retraction notices) do not compete with studies:
`split_corrections` moves them to a "corrections" section, itself ordered the same way.

Works on anything with the attributes of `SupportsRank` (duck typing): the `Rankable`
dataclass here, digest.model.Study rows, or the digest builder's own view objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

DESIGN_ORDER = (
    "systematic-review",
    "guideline",
    "rct",
    "non-randomized-trial",
    "observational",
    "qualitative",
    "trial-registration",
    "protocol",
    "review",
    "case-report",
    "animal-or-lab",
    "patient-information",
    "editorial",
    "notice",
    "other",
)
CORRECTION_DESIGNS = frozenset({"notice"})

_STRENGTH = {design: index for index, design in enumerate(DESIGN_ORDER)}
_DATE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?")


class SupportsRank(Protocol):
    """What ranking reads from an item (read-only, so frozen dataclasses fit too)."""

    @property
    def design(self) -> str: ...

    @property
    def sample_size(self) -> int | None: ...

    @property
    def published(self) -> str | None: ...

    @property
    def slug(self) -> str: ...

    @property
    def retracted(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Rankable:
    """A minimal rankable item, for callers without objects of their own."""

    design: str
    sample_size: int | None
    published: str | None
    slug: str
    retracted: bool = False


Item = TypeVar("Item", bound=SupportsRank)


def design_strength(design: str) -> int:
    """0 for the strongest design; unknown designs after 'other'."""
    return _STRENGTH.get(design, len(DESIGN_ORDER))


def date_key(published: str | None) -> tuple[int, int, int] | None:
    """'2024-05-17' -> (2024, 5, 17); '2024' -> (2024, 0, 0); unreadable -> None."""
    match = _DATE.match(published or "")
    if match is None:
        return None
    year, month, day = (int(part) if part else 0 for part in match.groups())
    return year, month, day


def rank_key(item: SupportsRank) -> tuple[int, int, int, tuple[int, int, int], str]:
    """The sort key: ascending order of it is the digest order."""
    size = item.sample_size
    date = date_key(item.published)
    return (
        design_strength(item.design),
        0 if size is not None else 1,
        -(size or 0),
        (-date[0], -date[1], -date[2]) if date else (1, 0, 0),
        item.slug,
    )


def rank(items: Iterable[Item]) -> list[Item]:
    """Items in digest order (see the module docstring)."""
    return sorted(items, key=rank_key)


def is_correction(item: SupportsRank) -> bool:
    """Retracted studies and notices belong in the corrections section."""
    return bool(item.retracted) or item.design in CORRECTION_DESIGNS


def split_corrections(items: Iterable[Item]) -> tuple[list[Item], list[Item]]:
    """(main items, corrections), each in digest order."""
    ranked = rank(items)
    return (
        [item for item in ranked if not is_correction(item)],
        [item for item in ranked if is_correction(item)],
    )
