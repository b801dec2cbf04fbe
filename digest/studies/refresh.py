"""Studies from records: the weekly refresh (incremental) and the full rebuild.

`refresh_studies` brings the studies in line with the records by reclustering only what
changed (`digest.studies.incremental`: the changed records, and the closed set of
records they can touch, found through the study index). `rebuild_studies` reclusters
everything with `digest.studies.cluster.cluster` (pure, order-independent) and rebuilds
the index; the refresh falls back to it when the index was never built (a database from
before the index) or the classification rules / topic model changed. Both map clusters
onto stored studies the same way (`digest.studies.apply`), so they give the same studies.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

from digest.classify import Classification, classify_merged, rules_fingerprint
from digest.config import TopicModel
from digest.model import Record, RecordData, Study, utcnow
from digest.record_schema import record_problem
from digest.studies import incremental, index_store
from digest.studies.apply import RefreshSummary, Scope, apply_run
from digest.studies.cluster import cluster
from digest.studies.saved_links import save_candidates, save_links, stored_decisions

__all__ = ["RefreshSummary", "forget_classifications", "rebuild_studies", "refresh_studies"]

log = logging.getLogger(__name__)


def usable(row: Record) -> bool:
    """A stored row that satisfies the record schema; one written before the schema was
    enforced, and invalid, is left out of the refresh (and reported) instead of breaking it."""
    problem = record_problem(row.data)
    if problem is not None:
        log.warning("record %s (%s:%s) left out: %s", row.id, row.source, row.source_id, problem)
    return problem is None


def refresh_studies(
    session: Session, topics: TopicModel, now: datetime | None = None
) -> RefreshSummary:
    """Bring studies, aliases, links and duplicate candidates in line with the records,
    reclustering only what the changed records touch."""
    rules = rules_fingerprint(topics)
    if not index_store.ready(session, rules):
        return rebuild_studies(session, topics, now)
    return incremental.refresh_changed(session, topics, rules, now or utcnow(), _classify)


def _classify(records: list[RecordData], topics: TopicModel) -> Classification:
    """`classify_merged`, looked up when called (tests replace it here)."""
    return classify_merged(records, topics)


def rebuild_studies(
    session: Session, topics: TopicModel, now: datetime | None = None
) -> RefreshSummary:
    """Recluster every live record, map the clusters onto the studies, rebuild the index.
    Holds the whole archive in memory: the path for a rules change or a repair."""
    now = now or utcnow()
    summary = RefreshSummary()
    rows = list(session.exec(select(Record).where(col(Record.deleted).is_(False))))
    by_id = {row.id: row for row in rows if row.id is not None and usable(row)}
    summary.skipped_records = len(rows) - len(by_id)
    records = {rid: RecordData.from_json_dict(row.data) for rid, row in by_id.items()}
    decisions = stored_decisions(session)
    result = cluster(records, decisions)
    studies = {s.id: s for s in session.exec(select(Study)) if s.id is not None}
    rules = rules_fingerprint(topics)
    scope = Scope(clusters=list(range(len(result.clusters))), studies=studies, classify=_classify)
    chosen = apply_run(session, result, by_id, records, scope, topics, rules, now, summary)
    study_of = {index: study.id for index, study in chosen.items() if study.id is not None}
    summary.links = save_links(session, result, study_of)
    summary.possible_duplicates = save_candidates(session, result)
    summary.studies = len(chosen)
    summary.reclustered_records = len(records)
    session.flush()
    unusable = [row for row in rows if row.id is not None and row.id not in by_id]
    index_store.rebuild(session, records, {r.id: r.content_hash for r in rows}, unusable)
    index_store.save_state(session, rules, decisions)
    session.flush()
    return summary


def forget_classifications(session: Session) -> None:
    for study in session.exec(select(Study)):
        study.classified_with = None
        session.add(study)
    index_store.invalidate(session)  # the next refresh rebuilds, reclassifying every study
