"""A registration's own registry id is a merge key (the ids papers mention are links)."""

from __future__ import annotations

from digest.facts import normalize_registry_id
from digest.model import RecordData


def registration_identifiers(record: RecordData) -> set[tuple[str, str]]:
    own = normalize_registry_id(record.source_id) or next(
        (n for n in map(normalize_registry_id, record.nct_ids) if n), None
    )
    return {("registration", own)} if own else set()
