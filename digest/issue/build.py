"""The weekly digest: studies and changes of one ISO week -> DigestView -> files.

The digest of a week is stored (Digest.content) as what was built and sent; rebuilding
an unchanged week keeps its `built_at`, so files and feeds come out byte-identical.
"""

from __future__ import annotations

import dataclasses
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.config import Settings

if TYPE_CHECKING:
    from digest.publish.email import SendReport
from digest.facts import LINK_NOTICE_KINDS
from digest.issue.rank import Rankable, rank, split_corrections
from digest.model import Record, Study, StudyLink, utcnow
from digest.store import digests as q
from digest.views import (
    ChangeView,
    ConditionSection,
    ConditionView,
    CorrectionView,
    DigestView,
    Link,
    RelatedRef,
    SiteView,
    SourceHealth,
    SourceRef,
    StudyView,
    Tag,
    design_of,
    digest_from_json,
    digest_to_json,
)
from digest.weeks import last_complete_week, parse_week

UNSPECIFIED_CONDITION = Tag("pain-unspecified", "Pain (condition not specified)")


def week_bounds(week: str, timezone: str) -> tuple[date, date, datetime, datetime]:
    """Monday, Sunday, and the UTC instants the week starts and ends in the clinic's zone."""
    monday, sunday = parse_week(week)
    zone = ZoneInfo(timezone)
    start = datetime.combine(monday, time.min, zone).astimezone(UTC)
    end = datetime.combine(sunday + timedelta(days=1), time.min, zone).astimezone(UTC)
    return monday, sunday, start, end


# ------------------------------------------------------------------ study views


def _tags(slugs: Iterable[str], topics: Iterable[object]) -> tuple[Tag, ...]:
    labels = {t.slug: t.label for t in topics}  # type: ignore[attr-defined]
    return tuple(Tag(s, labels.get(s, s)) for s in slugs)


