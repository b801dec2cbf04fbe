"""Links between studies and near-miss duplicates, saved to match one clustering run;
the human merge / keep-apart decisions that runs start from.

A run over the whole archive rewrites every link and open candidate; a run over a closed
part of it (`digest.studies.incremental`) passes the studies and records in scope, and
only links touching those studies and candidates touching those records are rewritten.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlmodel import Session, col, select

from digest.model import DuplicateCandidate, Study, StudyLink
from digest.studies.cluster import DedupeResult


def stored_decisions(session: Session) -> dict[frozenset[int], str]:
    rows = session.exec(
        select(DuplicateCandidate).where(col(DuplicateCandidate.decision).is_not(None))
    )
    return {frozenset((r.record_a_id, r.record_b_id)): str(r.decision) for r in rows}


def save_links(
    session: Session,
    result: DedupeResult[int],
    study_of: Mapping[int, int],
    scope: Collection[int] | None = None,
    applied: Mapping[int, Study] | None = None,
) -> int:
    """Make the stored links equal the run's links, touching only what differs.

    `study_of` maps a cluster index to its study id. With `scope` (study ids) only links
    from or to those studies are rewritten, and only the run's links with an end in an
    `applied` cluster are wanted; the rest are left as they are."""
    wanted: dict[tuple[int, int, str], str] = {}
    for link in result.links:
        ca, cb = result.cluster_of[link.key_a], result.cluster_of[link.key_b]
        if applied is not None and ca not in applied and cb not in applied:
            continue
        a, b = study_of.get(ca), study_of.get(cb)
        if a is not None and b is not None and a != b:
            wanted.setdefault((a, b, link.kind), link.evidence)
    total = len(wanted)
    query = select(StudyLink)
    if scope is not None:
        ids = sorted(scope)
        query = query.where(
            col(StudyLink.from_study_id).in_(ids) | col(StudyLink.to_study_id).in_(ids)
        )
    for row in session.exec(query):
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


def save_candidates(
    session: Session, result: DedupeResult[int], scope: Collection[int] | None = None
) -> int:
    """Open candidates equal the run's possible duplicates; with `scope` (record ids) only
    pairs with a record in scope are rewritten."""
    query = select(DuplicateCandidate)
    if scope is not None:
        ids = sorted(scope)
        query = query.where(
            col(DuplicateCandidate.record_a_id).in_(ids)
            | col(DuplicateCandidate.record_b_id).in_(ids)
        )
    existing = {(c.record_a_id, c.record_b_id): c for c in session.exec(query)}
    live = set()
    for pair in result.possible_duplicates:
        a, b = sorted((pair.key_a, pair.key_b))
        if scope is not None and a not in scope and b not in scope:
            continue
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
