"""What a record says of itself: preprint, retracted, corrected, a notice about another
work, the registrations it names; and the status badges a study's flags give."""

from __future__ import annotations

import re
from collections.abc import Sequence

from digest.facts.identifiers import (
    _unique,
    find_registry_ids,
    normalize_doi,
    normalize_ppr,
    normalize_registry_id,
)
from digest.facts.notices import is_reinstated, notices_of
from digest.facts.relations import (
    _SELF_CONCERN,
    _SELF_CORRECTED,
    _SELF_RETRACTED,
    NoticeKind,
)
from digest.model import RecordData, Relation

# bioRxiv/medRxiv (10.1101 + date or bare number, unlike CSHL journals), Research Square,
# SSRN, Preprints.org, OSF, arXiv, JMIR Preprints.
_PREPRINT_DOI = re.compile(
    r"^(?:10\.1101/(?:\d{4}\.\d{2}\.\d{2}\.)?\d{6,}(?:v\d+)?"
    r"|10\.21203/rs\.|10\.2139/ssrn\.|10\.20944/preprints|10\.31219/osf\.io"
    r"|10\.48550/arxiv\.|10\.2196/preprints\.)"
)
# "[Retracted] ...", "RETRACTED - ...", "RETRACTED ARTICLE: ...", "(Retracted) ..."
_RETRACTED_TITLE = re.compile(
    r"^\W*?[\[(]?\s*retracted(?:\s+article)?\s*(?:[\])]|[:.\-\u2013\u2014])", re.IGNORECASE
)
_NOTICE_TITLE = re.compile(
    r"^\W*(?:"
    r"(?P<erratum>errat(?:um|a)|corrigend(?:um|a)|department of error)\b"
    r"|(?P<erratum2>correction)(?:\s+(?:to|notice)\b|\s*[:.\-\u2013\u2014]|\s*$)"
    r"|(?P<retraction>notice of retraction|retraction (?:note|notice)|withdrawal notice)\b"
    r"|(?P<retraction2>retraction)(?:\s+(?:to|for)\b|\s*[:.\-\u2013\u2014]|\s*$)"
    r"|(?P<concern>(?:editorial )?expression of concern)\b"
    r")\s*(?:to|for|of|in|on)?\s*[:.\-\u2013\u2014]?\s*(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_NOTICE_PUBTYPES: dict[str, NoticeKind] = {
    "published erratum": "erratum",
    "correction": "erratum",
    "retraction of publication": "retraction",
    "retraction notice": "retraction",
    "expression of concern": "expression-of-concern",
}
_RETRACTED_PUBTYPES = frozenset({"retracted publication"})


def _types(record: RecordData) -> set[str]:
    return {t.strip().lower() for t in record.publication_types}


def is_preprint_doi(doi: str | None) -> bool:
    normalized = normalize_doi(doi)
    return bool(normalized and _PREPRINT_DOI.match(normalized))


def is_preprint(record: RecordData) -> bool:
    """A preprint: a "Preprint" publication type, a preprint-server DOI, a Europe PMC
    preprint id, or a record that names its journal version ("preprint-of")."""
    if "preprint" in _types(record) or is_preprint_doi(record.doi):
        return True
    if any(r.kind == "preprint-of" for r in record.relations):
        return True
    own_id = record.source_id.rsplit(":", 1)[-1]
    return record.source == "europepmc" and normalize_ppr(own_id) is not None


def has_retracted_title(title: str | None) -> bool:
    """Titles publishers and PubMed mark retracted works with ('RETRACTED: ...')."""
    return bool(_RETRACTED_TITLE.match(title or ""))


def is_retracted(record: RecordData) -> bool:
    """The record says of itself that it is retracted: the 'Retracted Publication' type,
    a relation to its retraction notice, or a retracted-title prefix; unless the
    retraction was itself retracted (a reinstatement dated on or after it)."""
    if retraction_reversed(record):
        return False
    if _types(record) & _RETRACTED_PUBTYPES or has_retracted_title(record.title):
        return True
    return any(r.kind in _SELF_RETRACTED for r in record.relations)


def retraction_reversed(record: RecordData) -> bool:
    """The record names a retraction of itself and a later reinstatement."""
    return is_reinstated(notices_of(record))


def has_erratum(record: RecordData) -> bool:
    """The record names an erratum (or corrected republication) of itself."""
    return any(r.kind in _SELF_CORRECTED for r in record.relations)


def has_concern(record: RecordData) -> bool:
    """The record names an expression of concern about itself."""
    return any(r.kind in _SELF_CONCERN for r in record.relations)


def notice_kind(record: RecordData, *, registration: bool = False) -> NoticeKind | None:
    """The kind of notice a record is about another work, by publication type, then title.
    A registration (`registration=True`) is never a notice."""
    if registration:
        return None
    for pubtype in record.publication_types:
        kind = _NOTICE_PUBTYPES.get(pubtype.strip().lower())
        if kind:
            return kind
    match = _NOTICE_TITLE.match(record.title or "")
    if not match:
        return None
    if match.group("erratum") or match.group("erratum2"):
        return "erratum"
    if match.group("retraction") or match.group("retraction2"):
        return "retraction"
    return "expression-of-concern"


def notice_target_title(title: str | None) -> str | None:
    """The title a notice repeats of its target ('Retraction: <title>'), or None."""
    match = _NOTICE_TITLE.match(title or "")
    return match.group("rest") if match else None


STATUS_BADGES = ("retracted", "erratum", "preprint")


def status_badges(
    badges: Sequence[str], *, retracted: bool, erratum: bool, preprint: bool
) -> list[str]:
    """A study's badges with the status badges set from its own flags: the one place a
    "retracted", "erratum" or "preprint" badge is decided, so badge and banner agree."""
    flags = {"retracted": retracted, "erratum": erratum, "preprint": preprint}
    return [b for b in badges if b not in STATUS_BADGES] + [b for b in STATUS_BADGES if flags[b]]


def registrations_named(record: RecordData, limit: int) -> list[str]:
    """Registry ids a publication names (its nct_ids, 'registration' relations, title,
    abstract), normalised; none when it names more than `limit` (a review, not a trial)."""
    found = _unique(
        [
            *(n for n in map(normalize_registry_id, record.nct_ids) if n),
            *(
                n
                for r in record.relations
                if r.kind == "registration" and (n := normalize_registry_id(r.registry_id))
            ),
            *find_registry_ids(f"{record.title}\n{record.abstract or ''}"),
        ]
    )
    return [] if len(found) > limit else found


def relations_of_kind(record: RecordData, kinds: Sequence[str]) -> list[Relation]:
    return [r for r in record.relations if r.kind in kinds]
