"""Which studies the re-check watches, and which issues carried each one.

The watch list: every study any issue carried (the built weekly digests, and the issues
as sent, monthly ones included), every study the staff wrote a note on, and every study
a condition page lists (in scope, with a condition). Only studies with a DOI or a PMID
can be asked about. Slugs are followed through their aliases, so a study whose slug
changed after a merge is still the one the issue carried.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from digest.desk.sent import sent_issues
from digest.desk.tables import TriageDecision
from digest.model import Delivery, Study
from digest.store import digests as q


def _slugs_in(content: Mapping[str, Any]) -> set[str]:
    return {
        str(study.get("slug"))
        for section in content.get("sections") or []
        for study in section.get("studies") or []
        if isinstance(study, dict) and study.get("slug")
    }


def carried_by_issue(session: Session) -> dict[str, set[str]]:
    """Issue key ("2026-W47", "2026-M11") -> the current slugs of the studies it carried."""
    aliases = q.slug_aliases(session)
    issues: dict[str, set[str]] = defaultdict(set)
    for stored in q.stored_digests(session):
        issues[stored.week] |= _slugs_in(stored.content)
    for sent in sent_issues(session):
        issues[sent.key] |= _slugs_in(sent.content)
    return {key: {aliases.get(s, s) for s in slugs} for key, slugs in issues.items()}


def noted_slugs(session: Session) -> set[str]:
    aliases = q.slug_aliases(session)
    rows = session.exec(select(TriageDecision.slug, TriageDecision.note))
    return {aliases.get(slug, slug) for slug, note in rows if note and note.strip()}


def watch_list(session: Session, extra_dois: Iterable[str] = ()) -> list[Study]:
    """The studies to re-check, by slug, each once."""
    carried = set().union(*carried_by_issue(session).values())
    wanted = carried | noted_slugs(session)
    extra = set(extra_dois)
    studies = []
    for study in q.all_studies(session):
        on_condition_page = study.in_scope and bool(study.conditions)
        if not (study.doi or study.pmid) or study.design == "notice":
            continue
        if study.slug in wanted or on_condition_page or (study.doi and study.doi in extra):
            studies.append(study)
    return studies


def recipients(
    session: Session, slug: str, before: datetime, issues: Mapping[str, set[str]]
) -> dict[int, str]:
    """Subscriber id -> the first issue key that reached them carrying the study (`slug`),
    for issues delivered before `before` (the notice's first sighting: a subscriber whose
    issue already showed the notice needs no correction)."""
    keys = sorted(key for key, slugs in issues.items() if slug in slugs)
    if not keys:
        return {}
    rows = session.exec(
        select(Delivery)
        .where(col(Delivery.week).in_(keys), col(Delivery.status).in_(("sent", "unconfirmed")))
        .order_by(col(Delivery.week))
    )
    found: dict[int, str] = {}
    for row in rows:
        sent_at = row.sent_at
        if sent_at is not None and sent_at.tzinfo is None:
            sent_at = sent_at.replace(tzinfo=UTC)
        if sent_at is None or sent_at < before:
            found.setdefault(row.subscriber_id, row.week)
    return found
