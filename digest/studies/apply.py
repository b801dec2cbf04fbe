"""One clustering run made durable on the studies it covers, in named phases.

Shared by the full rebuild (every cluster of a run over the whole archive) and the
incremental refresh (the clusters of a run over a closed part of it, `Scope`):
- a cluster keeps the oldest existing study among its members (smallest id), so a study's
  permalink survives merges; the merged-away studies' slugs become aliases;
- when the primary id changes the slug, the old slug is remembered as an alias;
- fields are merged per field by source precedence, classification is recomputed only
  when a member changed or the rules/topic model changed;
- links between works and near-miss duplicates are rewritten from the same run, for the
  studies in scope only.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import class_mapper
from sqlalchemy.orm.attributes import set_attribute
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlmodel import Session, col, delete, select

from digest.classify import Classification, classify_merged
from digest.config import TopicModel
from digest.facts import status_badges
from digest.model import Record, RecordData, SlugAlias, Study, StudyLink
from digest.studies.cluster import DedupeResult
from digest.studies.merge import merge_fields
from digest.studies.slugs import unique_slugs

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RefreshSummary:
    studies: int = 0
    created: int = 0
    merged_away: int = 0
    reclassified: int = 0
    links: int = 0
    possible_duplicates: int = 0
    failed: int = 0  # studies whose classification raised (kept as they were)
    skipped_records: int = 0  # stored rows that fail the record schema (left out)
    reclustered_records: int = 0  # records the run clustered (all of them when full)


@dataclass(slots=True)
class Scope:
    """What one run may change: the clusters to apply (indexes into the result), the
    studies their records belong to now, and the study each other cluster of the run
    keeps (for links). The full rebuild applies every cluster and sees every study."""

    clusters: list[int]
    studies: dict[int, Study]
    kept_study: dict[int, int] = field(default_factory=dict)  # cluster index -> study id
    full: bool = True
    classify: Callable[[list[RecordData], TopicModel], Classification] = classify_merged
    slugs: list[str] | None = None  # unique_slugs of the run's clusters, if computed already


def members_fingerprint(rows: Sequence[Record], rules: str) -> str:
    basis = rules + "|" + "|".join(sorted(f"{r.id}:{r.content_hash}" for r in rows))
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def apply_run(
    session: Session,
    result: DedupeResult[int],
    by_id: Mapping[int, Record],
    records: Mapping[int, RecordData],
    scope: Scope,
    topics: TopicModel,
    rules: str,
    now: datetime,
    summary: RefreshSummary,
) -> dict[int, Study]:
    """Studies, slugs, aliases and orphans for the clusters in scope; returns the study
    of each applied cluster (links and candidates are saved by `digest.studies.saved_links`)."""
    studies = scope.studies
    claimed, chosen = _claim_studies(session, result, by_id, scope, now, summary)
    merged_into = _merged_away(result, by_id, scope, claimed, chosen)
    slug_before = {sid: study.slug for sid, study in studies.items()}
    all_slugs = scope.slugs
    if all_slugs is None:
        all_slugs = unique_slugs([[records[k] for k in keys] for keys in result.clusters])
    new_slugs = {index: all_slugs[index] for index in scope.clusters}
    _park_slugs(session, chosen, new_slugs, studies, merged_into)
    for index in scope.clusters:
        keys = result.clusters[index]
        members = _Members(index, keys, [by_id[k] for k in keys], [records[k] for k in keys])
        outcome = _apply_members(
            session, chosen[index], members, result, (topics, scope.classify), rules, now
        )
        if outcome == "reclassified":
            summary.reclassified += 1
        elif outcome == "failed":
            summary.failed += 1
        _assign_rows(session, chosen[index], members.rows)
    session.flush()
    _set_slugs(session, chosen, new_slugs, slug_before, merged_into, scope.full)
    summary.merged_away += len(merged_into)
    _drop_orphans(session, studies, claimed, merged_into)
    return chosen


_NEW_SLUG = "~new-"  # placeholder slug of a study created in this run (then its own)


def _claim_studies(
    session: Session,
    result: DedupeResult[int],
    by_id: Mapping[int, Record],
    scope: Scope,
    now: datetime,
    summary: RefreshSummary,
) -> tuple[dict[int, int], dict[int, Study]]:
    """Which study each cluster becomes: its oldest member study, each claimed once, else
    a new one. Returns (study id -> cluster index, the study of each cluster)."""
    claimed: dict[int, int] = {}
    chosen: dict[int, Study] = {}
    for index in scope.clusters:
        keys = result.clusters[index]
        candidates = sorted({sid for k in keys if (sid := by_id[k].study_id) is not None})
        free = [sid for sid in candidates if sid not in claimed and sid in scope.studies]
        if free:
            study = scope.studies[free[0]]
            claimed[free[0]] = index
        else:
            study = _new_study(f"{_NEW_SLUG}{index}", now)
            session.add(study)
            summary.created += 1
        chosen[index] = study
    session.flush()
    return claimed, chosen


def _merged_away(
    result: DedupeResult[int],
    by_id: Mapping[int, Record],
    scope: Scope,
    claimed: dict[int, int],
    chosen: dict[int, Study],
) -> dict[int, Study]:
    """Studies no cluster claimed but whose records now belong to one: merged into it.
    (Unclaimed studies without live records are orphans: `_drop_orphans`.)"""
    merged_into: dict[int, Study] = {}
    for index in scope.clusters:
        for key in result.clusters[index]:
            old = by_id[key].study_id
            if old is not None and old not in claimed and old in scope.studies:
                merged_into.setdefault(old, chosen[index])
    return merged_into


def _park_slugs(
    session: Session,
    chosen: dict[int, Study],
    new_slugs: dict[int, str],
    studies: dict[int, Study],
    merged_into: dict[int, Study],
) -> None:
    """Park changing slugs first so unique constraints never collide mid-way. A study new
    in this run already holds a placeholder no final slug can take (`_NEW_SLUG`): it is
    not parked again (one UPDATE less per new study, 100k in a base import of 100k)."""
    for index, study in chosen.items():
        if study.slug != new_slugs[index] and not study.slug.startswith(_NEW_SLUG):
            study.slug = f"~{study.id}"
            session.add(study)
    for sid in merged_into:
        studies[sid].slug = f"~gone-{sid}"
        session.add(studies[sid])
    session.flush()


@dataclass(frozen=True, slots=True)
class _Members:
    """One cluster of the run: its index in the DedupeResult, record ids, rows, records."""

    index: int
    keys: list[int]
    rows: list[Record]
    records: list[RecordData]


def _apply_members(
    session: Session,
    study: Study,
    members: _Members,
    result: DedupeResult[int],
    classifier: tuple[TopicModel, Callable[[list[RecordData], TopicModel], Classification]],
    rules: str,
    now: datetime,
) -> Literal["reclassified", "failed", "kept"]:
    """Fields, classification and flags of one cluster onto its study. `updated_at` moves
    only when something a reader sees changed. A classification that raises leaves the
    study's classification as it was (reported): one bad study never stops the refresh."""
    before = _snapshot(study)
    _apply_fields(study, members, result)
    fingerprint = members_fingerprint(members.rows, rules)
    outcome: Literal["reclassified", "failed", "kept"] = "kept"
    if study.classified_with != fingerprint:
        try:
            call = classifier[1](members.records, classifier[0])
        except Exception:  # one bad study must not stop the others: report, go on
            log.exception(
                "classifying study %s (%s) failed; kept as it was", study.id, members.keys
            )
            outcome = "failed"
        else:
            _apply_classification(study, call)
            study.classified_with = fingerprint
            outcome = "reclassified"
    _apply_status_badges(study)
    if study.id is None or _snapshot(study) != before:  # unchanged studies: no UPDATE
        study.updated_at = now
        session.add(study)
    return outcome


