"""The one definition of each fact about a record. Pure; everything else asks here.

- **Identifiers**: DOI, PMID, PMCID and trial-registry ids (ClinicalTrials.gov NCT, ISRCTN,
  ChiCTR, ANZCTR, DRKS, ...): normalise, validate, find in running text.
- **Preprint**: a preprint-server DOI, a "Preprint" publication type, a Europe PMC
  preprint id, or a record that names its own journal version.
- **Retraction, erratum, expression of concern**: which records are notices about another
  work (and of what kind), and which records say they are retracted.
- **Relations**: the typed links parsers emit (`RELATION_KINDS`), how PubMed/Europe PMC
  "comments and corrections" types map onto them, and what each means for the studies.

Dedupe, classify, the store, the issue builder and the renderers all call these; a
second regex for any of these facts anywhere else is a bug. Import from `digest.facts`;
the modules split the facts by subject (identifiers, relations, records).
"""

from __future__ import annotations

from digest.facts.identifiers import (
    REGISTRY_SCHEMES,
    RegistryScheme,
    find_dois,
    find_nct_ids,
    find_pmid_in_url,
    find_registry_ids,
    normalize_doi,
    normalize_nct,
    normalize_pmcid,
    normalize_pmid,
    normalize_ppr,
    normalize_registry_id,
    registry_scheme,
    registry_url,
)
from digest.facts.notices import (
    NOTICE_TYPES,
    SERIOUS,
    WORDING,
    NoticeData,
    NoticeType,
    Wording,
    is_reinstated,
    merge_notices,
    notices_of,
    standing,
)
from digest.facts.records import (
    STATUS_BADGES,
    has_concern,
    has_erratum,
    has_retracted_title,
    is_preprint,
    is_preprint_doi,
    is_retracted,
    notice_kind,
    notice_target_title,
    registrations_named,
    relations_of_kind,
    retraction_reversed,
    status_badges,
)
from digest.facts.relations import (
    LINK_NOTICE_KINDS,
    NOTICE_KINDS,
    NOTICE_LINK_KINDS,
    RELATION_EFFECTS,
    RELATION_KINDS,
    VERSION_RELATIONS,
    NoticeKind,
    RelationEffect,
    StudyFlag,
    relation_ids,
    relation_kind_for,
)

__all__ = [
    "LINK_NOTICE_KINDS",
    "NOTICE_KINDS",
    "NOTICE_LINK_KINDS",
    "NOTICE_TYPES",
    "REGISTRY_SCHEMES",
    "RELATION_EFFECTS",
    "RELATION_KINDS",
    "SERIOUS",
    "STATUS_BADGES",
    "VERSION_RELATIONS",
    "WORDING",
    "NoticeData",
    "NoticeKind",
    "NoticeType",
    "RegistryScheme",
    "RelationEffect",
    "StudyFlag",
    "Wording",
    "find_dois",
    "find_nct_ids",
    "find_pmid_in_url",
    "find_registry_ids",
    "has_concern",
    "has_erratum",
    "has_retracted_title",
    "is_preprint",
    "is_preprint_doi",
    "is_reinstated",
    "is_retracted",
    "merge_notices",
    "normalize_doi",
    "normalize_nct",
    "normalize_pmcid",
    "normalize_pmid",
    "normalize_ppr",
    "normalize_registry_id",
    "notice_kind",
    "notice_target_title",
    "notices_of",
    "registrations_named",
    "registry_scheme",
    "registry_url",
    "relation_ids",
    "relation_kind_for",
    "relations_of_kind",
    "retraction_reversed",
    "standing",
    "status_badges",
]
