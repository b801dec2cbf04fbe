"""Identifiers only a PubMed record's own fields carry."""

from __future__ import annotations

from digest.facts import normalize_pmid
from digest.model import RecordData


def pubmed_identifiers(record: RecordData) -> set[tuple[str, str]]:
    """A PubMed record's source id is its PMID, even when the pmid field is empty."""
    pmid = normalize_pmid(record.pmid) or normalize_pmid(record.source_id)
    return {("pmid", pmid)} if pmid else set()
