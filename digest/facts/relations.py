"""Typed relations between works: the kinds parsers emit, how "comments and corrections"
types map onto them, and what each means for the studies (a link, a flag)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from digest.facts.identifiers import (
    find_dois,
    normalize_doi,
    normalize_pmcid,
    normalize_pmid,
    normalize_ppr,
)
from digest.model import Relation

RELATION_KINDS = (
    # notices: on the target ("... in") or on the notice ("... of/for")
    "retracted-by",
    "retraction-of",
    "erratum-in",
    "erratum-for",
    "concern-in",
    "concern-for",
    "comment-in",
    "comment-on",
    "updated-in",
    "update-of",
    "republished-in",
    "republished-from",
    "retracted-republished-in",
    "retracted-republished-from",
    "corrected-republished-in",
    "corrected-republished-from",
    # a retraction retracted in turn: on the reinstated work, or on the reinstatement notice
    "reinstated-by",
    "reinstatement-of",
    # versions: a preprint names its journal version, or a journal record its preprint
    "preprint-of",
    "has-preprint",
    # trials: a paper names its registration; a registration lists its results papers
    "registration",
    "results-in",
)

# PubMed RefType / MEDLINE tag names / Europe PMC comment-correction types (lower-case,
# letters only) -> relation kind. Types not listed (Cites, ReprintOf, ...) stay raw in extra.
_REFTYPE_KINDS = {
    "retractionin": "retracted-by",
    "retractionof": "retraction-of",
    "erratumin": "erratum-in",
    "erratumfor": "erratum-for",
    "expressionofconcernin": "concern-in",
    "expressionofconcernfor": "concern-for",
    "commentin": "comment-in",
    "commenton": "comment-on",
    "updatein": "updated-in",
    "updateof": "update-of",
    "republishedin": "republished-in",
    "republishedfrom": "republished-from",
    "retractedandrepublishedin": "retracted-republished-in",
    "retractedandrepublishedfrom": "retracted-republished-from",
    "correctedandrepublishedin": "corrected-republished-in",
    "correctedandrepublishedfrom": "corrected-republished-from",
}


def relation_kind_for(ref_type: str | None) -> str | None:
    """The relation kind of a "comments and corrections" type ('RetractionIn',
    'Erratum for', ...), or None for a type that is not a relation between works."""
    return _REFTYPE_KINDS.get(re.sub(r"[^a-z]", "", (ref_type or "").lower()))


NoticeKind = Literal["retraction", "erratum", "expression-of-concern"]
NOTICE_KINDS: tuple[NoticeKind, ...] = ("retraction", "erratum", "expression-of-concern")
# the study link a notice gets to the work it is about, per notice kind
NOTICE_LINK_KINDS: dict[NoticeKind, str] = {
    "retraction": "retraction-of",
    "erratum": "erratum-for",
    "expression-of-concern": "expression-of-concern-for",
}
LINK_NOTICE_KINDS: dict[str, NoticeKind] = {v: k for k, v in NOTICE_LINK_KINDS.items()}
StudyFlag = Literal["retracted", "erratum"]


@dataclass(frozen=True, slots=True)
class RelationEffect:
    """What a relation means between studies: a link (from -> to) and a flag on the target.

    `outgoing`: the record holding the relation is the link's source (a notice naming its
    target); otherwise it is the target (an article naming its notice)."""

    outgoing: bool
    link: str
    flag: StudyFlag | None = None


RELATION_EFFECTS: dict[str, RelationEffect] = {
    "retraction-of": RelationEffect(True, "retraction-of", "retracted"),
    "erratum-for": RelationEffect(True, "erratum-for", "erratum"),
    "concern-for": RelationEffect(True, "expression-of-concern-for"),
    "comment-on": RelationEffect(True, "comment-on"),
    "update-of": RelationEffect(True, "update-of"),
    "republished-from": RelationEffect(True, "republished-from"),
    "retracted-republished-from": RelationEffect(True, "republished-from", "retracted"),
    "corrected-republished-from": RelationEffect(True, "republished-from", "erratum"),
    "retracted-by": RelationEffect(False, "retraction-of", "retracted"),
    "erratum-in": RelationEffect(False, "erratum-for", "erratum"),
    "concern-in": RelationEffect(False, "expression-of-concern-for"),
    "comment-in": RelationEffect(False, "comment-on"),
    "updated-in": RelationEffect(False, "update-of"),
    "republished-in": RelationEffect(False, "republished-from"),
    "retracted-republished-in": RelationEffect(False, "republished-from", "retracted"),
    "corrected-republished-in": RelationEffect(False, "republished-from", "erratum"),
    "reinstatement-of": RelationEffect(True, "reinstatement-of"),
    "reinstated-by": RelationEffect(False, "reinstatement-of"),
}
# relations that may join a preprint and its journal version
VERSION_RELATIONS = frozenset({"preprint-of", "has-preprint", "update-of", "updated-in"})
# relations on a record saying that the record itself was retracted / corrected / flagged
_SELF_RETRACTED = frozenset({"retracted-by", "retracted-republished-in"})
_SELF_CORRECTED = frozenset({"erratum-in", "corrected-republished-in"})
_SELF_CONCERN = frozenset({"concern-in"})


def relation_ids(relation: Relation) -> set[tuple[str, str]]:
    """The target's identifiers, normalised, as (scheme, value) pairs."""
    ids: set[tuple[str, str]] = set()
    for scheme, value in (
        ("pmid", normalize_pmid(relation.pmid)),
        ("pmcid", normalize_pmcid(relation.pmcid)),
        ("doi", normalize_doi(relation.doi)),
        ("ppr", normalize_ppr(relation.ppr)),
    ):
        if value:
            ids.add((scheme, value))
    if relation.note:
        ids.update(("doi", d) for d in find_dois(relation.note))
    return ids
