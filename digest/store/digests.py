"""Queries the weekly digest and the site read, and the stored digests themselves."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from digest.model import (
    Delivery,
    Digest,
    FetchRun,
    Record,
    RecordChange,
    SlugAlias,
    Study,
    StudyLink,
)


def studies_first_seen(session: Session, start: datetime, end: datetime) -> list[Study]:
    return list(
        session.exec(
            select(Study)
            .where(col(Study.first_seen) >= start, col(Study.first_seen) < end)
            .order_by(col(Study.id))
        )
    )


def all_studies(session: Session) -> list[Study]:
    return list(session.exec(select(Study).order_by(col(Study.slug))))


def records_by_study(session: Session, study_ids: list[int]) -> dict[int, list[Record]]:
    grouped: dict[int, list[Record]] = defaultdict(list)
    if not study_ids:
        return grouped
    rows = session.exec(
        select(Record)
        .where(col(Record.study_id).in_(study_ids), col(Record.deleted).is_(False))
        .order_by(col(Record.source), col(Record.source_id))
    )
    for row in rows:
        grouped[row.study_id or 0].append(row)
    return grouped


def imported_only(session: Session, study_ids: list[int]) -> set[int]:
    """Studies every record of which came from a plain `digest import` (back catalogue)."""
    grouped = records_by_study(session, study_ids)
    return {sid for sid, rows in grouped.items() if all(r.fetched_by == "import" for r in rows)}


def links_touching(session: Session, study_ids: list[int]) -> list[StudyLink]:
    if not study_ids:
        return []
    return list(
        session.exec(
            select(StudyLink)
            .where(
                col(StudyLink.from_study_id).in_(study_ids)
                | col(StudyLink.to_study_id).in_(study_ids)
            )
            .order_by(col(StudyLink.id))
        )
    )


def studies_by_id(session: Session, ids: set[int]) -> dict[int, Study]:
    if not ids:
        return {}
    return {s.id or 0: s for s in session.exec(select(Study).where(col(Study.id).in_(ids)))}


def changes_between(
    session: Session, start: datetime, end: datetime
) -> list[tuple[RecordChange, Record]]:
    rows = session.exec(
        select(RecordChange, Record)
        .join(Record, col(Record.id) == RecordChange.record_id)
        .where(col(RecordChange.detected_at) >= start, col(RecordChange.detected_at) < end)
        .order_by(col(RecordChange.detected_at), col(RecordChange.id))
    )
    return [(change, record) for change, record in rows]


def runs_between(session: Session, start: datetime, end: datetime) -> list[FetchRun]:
    return list(
        session.exec(
            select(FetchRun)
            .where(col(FetchRun.started_at) >= start, col(FetchRun.started_at) < end)
            .order_by(col(FetchRun.started_at), col(FetchRun.id))
        )
    )


def slug_aliases(session: Session) -> dict[str, str]:
    rows = session.exec(select(SlugAlias, Study).join(Study, col(Study.id) == SlugAlias.study_id))
    return {alias.slug: study.slug for alias, study in rows}


def stored_digest(session: Session, week: str) -> Digest | None:
    return session.exec(select(Digest).where(Digest.week == week)).first()


def stored_digests(session: Session) -> list[Digest]:
    return list(session.exec(select(Digest).order_by(col(Digest.week).desc())))


def weeks_sent_before(session: Session, week: str) -> dict[str, str]:
    """slug -> the earliest earlier digest week that carried the study."""
    sent: dict[str, str] = {}
    for digest in session.exec(
        select(Digest).where(col(Digest.week) < week).order_by(col(Digest.week))
    ):
        for section in digest.content.get("sections", []):
            for study in section.get("studies", []):
                sent.setdefault(study["slug"], digest.week)
    return sent


def week_was_sent(session: Session, week: str) -> bool:
    """Whether any subscriber has been sent this week's digest."""
    return (
        session.exec(
            select(Delivery.id).where(Delivery.week == week, Delivery.status == "sent")
        ).first()
        is not None
    )


def save_digest(session: Session, week: str, content: dict[str, Any], built_at: datetime) -> Digest:
    row = stored_digest(session, week)
    if row is None:
        row = Digest(week=week, built_at=built_at, content=content)
    else:
        row.content, row.built_at = content, built_at
    session.add(row)
    session.flush()
    return row


def database_counts(session: Session) -> dict[str, int]:
    """Records, studies and in-scope studies, for `digest status`."""
    count = select(func.count())
    return {
        "records": session.exec(count.select_from(Record)).one(),
        "studies": session.exec(count.select_from(Study)).one(),
        "in scope": session.exec(count.select_from(Study).where(Study.in_scope)).one(),
    }
