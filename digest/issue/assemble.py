"""A week's digest made durable, and the whole archive's view.

The digest of a week is stored (Digest.content) as what was built and sent; rebuilding
an unchanged week keeps its `built_at`, so files and feeds come out byte-identical. A
week anyone received is frozen: what subscribers got is the record.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.claims import ClaimsPolicy, load_policy, policy_panel
from digest.config import Settings
from digest.errors import ConfigError

if TYPE_CHECKING:
    pass
from digest.issue.context import Order, build_digest_view, study_views
from digest.model import utcnow
from digest.render.site import site_settings_from_config
from digest.store import digests as q
from digest.store.runs import last_successful_fetch
from digest.views import (
    ClaimsCitation,
    ClaimsPanel,
    ConditionView,
    DigestView,
    SiteView,
    StudyView,
    digest_from_json,
    digest_to_json,
)
from digest.weeks import parse_week, week_of


def assemble_week(
    settings: Settings,
    engine: Engine,
    week: str,
    now: datetime | None = None,
    order: Order | None = None,
) -> DigestView:
    """Build and store the week's digest; an unchanged rebuild keeps its built_at.
    `order` orders each section's studies (default: `ranked`)."""
    now = now or utcnow()
    with Session(engine) as session:
        stored = q.stored_digest(session, week)
        if stored is not None and q.week_was_sent(session, week):
            # what subscribers received is the record: a resend or the archive shows it as is
            return digest_from_json(stored.content)
        view = build_digest_view(session, settings, week, built_at=now, order=order)
        if stored is not None:
            previous = digest_from_json(stored.content)
            if dataclasses.replace(previous, built_at=now) == view:
                return previous
        q.save_digest(session, week, digest_to_json(view), built_at=now)
        session.commit()
    return view


def site_view(settings: Settings, engine: Engine) -> SiteView:
    """Everything the archive shows: stored digests, in-scope studies, every study an
    issue ever carried (so its permalink survives a reclassification), the works they link
    to (so no link breaks), condition lists, old slugs."""
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
        searched = last_successful_fetch(session)
    by_recency = sorted(
        views.values(),
        key=lambda v: (v.first_seen or date.min, v.published or "", v.slug),
        reverse=True,
    )
    zone = ZoneInfo(settings.timezone)
    this_week = week_of(utcnow()) if searched is None else week_of(searched)
    monday, _sunday = parse_week(this_week)
    policy = load_policy(settings.claims_policy)
    conditions = []
    for topic in settings.topics.conditions:
        held = tuple(v for v in by_recency if topic.slug in {c.slug for c in v.conditions})
        conditions.append(
            ConditionView(
                topic.slug,
                topic.label,
                held,
                last_searched=searched.astimezone(zone).date() if searched else None,
                new_this_week=sum(1 for v in held if v.first_seen and v.first_seen >= monday),
                panel=_claims_panel(policy, topic.slug),
            )
        )
    built_at = digests[0].built_at if digests else datetime(1970, 1, 1, tzinfo=UTC)
    return SiteView(
        settings=site_settings_from_config(settings),
        built_at=built_at,
        digests=digests,
        studies=tuple(sorted(views.values(), key=lambda v: v.slug)),
        conditions=tuple(conditions),
        slug_aliases=aliases,
    )


def _claims_panel(policy: ClaimsPolicy, condition: str) -> ClaimsPanel | None:
    """The policy's wording panel for a condition; None when the policy has no entry."""
    try:
        panel = policy_panel(policy, condition)
    except ConfigError:
        return None
    return ClaimsPanel(
        policy_title=panel.policy_title,
        status=str(panel.status),
        accepted=panel.accepted,
        scope=panel.scope,
        say=tuple(panel.say),
        avoid=tuple(panel.avoid),
        note=panel.note,
        citations=tuple(ClaimsCitation(c.title, c.url, c.date_read) for c in panel.citations),
        disclaimer=panel.disclaimer,
    )


def with_current_status(site: SiteView) -> SiteView:
    """Archived issues show each study's status as it is now: a study retracted, of
    concern or corrected after an issue carried it gets its flag on that issue's page
    too (the re-check's banner "on every page"). The copies as mailed (`/sent/`) stay
    exactly as they were sent."""
    current = {s.slug: s for s in site.studies}

    def now(view: StudyView) -> StudyView:
        found = current.get(site.slug_aliases.get(view.slug, view.slug))
        if found is None:
            return view
        return dataclasses.replace(
            view,
            retracted=found.retracted,
            has_erratum=found.has_erratum,
            notices=found.notices,
            standing=found.standing,
        )

    digests = tuple(
        dataclasses.replace(
            d,
            sections=tuple(
                dataclasses.replace(section, studies=tuple(now(s) for s in section.studies))
                for section in d.sections
            ),
        )
        for d in site.digests
    )
    return dataclasses.replace(site, digests=digests)
