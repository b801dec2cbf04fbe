"""The desk's audit log: every decision, who made it and when. Append-only by code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from digest.desk.tables import AuditEntry
from digest.model import utcnow


def record(
    session: Session,
    actor: str,
    action: str,
    *,
    week: str | None = None,
    slug: str | None = None,
    now: datetime | None = None,
    **detail: Any,
) -> AuditEntry:
    """Add one entry in the caller's transaction (the caller commits)."""
    entry = AuditEntry(
        at=now or utcnow(), actor=actor, action=action, week=week, slug=slug, detail=detail
    )
    session.add(entry)
    return entry


def entries(session: Session, week: str | None = None, limit: int = 200) -> list[AuditEntry]:
    """Newest first; one week's entries when `week` is given."""
    query = select(AuditEntry).order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
    if week is not None:
        query = query.where(AuditEntry.week == week)
    return list(session.exec(query.limit(limit)).all())