def _apply_fields(study: Study, members: _Members, result: DedupeResult[int]) -> None:
    """Merged fields, provenance, primary record and the cluster's flags onto the study."""
    merged, provenance = merge_fields(members.records)
    merged.update(
        provenance={name: list(src) for name, src in sorted(provenance.items())},
        primary_record_id=members.keys[0],
        retracted=members.index in result.retracted,
        has_erratum=members.index in result.has_erratum,
        is_preprint=members.index in result.preprint,
        first_seen=min([study.first_seen, *(r.first_seen for r in members.rows)]),
    )
    for name, value in merged.items():
        if getattr(study, name) != value:  # an unchanged value is no UPDATE: skip it
            _set(study, name, value)


def _apply_status_badges(study: Study) -> None:
    """The retracted/erratum/preprint badges follow the study's own flags."""
    badges = status_badges(
        study.badges,
        retracted=study.retracted,
        erratum=study.has_erratum,
        preprint=study.is_preprint,
    )
    if badges != study.badges:
        study.badges = badges


def _assign_rows(session: Session, study: Study, member_rows: list[Record]) -> None:
    for row in member_rows:
        if row.study_id != study.id:
            row.study_id = study.id
            session.add(row)


_UNTRACKED = {"id", "slug", "updated_at"}


def _new_study(slug: str, now: datetime) -> Study:
    """A new, empty study. Built the way the ORM builds a loaded row (no pydantic
    `__init__`, which costs ~1 ms a study: a base import of 100k records creates 100k),
    every column set through SQLAlchemy so the INSERT carries it."""
    class_mapper(Study)  # configures the mappers on first use, as a constructor would
    study: Study = manager_of_class(Study).new_instance()
    values = {name: copy.copy(value) for name, value in _STUDY_DEFAULTS.items()}
    values.update(slug=slug, first_seen=now, updated_at=now)
    for name, value in values.items():
        set_attribute(study, name, value)
    return study


