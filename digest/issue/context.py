"""The week's view: studies, corrections, changes and run health of one ISO week, read
from the store into a DigestView. No files, no mail: the app layer writes and sends."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from digest.config import Settings, Topic
from digest.facts import WORDING, NoticeType, find_pmid_in_url, standing
from digest.facts import NoticeData as _Notice
from digest.issue.corrections import week_corrections
from digest.issue.rank import Rankable, rank, split_corrections
from digest.model import FetchRun, Record, Study, StudyLink
from digest.sources import traits_of
from digest.store import digests as q
from digest.store import recheck as rq
from digest.store.recheck_tables import StudyNotice
from digest.views import (
    Arm,
    ChangeView,
    ConditionSection,
    DigestView,
    Link,
    NoticeRef,
    RegistrationView,
    RelatedRef,
    ResultsPaper,
    SourceHealth,
    SourceRef,
    StudyView,
    Tag,
    design_of,
)
from digest.weeks import parse_week

UNSPECIFIED_CONDITION = Tag("pain-unspecified", "Pain (condition not specified)")


def week_bounds(week: str, timezone: str) -> tuple[date, date, datetime, datetime]:
    """Monday, Sunday, and the UTC instants the week starts and ends in the clinic's zone."""
    monday, sunday = parse_week(week)
    zone = ZoneInfo(timezone)
    start = datetime.combine(monday, time.min, zone).astimezone(UTC)
    end = datetime.combine(sunday + timedelta(days=1), time.min, zone).astimezone(UTC)
    return monday, sunday, start, end


# ------------------------------------------------------------------ study views


def _tags(slugs: Iterable[str], topics: Iterable[Topic]) -> tuple[Tag, ...]:
    labels = {t.slug: t.label for t in topics}
    return tuple(Tag(s, labels.get(s, s)) for s in slugs)


def _results_pmids(record: Record) -> list[str]:
    return [
        str(r["pmid"])
        for r in record.data.get("relations") or []
        if isinstance(r, dict) and r.get("kind") == "results-in" and r.get("pmid")
    ]


def registration_view(data: Mapping[str, Any], papers: Mapping[str, Study]) -> RegistrationView:
    """A registry record's own facts, from its stored JSON (`RecordData.to_json_dict()`);
    `papers` maps a PMID to the archive's study of that paper."""
    extra = data.get("extra") or {}
    enrollment = extra.get("enrollment") or {}
    legacy = extra.get("legacy") or {}
    results = []
    for relation in data.get("relations") or []:
        if not isinstance(relation, dict) or relation.get("kind") != "results-in":
            continue
        pmid = relation.get("pmid")
        paper = papers.get(str(pmid)) if pmid else None
        results.append(
            ResultsPaper(
                pmid=pmid,
                doi=relation.get("doi"),
                slug=paper.slug if paper else None,
                title=paper.title if paper else None,
                retracted=bool(relation.get("target_retracted") or (paper and paper.retracted)),
            )
        )
    return RegistrationView(
        registry_id=str(data.get("source_id") or ""),
        status=extra.get("overall_status"),
        status_raw=legacy.get("overall_status"),
        last_known_status=extra.get("last_known_status"),
        why_stopped=extra.get("why_stopped"),
        registered=extra.get("first_posted") or data.get("published"),
        start_date=extra.get("start_date"),
        primary_completion_date=extra.get("primary_completion_date"),
        completion_date=extra.get("completion_date"),
        enrollment=enrollment.get("count") if isinstance(enrollment.get("count"), int) else None,
        enrollment_type=enrollment.get("type"),
        arms=tuple(
            Arm(str(a.get("label") or "unnamed arm"), a.get("type"))
            for a in extra.get("arm_groups") or []
            if isinstance(a, dict)
        ),
        results=tuple(results),
        has_posted_results=bool(extra.get("has_results")),
    )


