"""The fetch run log (a row per source run, killed runs closed as interrupted) and the
run state the scheduler's catch-up reads: last fetch starts, built weeks."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from digest.model import Digest, FetchRun, utcnow
from digest.store.records import SaveSummary

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