def study_view(
    study: Study, records: list[Record], related: tuple[RelatedRef, ...], settings: Settings
) -> StudyView:
    topics, zone = settings.topics, ZoneInfo(settings.timezone)
    primary = next((r for r in records if r.id == study.primary_record_id), None)
    extra = (primary.data.get("extra") or {}) if primary else {}
    links = tuple(
        Link("other", f"{r.source}: {r.source_id}", str(r.data["url"]))
        for r in records
        if r.data.get("url") and r.source not in ("pubmed", "clinicaltrials")
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
    )


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
    return {
        s.id or 0: study_view(
            s, records.get(s.id or 0, []), _related(s.id or 0, links, others), settings
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


def build_digest_view(
    session: Session, settings: Settings, week: str, built_at: datetime
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
    order = {c.slug: i for i, c in enumerate(topics.conditions)}
    sections = tuple(
        ConditionSection(tag.slug, tag.label, tuple(ranked(items)))
        for tag, items in sorted(
            grouped.items(), key=lambda kv: (order.get(kv[0].slug, 999), kv[0].slug)
        )
    )
    corrections = _corrections(
        session, settings, week, start, end, [by_slug[p.slug] for p in pinned]
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
    )


def _corrections(
    session: Session,
    settings: Settings,
    week: str,
    start: datetime,
    end: datetime,
    new_retracted: list[StudyView],
) -> tuple[CorrectionView, ...]:
    """Retractions/errata found this week for studies already sent, plus new retracted ones."""
    sent = q.weeks_sent_before(session, week)
    flagged: dict[int, tuple[str, str | None, str | None]] = {}
    for change, record in q.changes_between(session, start, end):
        notices = change.diff.get("notices") or []
        if record.study_id and notices:
            kind = "retraction" if "retracted" in notices else "erratum"
            flagged.setdefault(record.study_id, (kind, None, None))
    for notice in q.studies_first_seen(session, start, end):
        if notice.design != "notice" or notice.id is None:
            continue
        for link in q.links_touching(session, [notice.id]):
            if link.from_study_id == notice.id and link.kind in LINK_NOTICE_KINDS:
                flagged.setdefault(
                    link.to_study_id, (LINK_NOTICE_KINDS[link.kind], notice.slug, notice.title)
                )
    targets = q.studies_by_id(session, set(flagged))
    views = study_views(session, list(targets.values()), settings)
    old_slugs: dict[str, set[str]] = defaultdict(set)  # current slug -> slugs it had before
    for old, current in q.slug_aliases(session).items():
        old_slugs[current].add(old)
    monday = start.astimezone(ZoneInfo(settings.timezone)).date()
    items = []
    for sid, (kind, slug, title) in sorted(flagged.items()):
        if sid not in views:
            continue
        weeks = sorted(sent[s] for s in {views[sid].slug, *old_slugs[views[sid].slug]} if s in sent)
        if weeks:  # only studies an earlier issue carried, under whatever slug it had then
            items.append(
                CorrectionView(
                    kind=kind,
                    study=views[sid],
                    noted_on=monday,
                    notice_slug=slug,
                    notice_title=title,
                    first_sent_week=weeks[0],
                )
            )
    items += [CorrectionView(kind="retraction", study=v, noted_on=monday) for v in new_retracted]
    return tuple(items)


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
        if record.source == "nccih":
            guidance.append(dataclasses.replace(view, what="NCCIH guidance changed"))
        elif record.source == "clinicaltrials" and (study is None or study.in_scope):
            registrations.append(dataclasses.replace(view, what="registration updated"))
    return tuple(registrations), tuple(guidance)


def _health(session: Session, start: datetime, end: datetime) -> tuple[SourceHealth, ...]:
    by_source: dict[str, list[object]] = defaultdict(list)
    for run in q.runs_between(session, start, end):
        by_source[run.source].append(run)
    rows = []
    for source, runs in sorted(by_source.items()):
        finished = [r for r in runs if r.outcome != "running"]  # type: ignore[attr-defined]
        last = finished[-1] if finished else runs[-1]
        rows.append(
            SourceHealth(
                source=source,
                fetched=sum(r.fetched for r in runs),  # type: ignore[attr-defined]
                new=sum(r.new for r in runs),  # type: ignore[attr-defined]
                failed=last.outcome == "failed",  # type: ignore[attr-defined]
                error=last.error,  # type: ignore[attr-defined]
            )
        )
    return tuple(rows)


def assemble_week(
    settings: Settings, engine: Engine, week: str, now: datetime | None = None
) -> DigestView:
    """Build and store the week's digest; an unchanged rebuild keeps its built_at."""
    now = now or utcnow()
    with Session(engine) as session:
        stored = q.stored_digest(session, week)
        if stored is not None and q.week_was_sent(session, week):
            # what subscribers received is the record: a resend or the archive shows it as is
            return digest_from_json(stored.content)
        view = build_digest_view(session, settings, week, built_at=now)
        if stored is not None:
            previous = digest_from_json(stored.content)
            if dataclasses.replace(previous, built_at=now) == view:
                return previous
        q.save_digest(session, week, digest_to_json(view), built_at=now)
        session.commit()
    return view


# ------------------------------------------------------------------ files


def build_week(
    settings: Settings,
    engine: Engine,
    week: str | None = None,
    out_dir: Path | None = None,
    now: datetime | None = None,
) -> list[Path]:
    """`digest build`: the week's digest as Markdown, plain text and email HTML."""
    from digest.publish.site_writer import write_files
    from digest.render.email_html import render_digest_email_html
    from digest.render.markdown import render_digest_markdown
    from digest.render.site import site_settings_from_config
    from digest.render.text import render_digest_text

    now = now or utcnow()
    week = week or last_complete_week(now.astimezone(ZoneInfo(settings.timezone)).date())
    view = assemble_week(settings, engine, week, now)
    site = site_settings_from_config(settings)
    unsubscribe = settings.email.unsubscribe_url or site.base_url
    folder = (out_dir or Path(settings.digest.output_dir)) / "digests" / week
    files = {
        "digest.md": render_digest_markdown(view, site).encode(),
        "digest.txt": render_digest_text(view, site, unsubscribe_url=unsubscribe).encode(),
        "email.html": render_digest_email_html(view, site, unsubscribe_url=unsubscribe).encode(),
    }
    return write_files(files, folder)


def site_view(settings: Settings, engine: Engine) -> SiteView:
    """Everything the archive shows: stored digests, in-scope studies, every study an
    issue ever carried (so its permalink survives a reclassification), the works they link
    to (so no link breaks), condition lists, old slugs."""
    from digest.render.site import site_settings_from_config

    with Session(engine) as session:
        digests = tuple(digest_from_json(d.content) for d in q.stored_digests(session))
        aliases = q.slug_aliases(session)
        carried = {aliases.get(s.slug, s.slug) for d in digests for s in d.studies()}
        carried |= {aliases.get(c.study.slug, c.study.slug) for d in digests for c in d.corrections}
        studies = [s for s in q.all_studies(session) if s.in_scope or s.slug in carried]
        ids = {s.id for s in studies}
        linked = {
            i
            for link in q.links_touching(session, [i for i in ids if i is not None])
            for i in (link.from_study_id, link.to_study_id)
        } - ids
        studies += q.studies_by_id(session, {i for i in linked if i is not None}).values()
        views = study_views(session, studies, settings)
    by_recency = sorted(
        views.values(),
        key=lambda v: (v.first_seen or date.min, v.published or "", v.slug),
        reverse=True,
    )
    conditions = tuple(
        ConditionView(
            topic.slug,
            topic.label,
            tuple(v for v in by_recency if topic.slug in {c.slug for c in v.conditions}),
        )
        for topic in settings.topics.conditions
    )
    built_at = digests[0].built_at if digests else datetime(1970, 1, 1, tzinfo=UTC)
    return SiteView(
        settings=site_settings_from_config(settings),
        built_at=built_at,
        digests=digests,
        studies=tuple(sorted(views.values(), key=lambda v: v.slug)),
        conditions=conditions,
        slug_aliases=aliases,
    )


def render_site(settings: Settings, engine: Engine, out_dir: Path | None = None) -> list[Path]:
    """`digest site`: the static web archive, written reproducibly."""
    from digest.publish.site_writer import write_site
    from digest.render.site import build_site

    folder = out_dir or Path(settings.digest.output_dir) / "site"
    report = write_site(build_site(site_view(settings, engine)), folder)
    return [folder / name for name in report.written]


def send_week(
    settings: Settings,
    engine: Engine,
    week: str,
    dry_run: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> SendReport:
    """`digest send`: email the week's digest (built first if needed) to every subscriber
    who does not have it yet; with dry_run, write .eml files instead."""
    from digest.publish.email import (
        SmtpTransport,
        mail_settings_from_config,
        send_digest,
        smtp_config_from_env,
        write_dry_run,
    )
    from digest.store.locks import acquire_scheduler_lock

    env = dict(os.environ) if env is None else env
    with Session(engine) as session:
        stored = q.stored_digest(session, week)
    view = digest_from_json(stored.content) if stored else assemble_week(settings, engine, week)
    mail = mail_settings_from_config(settings, env)
    if dry_run is not None:
        return write_dry_run(engine, view, mail, dry_run)
    # One sender at a time per database (a CLI `digest send` beside the scheduler's weekly
    # run would otherwise both claim the same pending deliveries).
    with (
        acquire_scheduler_lock(engine, name="send"),
        SmtpTransport(smtp_config_from_env(env)) as transport,
    ):
        return send_digest(engine, view, mail, transport)