def study_view(
    study: Study,
    records: list[Record],
    related: tuple[RelatedRef, ...],
    settings: Settings,
    papers: dict[str, Study] | None = None,
    notices: Sequence[StudyNotice] = (),
) -> StudyView:
    topics, zone = settings.topics, ZoneInfo(settings.timezone)
    primary = next((r for r in records if r.id == study.primary_record_id), None)
    extra = (primary.data.get("extra") or {}) if primary else {}
    registry = next((r for r in records if traits_of(r.source).registry), None)
    registration = None
    if registry is not None and study.design == "trial-registration":
        registration = registration_view(
            {**registry.data, "source_id": registry.source_id}, papers or {}
        )
    links = tuple(
        Link("other", f"{r.source}: {r.source_id}", str(r.data["url"]))
        for r in records
        # the PubMed and registry pages are linked from their ids already
        if r.data.get("url")
        and not traits_of(r.source).registry
        and not find_pmid_in_url(str(r.data["url"]))
    )
    return StudyView(
        slug=study.slug,
        title=study.title,
        design=study.design,
        design_label=design_of(study.design).label,
        authors=tuple(study.authors),
        journal=study.journal,
        published=study.published,
        conditions=_tags(study.conditions, topics.conditions),
        interventions=_tags(study.interventions, topics.interventions),
        comparator=study.comparator,
        sample_size=study.sample_size,
        key_finding=study.key_finding,
        badges=tuple(study.badges),
        abstract=study.abstract,
        pmid=study.pmid,
        doi=study.doi,
        pmcid=study.pmcid,
        nct_ids=tuple(study.nct_ids),
        links=links,
        sources=tuple(SourceRef(r.source, r.source_id, r.data.get("url")) for r in records),
        retracted=study.retracted,
        has_erratum=study.has_erratum,
        related=related,
        first_seen=study.first_seen.astimezone(zone).date(),
        is_preprint=study.is_preprint,
        language=study.language,
        journal_abbrev=extra.get("journal_abbreviation"),
        volume=extra.get("volume"),
        issue=extra.get("issue"),
        pages=extra.get("pages"),
        feed_key=f"study/{study.id}",
        registration=registration,
        notices=tuple(_notice_ref(n, zone) for n in notices),
        standing=standing([_as_data(n) for n in notices]),
        # a feed reader hears of the notice: the entry is updated when it was first seen
        updated=max((_utc(n.first_seen_at) for n in notices), default=None),
    )


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _as_data(row: StudyNotice) -> _Notice:
    return _Notice(
        kind=cast(NoticeType, row.kind),
        doi=row.notice_doi,
        pmid=row.notice_pmid,
        date=row.notice_date,
    )


def _notice_ref(row: StudyNotice, zone: ZoneInfo) -> NoticeRef:
    wording = WORDING[cast(NoticeType, row.kind)]
    data = _as_data(row)
    return NoticeRef(
        kind=row.kind,
        label=wording.label,
        sentence=wording.sentence,
        dated=row.notice_date,
        url=data.url,
        asserted_by=row.asserted_by,
        first_seen=row.first_seen_at.astimezone(zone).date(),
    )


def _links_by_study(links: list[StudyLink]) -> dict[int, list[StudyLink]]:
    """Each study's links (either end), in the given order: read once, so building N
    views does not scan every link N times."""
    by_study: dict[int, list[StudyLink]] = {}
    for link in links:
        for end in {link.from_study_id, link.to_study_id}:
            by_study.setdefault(end, []).append(link)
    return by_study


def _related(
    study_id: int, links: list[StudyLink], others: dict[int, Study]
) -> tuple[RelatedRef, ...]:
    refs = []
    for link in links:
        if link.from_study_id == study_id and link.to_study_id in others:
            other = others[link.to_study_id]
            refs.append(RelatedRef(link.kind, other.slug, other.title))
        elif link.to_study_id == study_id and link.from_study_id in others:
            other = others[link.from_study_id]
            refs.append(RelatedRef(f"{link.kind} (from)", other.slug, other.title))
    return tuple(sorted(set(refs)))


def study_views(session: Session, studies: list[Study], settings: Settings) -> dict[int, StudyView]:
    ids = [s.id for s in studies if s.id is not None]
    records = q.records_by_study(session, ids)
    links = q.links_touching(session, ids)
    others = q.studies_by_id(
        session, {link.from_study_id for link in links} | {link.to_study_id for link in links}
    )
    pmids = {p for rs in records.values() for r in rs for p in _results_pmids(r)}
    papers: dict[str, Study] = {}
    if pmids:
        for paper in session.exec(select(Study).where(col(Study.pmid).in_(sorted(pmids)))):
            if paper.pmid:
                papers[paper.pmid] = paper
    found = rq.notices_by_work(session, {w for s in studies for w in rq.works_of(s)})
    by_study = _links_by_study(links)
    return {
        s.id or 0: study_view(
            s,
            records.get(s.id or 0, []),
            _related(s.id or 0, by_study.get(s.id or 0, []), others),
            settings,
            papers,
            [n for w in rq.works_of(s) for n in found.get(w, [])],
        )
        for s in studies
    }


def _rankable(view: StudyView) -> Rankable:
    return Rankable(
        design=view.design,
        sample_size=view.sample_size,
        published=view.published,
        slug=view.slug,
        retracted=view.retracted,
    )


def ranked(views: Iterable[StudyView]) -> list[StudyView]:
    by_slug = {v.slug: v for v in views}
    return [by_slug[item.slug] for item in rank([_rankable(v) for v in by_slug.values()])]


