"""The re-check's reads and writes: identifier state, notices (the correction clock), the
run log and the correction-email ledger. Ledger steps commit on their own, as the weekly
delivery ledger does (`sending` before SMTP, `sent` after); the rest work in the
caller's transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from digest.facts import NoticeData
from digest.model import Study, utcnow
from digest.store.recheck_tables import CorrectionDelivery, RecheckRun, RecheckState, StudyNotice

Key = tuple[str, str]  # (scheme, value)


def work_key(scheme: str, value: str) -> str:
    return f"{scheme}:{value}"


# --------------------------------------------------------------------------- state


def load_states(session: Session) -> dict[Key, RecheckState]:
    return {(s.scheme, s.value): s for s in session.exec(select(RecheckState))}


def save_state(
    session: Session,
    key: Key,
    *,
    now: datetime,
    outcome: str,
    fingerprint: str | None,
    full: bool,
    known: dict[Key, RecheckState] | None = None,
) -> RecheckState:
    """Note a check of one identifier; `fingerprint` None keeps the last one (the
    incremental pass that heard of no change). `known`: the states loaded in this session
    (`load_states`), to spare a lookup per identifier."""
    state = known.get(key) if known is not None else session.get(RecheckState, key)
    if state is None:
        state = RecheckState(
            scheme=key[0], value=key[1], first_checked_at=now, last_full_at=now, outcome=outcome
        )
    if fingerprint is not None and fingerprint != state.fingerprint:
        state.changed_at = now
        state.fingerprint = fingerprint
    state.last_checked_at = now
    state.outcome = outcome
    if full:
        state.last_full_at = now
    session.add(state)
    return state


# --------------------------------------------------------------------------- notices


def record_notices(
    session: Session, works: Sequence[str], notices: Iterable[NoticeData], now: datetime
) -> list[StudyNotice]:
    """Store the notices a work names, under its first key (`works_of`); the ones not
    seen before under any of its keys are returned (first seen now). A known notice gets
    a date or another asserter filled in, never a new clock: a study filed by PMID that
    later gains a DOI keeps its notices, so nobody is told twice."""
    query = select(StudyNotice).where(col(StudyNotice.work).in_(sorted(set(works))))
    known = {n.notice_key: n for n in session.exec(query)}
    work = works[0]
    new = []
    for notice in notices:
        row = known.get(notice.key)
        if row is None:
            row = StudyNotice(
                work=work,
                notice_key=notice.key,
                kind=notice.kind,
                notice_doi=notice.doi,
                notice_pmid=notice.pmid,
                notice_date=notice.date,
                asserted_by=notice.asserted_by,
                label=notice.label,
                first_seen_at=now,
            )
            new.append(row)
        else:
            row.notice_date = row.notice_date or notice.date
            who = set(row.asserted_by.split("+")) | set(notice.asserted_by.split("+"))
            row.asserted_by = "+".join(sorted(who))
        session.add(row)
    session.flush()
    return new


def notices_by_work(
    session: Session, works: Iterable[str] | None = None
) -> dict[str, list[StudyNotice]]:
    query = select(StudyNotice).order_by(col(StudyNotice.first_seen_at), col(StudyNotice.id))
    wanted = sorted(set(works)) if works is not None else None
    if wanted is not None:
        query = query.where(col(StudyNotice.work).in_(wanted))
    out: dict[str, list[StudyNotice]] = defaultdict(list)
    for row in session.exec(query):
        out[row.work].append(row)
    return dict(out)


def notices_first_seen_between(
    session: Session, start: datetime, end: datetime
) -> list[StudyNotice]:
    return list(
        session.exec(
            select(StudyNotice)
            .where(col(StudyNotice.first_seen_at) >= start, col(StudyNotice.first_seen_at) < end)
            .order_by(col(StudyNotice.first_seen_at), col(StudyNotice.id))
        )
    )


def mark_told(session: Session, rows: Iterable[StudyNotice], when: datetime, how: str) -> int:
    """Stamp "subscribers told" on notices that were not told yet; how many were."""
    told = 0
    for row in rows:
        fresh = session.get(StudyNotice, row.id)
        if fresh is not None and fresh.told_at is None:
            fresh.told_at, fresh.told_how = when, how
            session.add(fresh)
            told += 1
    return told


# --------------------------------------------------------------------------- run log


def start_run(session: Session, now: datetime) -> int:
    run = RecheckRun(started_at=now)
    session.add(run)
    session.commit()
    session.refresh(run)
    return run.id or 0


def finish_run(session: Session, run_id: int, **values: object) -> None:
    run = session.get(RecheckRun, run_id)
    if run is None:
        return
    for name, value in values.items():
        setattr(run, name, value)
    run.finished_at = run.finished_at or utcnow()
    session.add(run)
    session.commit()


def last_run(session: Session, before: datetime | None = None) -> RecheckRun | None:
    """The latest finished re-check (that started before `before`, if given)."""
    query = select(RecheckRun).where(col(RecheckRun.finished_at).is_not(None))
    if before is not None:
        query = query.where(col(RecheckRun.started_at) <= before)
    order = (col(RecheckRun.started_at).desc(), col(RecheckRun.id).desc())
    return session.exec(query.order_by(*order)).first()


def last_recheck_start(engine: Engine) -> datetime | None:
    """When the latest re-check started (any outcome): the scheduler's catch-up reads it."""
    with Session(engine) as session:
        run = session.exec(select(RecheckRun).order_by(col(RecheckRun.started_at).desc())).first()
    if run is None:
        return None
    return run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=UTC)


