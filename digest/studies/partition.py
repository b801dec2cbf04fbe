"""The partition being built: union-find with guards, and the state of one `cluster()` run.

A guard refuses a join that would put records of different kinds (article / notice /
registration), a pair a person kept apart, or two different values of a guarded
identifier scheme (PMID, PMCID, registration; DOI for every join but shared ids) into
one work.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal

from digest.model import RecordData
from digest.studies.features import Features, Identifier
from digest.studies.results import Conflict, K

Decision = Literal["merge", "keep-apart"]


# Identifier schemes whose values must not differ inside one work, per kind of join.
GUARD_ALWAYS = ("pmid", "pmcid", "registration")
GUARD_WITH_DOI = ("pmid", "pmcid", "registration", "doi")


class Partition:
    """Union-find with the guards: kinds, keep-apart pairs, conflicting identifiers."""

    def __init__(self, features: Sequence[Features], distrusted: set[Identifier]) -> None:
        self.parent = list(range(len(features)))
        self.kind = [f.kind for f in features]
        self.guard: list[tuple[Identifier, ...]] = [_guard_ids(f, distrusted) for f in features]
        self.forbid: dict[int, set[int]] = defaultdict(set)

    def find(self, index: int) -> int:
        root = index
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[index] != root:
            self.parent[index], index = root, self.parent[index]
        return root

    def keep_apart(self, a: int, b: int) -> None:
        self.forbid[a].add(b)
        self.forbid[b].add(a)

    def refusal(self, a: int, b: int, schemes: Sequence[str]) -> str | None:
        """Why records a and b may not be one work, or None."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        if self.kind[ra] != self.kind[rb]:
            return f"{self.kind[ra]} and {self.kind[rb]} are never one work"
        if self.forbidden(ra, rb):
            return "kept apart by a person"
        for scheme in schemes:
            left = {v for s, v in self.guard[ra] if s == scheme}
            right = {v for s, v in self.guard[rb] if s == scheme}
            if left and right and left != right:
                return f"different {scheme}: {', '.join(sorted(left | right))}"
        return None

    def forbidden(self, ra: int, rb: int) -> bool:
        """Whether a person kept any record of root ra apart from any record of root rb."""
        for x, other in ((ra, rb), (rb, ra)):
            if any(self.find(y) == other for y in self.forbid.get(x, ())):
                return True
        return False

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        keep, gone = (ra, rb) if ra < rb else (rb, ra)
        self.parent[gone] = keep
        if self.guard[gone]:
            self.guard[keep] = tuple(sorted({*self.guard[keep], *self.guard[gone]}))
            self.guard[gone] = ()
        if gone in self.forbid:
            self.forbid[keep] |= self.forbid.pop(gone)


def _guard_ids(feature: Features, distrusted: set[Identifier]) -> tuple[Identifier, ...]:
    """Identifiers that must agree inside a work; a preprint's own ids never block."""
    if feature.preprint and feature.kind == "article":
        return ()
    return tuple(i for i in feature.ids if i[0] in GUARD_WITH_DOI and i not in distrusted)


@dataclass(slots=True)
class Run(Generic[K]):
    """State of one `cluster()` call over records in canonical order."""

    keys: list[K]
    records: list[RecordData]
    features: list[Features]
    id_index: dict[Identifier, list[int]]
    partition: Partition
    decisions: dict[tuple[int, int], Decision]
    conflicts: list[Conflict[K]] = field(default_factory=list)
    reviews: dict[tuple[int, int], tuple[float, str]] = field(default_factory=dict)
    word_counts: Mapping[str, int] | None = None  # archive-wide blocking frequencies

    def conflict(self, identifier: Identifier, members: Iterable[int], reason: str) -> None:
        keys = tuple(self.keys[i] for i in sorted(set(members)))
        self.conflicts.append(Conflict(identifier[0], identifier[1], keys, reason))

    def review(self, a: int, b: int, score: float, reason: str) -> None:
        pair = (min(a, b), max(a, b))
        if self.decisions.get(pair) == "keep-apart":
            return
        best = self.reviews.get(pair)
        if best is None or score > best[0]:
            self.reviews[pair] = (score, reason)

    def try_union(
        self, a: int, b: int, schemes: Sequence[str], identifier: Identifier | None
    ) -> bool:
        """Join a and b unless a guard refuses; a refused identifier join is a conflict
        (title joins pass None: their refusals become possible duplicates instead)."""
        refusal = self.partition.refusal(a, b, schemes)
        if refusal is None:
            self.partition.union(a, b)
            return True
        if identifier is not None and refusal != "kept apart by a person":
            self.conflict(identifier, (a, b), refusal)
        return False
