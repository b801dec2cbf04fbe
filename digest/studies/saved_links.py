"""Links between studies and near-miss duplicates, saved to match one clustering run;
the human merge / keep-apart decisions that runs start from."""

from __future__ import annotations

from sqlmodel import Session, col, select

from digest.model import DuplicateCandidate, Record, Study, StudyLink
from digest.studies.cluster import DedupeResult


def stored_decisions(session: Session) -> dict[frozenset[int], str]:
    rows = session.exec(
        select(DuplicateCandidate).where(col(DuplicateCandidate.decision).is_not(None))
    )
    return {frozenset((r.record_a_id, r.record_b_id)): str(r.decision) for r in rows}


def save_links(
    session: Session, result: DedupeResult[int], by_id: dict[int, Record], chosen: list[Study]
) -> int:
    """Make the stored links equal the run's links, touching only what differs."""
    wanted: dict[tuple[int, int, str], str] = {}
    for link in result.links:
        a = chosen[result.cluster_of[link.key_a]].id
        b = chosen[result.cluster_of[link.key_b]].id
        if a is not None and b is not None and a != b:
            wanted.setdefault((a, b, link.kind), link.evidence)
    total = len(wanted)
    for row in session.exec(select(StudyLink)):
        key = (row.from_study_id, row.to_study_id, row.kind)
        if key not in wanted:
            session.delete(row)
            continue
        evidence = wanted.pop(key)
        if row.evidence != evidence:
            row.evidence = evidence
            session.add(row)
    session.flush()
    for (a, b, kind), evidence in sorted(wanted.items()):
        session.add(StudyLink(from_study_id=a, to_study_id=b, kind=kind, evidence=evidence))
    return total


def save_candidates(session: Session, result: DedupeResult[int]) -> int:
    existing = {(c.record_a_id, c.record_b_id): c for c in session.exec(select(DuplicateCandidate))}
    live = set()
    for pair in result.possible_duplicates:
        a, b = sorted((pair.key_a, pair.key_b))
        live.add((a, b))
        row = existing.get((a, b))
        if row is None:
            session.add(
                DuplicateCandidate(
                    record_a_id=a, record_b_id=b, score=pair.score, reason=pair.reason
                )
            )
        elif row.decision is None:
            row.score, row.reason = pair.score, pair.reason
            session.add(row)
    for key, row in existing.items():  # open candidates the algorithm no longer raises
        if key not in live and row.decision is None:
            session.delete(row)
    return len(live)