# ------------------------------------------------------------------ the digest


# how a section's studies are ordered: `ranked` unless the caller passes its own (the staff
# desk's feedback rule, which only reorders studies of the same design)
Order = Callable[[Sequence[StudyView]], list[StudyView]]


def build_digest_view(
    session: Session,
    settings: Settings,
    week: str,
    built_at: datetime,
    order: Order | None = None,
) -> DigestView:
    monday, sunday, start, end = week_bounds(week, settings.timezone)
    topics = settings.topics
    first_seen = q.studies_first_seen(session, start, end)
    backlog = q.imported_only(session, [s.id for s in first_seen if s.id is not None])
    new = [s for s in first_seen if s.design != "notice" and s.id not in backlog]
    in_scope = [s for s in new if s.in_scope]
    views = study_views(session, in_scope, settings)
    fresh, pinned = split_corrections([_rankable(v) for v in views.values()])
    by_slug = {v.slug: v for v in views.values()}

    grouped: dict[Tag, list[StudyView]] = defaultdict(list)
    for item in fresh:
        view = by_slug[item.slug]
        for tag in view.conditions or (UNSPECIFIED_CONDITION,):
            grouped[tag].append(view)
    place = {c.slug: i for i, c in enumerate(topics.conditions)}
    sections = tuple(
        ConditionSection(tag.slug, tag.label, tuple((order or ranked)(items)))
        for tag, items in sorted(
            grouped.items(), key=lambda kv: (place.get(kv[0].slug, 999), kv[0].slug)
        )
    )
    corrections = week_corrections(
        session, settings, week, start, end, [by_slug[p.slug] for p in pinned], study_views
    )
    registrations, guidance = _changes(session, start, end, ZoneInfo(settings.timezone))
    return DigestView(
        week=week,
        title=settings.digest.title,
        period_start=monday,
        period_end=sunday,
        built_at=built_at,
        sections=sections,
        registrations_changed=registrations,
        guidance_changes=guidance,
        corrections=corrections,
        health=_health(session, start, end),
        out_of_scope_count=len(new) - len(in_scope),
        recheck_ran=_recheck_ran(session, built_at),
    )


def _recheck_ran(session: Session, built_at: datetime) -> datetime | None:
    run = rq.last_run(session, before=built_at)
    if run is None:
        return None
    return run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=UTC)


def _changes(
    session: Session, start: datetime, end: datetime, zone: ZoneInfo
) -> tuple[tuple[ChangeView, ...], tuple[ChangeView, ...]]:
    registrations: list[ChangeView] = []
    guidance: list[ChangeView] = []
    pairs = [(c, r) for c, r in q.changes_between(session, start, end) if c.diff.get("notable")]
    ids = {r.study_id for _, r in pairs if r.study_id}
    studies = q.studies_by_id(session, {i for i in ids if i is not None})
    for change, record in pairs:
        study = studies.get(record.study_id or -1)
        view = ChangeView(
            what="",
            summary=change.summary,
            on=change.detected_at.astimezone(zone).date(),
            study_slug=study.slug if study else None,
            study_title=study.title if study else record.data.get("title"),
            url=record.data.get("url"),
        )
        traits = traits_of(record.source)
        if traits.page_design:  # a watched guidance page (NCCIH)
            name = traits.label.split(" (")[0] or record.source
            guidance.append(dataclasses.replace(view, what=f"{name} guidance changed"))
        elif traits.registry and (study is None or study.in_scope):
            registrations.append(dataclasses.replace(view, what="registration updated"))
    return tuple(registrations), tuple(guidance)


def _health(session: Session, start: datetime, end: datetime) -> tuple[SourceHealth, ...]:
    by_source: dict[str, list[FetchRun]] = defaultdict(list)
    for run in q.runs_between(session, start, end):
        by_source[run.source].append(run)
    rows = []
    for source, runs in sorted(by_source.items()):
        finished = [r for r in runs if r.outcome != "running"]
        last = finished[-1] if finished else runs[-1]
        rows.append(
            SourceHealth(
                source=source,
                fetched=sum(r.fetched for r in runs),
                new=sum(r.new for r in runs),
                failed=last.outcome == "failed",
                error=last.error,
            )
        )
    return tuple(rows)


def only_items(view: DigestView, keep: Callable[[str], bool]) -> DigestView:
    """The digest with only the new-study items `keep` accepts (the staff desk's decisions);
    corrections, changes and run health always stay: a retraction is never held back."""
    sections = tuple(
        dataclasses.replace(section, studies=tuple(s for s in section.studies if keep(s.slug)))
        for section in view.sections
    )
    return dataclasses.replace(view, sections=tuple(s for s in sections if s.studies))
