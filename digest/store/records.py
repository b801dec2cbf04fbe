"""Saving what sources said: payloads, records, changes, cursors (the run log: runs.py).

`save_outcome` stores one source run in the caller's transaction: every page's payload
(with its parse context),
every record (insert, update with a change row, or untouched), deletions and the new
cursor. Nothing here commits; the pipeline commits once per source, so a failure in the
middle leaves the database as it was.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from digest.facts import normalize_doi, normalize_nct, normalize_pmcid
from digest.model import (
    ParseResult,
    Payload,
    Record,
    RecordChange,
    RecordData,
    SourceState,
    content_hash_of,
    utcnow,
)

ChangeDescriber = Callable[[dict[str, Any], dict[str, Any]], "tuple[str, dict[str, Any]] | None"]


@dataclass(slots=True)
class SaveSummary:
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    changed_record_ids: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # records skipped, fields ignored


@dataclass(slots=True)
class ParsedPage:
    """One fetched or imported payload, its parse context and the records it parsed to."""

    url: str
    content: bytes
    content_type: str | None
    parsed: ParseResult
    context: dict[str, Any] = field(default_factory=dict)


def record_identifiers(data: RecordData) -> set[tuple[str, str]]:
    """The normalized identifiers a record carries, for lookups and linking."""
    ids: set[tuple[str, str]] = {("source", f"{data.source}:{data.source_id}")}
    if data.pmid:
        ids.add(("pmid", data.pmid.strip()))
    doi = normalize_doi(data.doi) if data.doi else None
    if doi:
        ids.add(("doi", doi))
    pmcid = normalize_pmcid(data.pmcid) if data.pmcid else None
    if pmcid:
        ids.add(("pmcid", pmcid))
    for nct in data.nct_ids:
        normalized = normalize_nct(nct)
        if normalized:
            ids.add(("nct", normalized))
    return ids


def save_payload(
    session: Session,
    source: str,
    url: str,
    content: bytes,
    content_type: str | None,
    context: dict[str, Any] | None = None,
) -> str:
    """Store a body once by its hash. Its context is the latest one it arrived with (the
    same body fetched under another context, e.g. one feed configured twice, re-parses
    like its latest fetch)."""
    digest = hashlib.sha256(content).hexdigest()
    stored = session.get(Payload, digest)
    if stored is None:
        session.add(
            Payload(
                sha256=digest,
                source=source,
                url=url,
                content_type=content_type,
                size=len(content),
                body_gz=gzip.compress(content, mtime=0),
                context=dict(context or {}),
            )
        )
        session.flush()
    elif stored.context != (context or {}):
        stored.context = dict(context or {})
        session.add(stored)
    return digest


def load_payload(payload: Payload) -> bytes:
    return gzip.decompress(payload.body_gz)


def stored_payloads(session: Session, source_name: str | None = None) -> list[Payload]:
    """Stored payloads (of one configured source), oldest first."""
    query = select(Payload).order_by(col(Payload.fetched_at), col(Payload.sha256))
    if source_name is not None:
        query = query.where(Payload.source == source_name)
    return list(session.exec(query))


def records_of_payload(session: Session, sha256: str) -> list[Record]:
    """The stored records whose latest version came from this payload."""
    return list(session.exec(select(Record).where(Record.payload_sha256 == sha256)))


def source_kinds(session: Session) -> dict[str, str]:
    """Configured source name -> kind, for every source that ever stored a run."""
    return {state.name: state.kind for state in session.exec(select(SourceState))}


def stored_ids(session: Session, source: str, source_ids: Sequence[str]) -> set[str]:
    if not source_ids:
        return set()
    rows = session.exec(
        select(Record.source_id).where(
            Record.source == source, col(Record.source_id).in_(list(source_ids))
        )
    )
    return set(rows)


def _existing_rows(
    session: Session, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Record]:
    """Stored rows for (source, source_id) keys, fetched in a few IN queries."""
    by_source: dict[str, list[str]] = {}
    for source, source_id in keys:
        by_source.setdefault(source, []).append(source_id)
    found: dict[tuple[str, str], Record] = {}
    for source, ids in by_source.items():
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for row in session.exec(
                select(Record).where(Record.source == source, col(Record.source_id).in_(chunk))
            ):
                found[(row.source, row.source_id)] = row
    return found


RECORD = Record.__table__  # type: ignore[attr-defined]
_INSERT_BATCH = 1_000  # rows per INSERT statement (insertmanyvalues batches it further)


def _new_row(
    data: RecordData, fetched_by: str, payload_sha256: str, now: datetime
) -> dict[str, Any]:
    """The column values of a record stored for the first time."""
    as_json = data.to_json_dict()
    return {
        "source": data.source,
        "source_id": data.source_id,
        "fetched_by": fetched_by,
        "data": as_json,
        "content_hash": content_hash_of(as_json),
        "payload_sha256": payload_sha256,
        "first_seen": now,
        "last_seen": now,
        "last_changed": now,
        "deleted": False,
        "study_id": None,
    }


def upsert_record(
    session: Session,
    data: RecordData,
    *,
    fetched_by: str,
    payload_sha256: str | None,
    describe_change: ChangeDescriber,
    now: datetime,
    row: Record | None = None,
) -> str:
    """Insert or update one record (no flush); returns "new", "updated" or "unchanged".

    `row` is the stored row of this (source, source_id), if any (the caller looks rows up
    in bulk).
    """
    new_hash = data.content_hash()
    if row is None:
        session.add(
            Record(
                source=data.source,
                source_id=data.source_id,
                fetched_by=fetched_by,
                data=data.to_json_dict(),
                content_hash=new_hash,
                payload_sha256=payload_sha256,
                first_seen=now,
                last_seen=now,
                last_changed=now,
            )
        )
        return "new"
    row.last_seen = now
    row.fetched_by = fetched_by
    if row.content_hash == new_hash and not row.deleted:
        session.add(row)
        return "unchanged"
    described = describe_change(row.data, data.to_json_dict())
    if described is not None and row.id is not None:
        summary, diff = described
        session.add(
            RecordChange(
                record_id=row.id,
                detected_at=now,
                summary=summary,
                diff=diff,
                old_hash=row.content_hash,
                new_hash=new_hash,
            )
        )
    row.data = data.to_json_dict()
    row.content_hash = new_hash
    row.payload_sha256 = payload_sha256 or row.payload_sha256
    row.last_changed = now
    row.deleted = False
    session.add(row)
    return "updated"


def mark_deleted(session: Session, source: str, source_ids: Iterable[str], now: datetime) -> int:
    count = 0
    for source_id in source_ids:
        row = session.exec(
            select(Record).where(Record.source == source, Record.source_id == source_id)
        ).first()
        if row is not None and not row.deleted:
            row.deleted = True
            row.last_changed = now
            session.add(row)
            count += 1
    return count


def save_outcome(
    session: Session,
    *,
    source_name: str,
    kind: str,
    pages: Sequence[ParsedPage],
    cursor: dict[str, Any],
    describe_change: ChangeDescriber,
    now: datetime | None = None,
) -> SaveSummary:
    """Store one successful source run and its new cursor (no commit).

    Rows are looked up in bulk, stored rows updated in one flush and new ones inserted
    with multi-row INSERTs (no ORM object each), so the cost stays near-linear in the
    number of records; a record reported twice in one run is saved once, last word wins.
    """
    now = now or utcnow()
    summary = SaveSummary()
    latest: dict[tuple[str, str], tuple[RecordData, str]] = {}
    for page in pages:
        sha = save_payload(
            session, source_name, page.url, page.content, page.content_type, page.context
        )
        for data in page.parsed.records:
            summary.fetched += 1
            key = (data.source, data.source_id)
            latest.pop(key, None)  # keep arrival order, with the latest version
            latest[key] = (data, sha)
    existing = _existing_rows(session, latest)
    touched: list[tuple[tuple[str, str], RecordData]] = []
    fresh: list[dict[str, Any]] = []
    for key, (data, sha) in latest.items():
        if key not in existing:  # new: one multi-row INSERT per batch, no ORM objects
            fresh.append(_new_row(data, source_name, sha, now))
            summary.new += 1
            continue
        status = upsert_record(
            session,
            data,
            fetched_by=source_name,
            payload_sha256=sha,
            describe_change=describe_change,
            now=now,
            row=existing.get(key),
        )
        if status == "new":
            summary.new += 1
            touched.append((key, data))
        elif status == "updated":
            summary.updated += 1
            touched.append((key, data))
        else:
            summary.unchanged += 1
    summary.unchanged += summary.fetched - len(latest)  # repeats within the run
    session.flush()
    for start in range(0, len(fresh), _INSERT_BATCH):
        session.execute(insert(RECORD), fresh[start : start + _INSERT_BATCH])
    summary.changed_record_ids = [existing[key].id or 0 for key, _ in touched if key in existing]
    for page in pages:
        source_of_deletions = page.parsed.records[0].source if page.parsed.records else kind
        summary.deleted += mark_deleted(session, source_of_deletions, page.parsed.deleted_ids, now)
    save_cursor(session, source_name, kind, cursor, now)
    return summary


def load_cursor(session: Session, source_name: str) -> dict[str, Any]:
    state = session.get(SourceState, source_name)
    return dict(state.cursor) if state else {}


def save_cursor(
    session: Session, source_name: str, kind: str, cursor: dict[str, Any], now: datetime
) -> None:
    state = session.get(SourceState, source_name)
    if state is None:
        state = SourceState(name=source_name, kind=kind)
    state.cursor = dict(cursor)  # reassign: in-place JSON mutation is not tracked
    state.updated_at = now
    session.add(state)
