"""Saving what sources said: payloads, records, identifiers, changes, cursors, the run log.

`save_outcome` stores one source run in the caller's transaction: every page's payload,
every record (insert, update with a change row, or untouched), deletions and the new
cursor. Nothing here commits; the pipeline commits once per source, so a failure in the
middle leaves the database as it was.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, delete, select

from digest.model import (
    FetchRun,
    Payload,
    Record,
    RecordChange,
    RecordData,
    RecordIdentifier,
    SourceState,
    utcnow,
)
from digest.parsers.text import normalize_doi, normalize_nct, normalize_pmcid
from digest.sources.base import FetchOutcome

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
    session: Session, source: str, url: str, content: bytes, content_type: str | None
) -> str:
    digest = hashlib.sha256(content).hexdigest()
    if session.get(Payload, digest) is None:
        session.add(
            Payload(
                sha256=digest,
                source=source,
                url=url,
                content_type=content_type,
                size=len(content),
                body_gz=gzip.compress(content, mtime=0),
            )
        )
        session.flush()
    return digest


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
    in bulk). Identifiers are written by `write_identifiers` after the caller's flush.
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


def write_identifiers(session: Session, rows: Sequence[tuple[Record, RecordData]]) -> None:
    """Replace the identifier rows of these (flushed) records in two statements."""
    ids = [row.id for row, _ in rows if row.id is not None]
    for start in range(0, len(ids), 500):
        session.exec(
            delete(RecordIdentifier).where(
                col(RecordIdentifier.record_id).in_(ids[start : start + 500])
            )
        )
    session.add_all(
        RecordIdentifier(record_id=row.id, scheme=scheme, value=value)
        for row, data in rows
        if row.id is not None
        for scheme, value in sorted(record_identifiers(data))
    )
    session.flush()


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
    outcome: FetchOutcome,
    describe_change: ChangeDescriber,
    now: datetime | None = None,
) -> SaveSummary:
    """Store one successful source run and its new cursor (no commit).

    Rows are looked up in bulk and flushed once, so the cost stays near-linear in the
    number of records; a record reported twice in one run is saved once, last word wins.
    """
    now = now or utcnow()
    summary = SaveSummary()
    latest: dict[tuple[str, str], tuple[RecordData, str]] = {}
    for page in outcome.pages:
        sha = save_payload(session, source_name, page.url, page.content, page.content_type)
        for data in page.parsed.records:
            summary.fetched += 1
            key = (data.source, data.source_id)
            latest.pop(key, None)  # keep arrival order, with the latest version
            latest[key] = (data, sha)
    existing = _existing_rows(session, latest)
    touched: list[tuple[tuple[str, str], RecordData]] = []
    for key, (data, sha) in latest.items():
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
    rows = _existing_rows(session, [key for key, _ in touched])
    write_identifiers(session, [(rows[key], data) for key, data in touched])
    summary.changed_record_ids = [rows[key].id or 0 for key, data in touched if key in existing]
    for page in outcome.pages:
        source_of_deletions = page.parsed.records[0].source if page.parsed.records else kind
        summary.deleted += mark_deleted(session, source_of_deletions, page.parsed.deleted_ids, now)
    save_cursor(session, source_name, kind, outcome.cursor, now)
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


# ---------------------------------------------------------------------------- run log


STALE_RUN = timedelta(hours=2)


def start_run(
    session: Session,
    source_name: str,
    kind: str,
    started_at: datetime | None = None,
    *,
    close_running: bool = False,
) -> int:
    """Open a run-log row. Rows of this source left `running` for longer than a fetch can
    last belong to a process that was killed: they are closed as `interrupted`. With
    `close_running` (the caller holds the source's fetch lock, so no other process is
    running it) every `running` row of the source is closed, whatever its age."""
    started_at = started_at or utcnow()
    query = select(FetchRun).where(FetchRun.source == source_name, FetchRun.outcome == "running")
    if not close_running:
        query = query.where(col(FetchRun.started_at) < started_at - STALE_RUN)
    for stale in session.exec(query):
        stale.outcome = "interrupted"
        stale.error = "the process stopped before this run finished"
        stale.finished_at = started_at
        session.add(stale)
    run = FetchRun(source=source_name, kind=kind, started_at=started_at)
    session.add(run)
    session.commit()
    assert run.id is not None
    return run.id


def finish_run(
    session: Session,
    run_id: int,
    *,
    outcome: str,
    summary: SaveSummary | None = None,
    error: str | None = None,
) -> None:
    run = session.get(FetchRun, run_id)
    if run is None:
        return
    run.finished_at = utcnow()
    run.outcome = outcome
    run.error = error
    if summary is not None:
        run.fetched, run.new, run.updated = summary.fetched, summary.new, summary.updated
        run.unchanged, run.deleted = summary.unchanged, summary.deleted
    session.add(run)
    session.commit()


def recent_runs(session: Session, source_name: str, limit: int = 10) -> list[FetchRun]:
    return list(
        session.exec(
            select(FetchRun)
            .where(FetchRun.source == source_name)
            .order_by(col(FetchRun.started_at).desc(), col(FetchRun.id).desc())
            .limit(limit)
        )
    )
