"""Possible duplicates held apart, and the decisions people make about them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from digest.errors import DigestError
from digest.model import DuplicateCandidate, Record, utcnow


@dataclass(frozen=True, slots=True)
class CandidateRow:
    id: int
    score: float
    reason: str
    decision: str | None
    a: str  # "source:source_id — title"
    b: str


def _describe(record: Record | None) -> str:
    if record is None:
        return "(record gone)"
    title = str(record.data.get("title") or "")
    return f"{record.source}:{record.source_id} {title[:90]}"


def list_candidates(session: Session, include_decided: bool = False) -> list[CandidateRow]:
    query = select(DuplicateCandidate).order_by(
        col(DuplicateCandidate.score).desc(), col(DuplicateCandidate.id)
    )
    if not include_decided:
        query = query.where(col(DuplicateCandidate.decision).is_(None))
    return [
        CandidateRow(
            c.id or 0,
            c.score,
            c.reason,
            c.decision,
            _describe(session.get(Record, c.record_a_id)),
            _describe(session.get(Record, c.record_b_id)),
        )
        for c in session.exec(query)
    ]


def decide(session: Session, candidate_id: int, decision: str) -> None:
    """Record a person's decision ("merge" or "keep-apart"); it wins over the algorithm."""
    if decision not in ("merge", "keep-apart"):
        raise DigestError(f"decision must be merge or keep-apart, not {decision!r}")
    row = session.get(DuplicateCandidate, candidate_id)
    if row is None:
        raise DigestError(
            f"no possible duplicate with id {candidate_id} (see `digest duplicates list`)"
        )
    row.decision = decision
    row.decided_at = utcnow()
    session.add(row)