def _column_defaults() -> dict[str, Any]:
    found = {}
    for name, info in Study.model_fields.items():
        if info.is_required():
            continue
        found[name] = info.get_default(call_default_factory=True)
    return found


_STUDY_DEFAULTS = _column_defaults()  # lists and dicts copied per study


def _set(study: Study, name: str, value: Any) -> None:
    """`setattr` through SQLAlchemy alone (sqlmodel's `__setattr__` runs pydantic's too,
    about twice the cost; every Study field is a plain column)."""
    set_attribute(study, name, value)


def _snapshot(study: Study) -> tuple[Any, ...]:
    return tuple(getattr(study, name) for name in Study.model_fields if name not in _UNTRACKED)


def _apply_classification(study: Study, call: Classification) -> None:
    _set(study, "design", call.design)
    _set(study, "design_evidence", call.design_evidence)
    _set(study, "conditions", list(call.conditions))
    _set(study, "interventions", list(call.interventions))
    _set(study, "comparator", call.comparator)
    _set(study, "sample_size", call.sample_size)
    _set(study, "key_finding", call.key_finding)
    _set(study, "badges", list(call.badges))
    _set(study, "in_scope", bool(call.in_scope))


def _set_slugs(
    session: Session,
    chosen: dict[int, Study],
    new_slugs: dict[int, str],
    previous: dict[int, str],
    merged_into: dict[int, Study],
    full: bool,
) -> None:
    """Give each study its final slug; every slug it (or a merged study) had stays an alias."""
    query = select(SlugAlias)
    if not full:  # only aliases these studies or slugs can touch
        slugs = {*new_slugs.values(), *previous.values()}
        ids = {*previous, *(s.id for s in chosen.values() if s.id is not None)}
        query = query.where(col(SlugAlias.slug).in_(slugs) | col(SlugAlias.study_id).in_(ids))
    aliases = {a.slug: a for a in session.exec(query)}
    for index, study in chosen.items():
        slug = new_slugs[index]
        if slug in aliases:  # the slug is current again: it must not also be an alias
            session.delete(aliases.pop(slug))
        study.slug = slug
        session.add(study)
    session.flush()
    for study in chosen.values():
        before = previous.get(study.id or 0)
        if before and before != study.slug and before not in aliases:
            aliases[before] = SlugAlias(slug=before, study_id=study.id or 0)
            session.add(aliases[before])
    for sid, target in merged_into.items():
        before = previous.get(sid)
        if before and before not in aliases:
            aliases[before] = SlugAlias(slug=before, study_id=target.id or 0)
            session.add(aliases[before])
        for alias in list(aliases.values()):
            if alias.study_id == sid:
                alias.study_id = target.id or 0
                session.add(alias)
    session.flush()


def _drop_orphans(
    session: Session,
    studies: dict[int, Study],
    claimed: dict[int, int],
    merged_into: dict[int, Study],
) -> None:
    for sid, study in studies.items():
        if sid in claimed:
            continue
        session.exec(
            delete(StudyLink).where(
                (col(StudyLink.from_study_id) == sid) | (col(StudyLink.to_study_id) == sid)
            )
        )
        if sid not in merged_into:
            session.exec(delete(SlugAlias).where(col(SlugAlias.study_id) == sid))
        for row in session.exec(select(Record).where(Record.study_id == sid)):
            row.study_id = None
            session.add(row)
        session.flush()
        session.delete(study)
    session.flush()