def recent_outcomes(session: Session, limit: int) -> list[str]:
    """The outcomes of the latest re-checks, newest first (`digest status --fail-after`)."""
    rows = session.exec(
        select(RecheckRun.outcome).order_by(col(RecheckRun.started_at).desc()).limit(limit)
    )
    return list(rows)


# --------------------------------------------------------------------------- ledger


def correction_status(session: Session, correction: str, subscriber_id: int) -> str | None:
    row = session.exec(
        select(CorrectionDelivery).where(
            CorrectionDelivery.correction == correction,
            CorrectionDelivery.subscriber_id == subscriber_id,
        )
    ).first()
    return row.status if row else None


def claim_correction(
    session: Session, correction: str, subscriber_id: int, message_id: str
) -> int | None:
    """A `sending` row, committed before SMTP; None when it was already claimed (sent, or
    found `sending` by a rerun: then `unconfirmed`, never sent blindly again)."""
    row = session.exec(
        select(CorrectionDelivery).where(
            CorrectionDelivery.correction == correction,
            CorrectionDelivery.subscriber_id == subscriber_id,
        )
    ).first()
    if row is not None:
        if row.status == "sending":
            row.status = "unconfirmed"
            session.add(row)
            session.commit()
        if row.status != "failed":
            return None
        row.status, row.message_id = "sending", message_id
    else:
        row = CorrectionDelivery(
            correction=correction, subscriber_id=subscriber_id, message_id=message_id
        )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # another sender claimed it first
        session.rollback()
        return None
    session.refresh(row)
    return row.id


def mark_correction(
    session: Session, delivery_id: int, status: str, error: str | None = None
) -> None:
    row = session.get(CorrectionDelivery, delivery_id)
    if row is None:
        return
    row.status, row.last_error = status, error
    if status == "sent":
        row.sent_at = utcnow()
    session.add(row)
    session.commit()


def studies_for_works(session: Session, works: Iterable[str]) -> dict[str, Study]:
    """The archive's study of each work key ("doi:…", "pmid:…") that it holds."""
    dois: set[str] = set()
    pmids: set[str] = set()
    for work in works:
        scheme, _, value = work.partition(":")
        (dois if scheme == "doi" else pmids).add(value)
    found: dict[str, Study] = {}
    if dois:
        for study in session.exec(select(Study).where(col(Study.doi).in_(sorted(dois)))):
            found[f"doi:{study.doi}"] = study
    if pmids:
        for study in session.exec(select(Study).where(col(Study.pmid).in_(sorted(pmids)))):
            found[f"pmid:{study.pmid}"] = study
    return found


def works_of(study: Study) -> list[str]:
    """The work keys the re-check files a study's notices under."""
    return [k for k in (study.doi and f"doi:{study.doi}", study.pmid and f"pmid:{study.pmid}") if k]
