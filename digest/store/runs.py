"""The run state the scheduler's catch-up reads: last fetch starts, built weeks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from digest.model import Digest, FetchRun

# ------------------------------------------------------------------ run state for catch-up


def last_fetch_starts(engine: Engine) -> dict[str, datetime]:
    """The start time of each source's most recent fetch run (any outcome)."""
    with Session(engine) as session:
        rows = session.exec(
            select(FetchRun.source, func.max(FetchRun.started_at)).group_by(FetchRun.source)
        ).all()
    return {source: started for source, started in rows if started is not None}


def built_weeks(engine: Engine) -> set[str]:
    """ISO weeks that have a built digest."""
    with Session(engine) as session:
        return set(session.exec(select(Digest.week)).all())


def last_successful_fetch(session: Session) -> datetime | None:
    """When the newest fetch run that searched its source successfully finished."""
    return session.exec(
        select(func.max(FetchRun.finished_at)).where(
            FetchRun.outcome.in_(("ok", "not-modified"))  # type: ignore[attr-defined]
        )
    ).one()
