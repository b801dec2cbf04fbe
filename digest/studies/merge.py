"""One work's fields from its records: the best record that has each field wins."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from digest.facts import is_preprint, normalize_doi, normalize_registry_id
from digest.model import RECORD_FIELDS, RecordData
from digest.studies.features import identifiers, precedence

MERGED_FIELDS = tuple(
    f for f in RECORD_FIELDS if f not in ("source", "source_id", "relations", "extra")
)
_ID_FIELDS = ("pmid", "doi", "pmcid")


def record_rank(record: RecordData) -> tuple[bool, int, str, str]:
    """Primary-record order: journal version over preprint, the kind's precedence, then id."""
    return (is_preprint(record), precedence(record), record.source, record.source_id)


def primary_record(records: Sequence[RecordData]) -> RecordData:
    """The record that stands for the work: the first in `record_rank` order."""
    return min(records, key=record_rank)


def _field_value(record: RecordData, name: str) -> Any:
    if name == "doi":
        return normalize_doi(record.doi)
    if name in _ID_FIELDS:
        # a Europe PMC MED:<pmid> record may carry its PMID only in its id
        return min((v for s, v in identifiers(record) if s == name), default=None)
    value = getattr(record, name)
    return list(value) if isinstance(value, list) else value


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list) and not value)


def merge_fields(
    records: Sequence[RecordData],
) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """One work's fields from its records, and which record each came from.

    Each field comes from the best record that has it, in `record_rank` order (journal
    version before preprint, then each kind's `SourceTraits.precedence`: PubMed > journal
    feed > Europe PMC > other feeds/NCCIH > ClinicalTrials.gov > import). Identifiers come
    from journal records when there are any, so a preprint's DOI never stands for the
    published work. nct_ids is the union of every record's registry ids (NCT, ISRCTN,
    ChiCTR, ...), normalised.
    """
    ordered = sorted(records, key=record_rank)
    journals = [r for r in ordered if not is_preprint(r)] or ordered
    merged: dict[str, Any] = {}
    provenance: dict[str, tuple[str, str]] = {}
    for name in MERGED_FIELDS:
        candidates = journals if name in _ID_FIELDS else ordered
        if name == "nct_ids":
            merged[name] = _merged_registry_ids(ordered, provenance)
            continue
        merged[name] = [] if isinstance(getattr(ordered[0], name), list) else None
        for record in candidates:
            value = _field_value(record, name)
            if not _is_empty(value):
                merged[name], provenance[name] = value, (record.source, record.source_id)
                break
    if merged.get("title") is None:
        merged["title"] = ""
    return merged, provenance


def _merged_registry_ids(
    ordered: Sequence[RecordData], provenance: dict[str, tuple[str, str]]
) -> list[str]:
    registry_ids: list[str] = []
    for record in ordered:
        found = [
            n for n in map(normalize_registry_id, record.nct_ids) if n and n not in registry_ids
        ]
        if found and "nct_ids" not in provenance:
            provenance["nct_ids"] = (record.source, record.source_id)
        registry_ids.extend(found)
    return registry_ids
