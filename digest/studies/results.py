"""What `cluster()` returns: works (clusters of record keys), links, near-misses, conflicts."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, NamedTuple, TypeVar

K = TypeVar("K", bound=Hashable)


class Link(NamedTuple, Generic[K]):
    """A relation between two works, named by their primary record keys.

    kind: "registration" (a publication -> its trial registration), "protocol-of" (a
    protocol -> another paper of the same trial), "same-trial", and notice kinds from a
    notice (or newer work) to its target: "retraction-of", "erratum-for",
    "expression-of-concern-for", "comment-on", "update-of", "republished-from".
    """

    key_a: K
    key_b: K
    kind: str
    evidence: str


class PossibleDuplicate(NamedTuple, Generic[K]):
    """Two records that may be one work; held apart for a person (score 0..1)."""

    key_a: K
    key_b: K
    score: float
    reason: str


class Conflict(NamedTuple, Generic[K]):
    """An identifier or merge the algorithm refused to trust, with the records involved."""

    scheme: str
    value: str
    keys: tuple[K, ...]
    reason: str


@dataclass(slots=True)
class DedupeResult(Generic[K]):
    """The partition of records into works, and what relates the works.

    clusters[i][0] is the primary record of cluster i; clusters are ordered by their
    primary record (source, source_id), members by primary-record rank. `retracted`,
    `has_erratum` and `preprint` (every member a preprint) hold cluster indexes.
    """

    clusters: list[list[K]] = field(default_factory=list)
    links: list[Link[K]] = field(default_factory=list)
    possible_duplicates: list[PossibleDuplicate[K]] = field(default_factory=list)
    conflicts: list[Conflict[K]] = field(default_factory=list)
    retracted: set[int] = field(default_factory=set)
    has_erratum: set[int] = field(default_factory=set)
    preprint: set[int] = field(default_factory=set)
    cluster_of: dict[K, int] = field(default_factory=dict)
