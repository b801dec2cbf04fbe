"""The issue's "Corrections since last issue": notices found in the issue's week about
studies an earlier issue carried, and the notices the studies themselves carry.

Three ways a correction is learned of, one section:
- the re-check (`digest recheck`) found a notice (`study_notice`, first seen this week):
  its kind, its own date and link, who asserts it;
- a source re-fetched a record that newly says it is retracted / corrected (a record
  change with notices);
- a notice record arrived (a study of design "notice" linked to its target).
One line per (study, kind): the re-check's, with the date and link, when it has one.
Also new studies that are already retracted, pinned here instead of among the news.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from digest.config import Settings
from digest.facts import LINK_NOTICE_KINDS, NOTICE_KINDS, WORDING
from digest.model import Study
from digest.sources.changes import NOTICE_KIND_OF_LABEL
from digest.store import digests as q
from digest.store import recheck as rq
from digest.views import CorrectionView, StudyView

ViewsOf = Callable[[Session, list[Study], Settings], dict[int, StudyView]]

# the re-check's notice kinds -> the section's kind words (`h.related` labels them);
# an erratum found by a source and a correction found by the re-check are one thing
_SECTION_KIND = {
    "retraction": "retraction",
    "withdrawal": "withdrawal",
    "expression-of-concern": "expression-of-concern",
    "correction": "erratum",
    "new-version": "new-version",
    "reinstatement": "reinstatement",
}


def _weight(kind: str) -> int:
    wording = WORDING.get(kind)  # type: ignore[call-overload]
    return wording.weight if wording else 0


class _Found:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.notice_slug: str | None = None
        self.notice_title: str | None = None
        self.notice_date: str | None = None
        self.notice_url: str | None = None
        self.asserted_by: str | None = None


def _from_recheck(
    session: Session, start: datetime, end: datetime, found: dict[tuple[int, str], _Found]
) -> None:
    rows = rq.notices_first_seen_between(session, start, end)
    studies = rq.studies_for_works(session, {r.work for r in rows})
    # heaviest first, so a study's line leads with what matters most
    for row in sorted(rows, key=lambda r: -_weight(r.kind)):
        study = studies.get(row.work)
        if study is None or study.id is None:
            continue
        item = found.setdefault((study.id, _SECTION_KIND.get(row.kind, row.kind)), _Found(""))
        item.kind = _SECTION_KIND.get(row.kind, row.kind)
        if item.notice_url is None:
            item.notice_date = row.notice_date
            item.notice_url = (
                f"https://doi.org/{row.notice_doi}"
                if row.notice_doi
                else f"https://pubmed.ncbi.nlm.nih.gov/{row.notice_pmid}/"
                if row.notice_pmid
                else None
            )
            item.asserted_by = row.asserted_by


def _from_sources(
    session: Session, start: datetime, end: datetime, found: dict[tuple[int, str], _Found]
) -> None:
    for change, record in q.changes_between(session, start, end):
        notices = change.diff.get("notices") or []
        if record.study_id and notices:
            kinds = {NOTICE_KIND_OF_LABEL.get(n) for n in notices}
            kind = next((k for k in NOTICE_KINDS if k in kinds), "erratum")
            found.setdefault((record.study_id, kind), _Found(kind))
    for notice in q.studies_first_seen(session, start, end):
        if notice.design != "notice" or notice.id is None:
            continue
        for link in q.links_touching(session, [notice.id]):
            if link.from_study_id == notice.id and link.kind in LINK_NOTICE_KINDS:
                kind = LINK_NOTICE_KINDS[link.kind]
                item = found.setdefault((link.to_study_id, kind), _Found(kind))
                item.notice_slug, item.notice_title = notice.slug, notice.title


def week_corrections(
    session: Session,
    settings: Settings,
    week: str,
    start: datetime,
    end: datetime,
    new_retracted: list[StudyView],
    views_of: ViewsOf,
) -> tuple[CorrectionView, ...]:
    """Corrections found in [start, end) of studies an issue before `week` carried, then
    the week's new studies that are already retracted."""
    sent = q.weeks_sent_before(session, week)
    found: dict[tuple[int, str], _Found] = {}
    _from_recheck(session, start, end, found)
    _from_sources(session, start, end, found)
    targets = q.studies_by_id(session, {sid for sid, _ in found})
    views = views_of(session, list(targets.values()), settings)
    old_slugs: dict[str, set[str]] = defaultdict(set)  # current slug -> slugs it had before
    for old, current in q.slug_aliases(session).items():
        old_slugs[current].add(old)
    monday = start.astimezone(ZoneInfo(settings.timezone)).date()
    items = []
    for (sid, _kind), item in sorted(found.items(), key=lambda kv: kv[0]):
        if sid not in views:
            continue
        slugs = {views[sid].slug, *old_slugs[views[sid].slug]}
        weeks = sorted(sent[s] for s in slugs if s in sent)
        if weeks:  # only studies an earlier issue carried, under whatever slug it had then
            items.append(
                CorrectionView(
                    kind=item.kind,
                    study=views[sid],
                    noted_on=monday,
                    notice_slug=item.notice_slug,
                    notice_title=item.notice_title,
                    first_sent_week=weeks[0],
                    notice_date=item.notice_date,
                    notice_url=item.notice_url,
                    asserted_by=item.asserted_by,
                )
            )
    items += [CorrectionView(kind="retraction", study=v, noted_on=monday) for v in new_retracted]
    return tuple(items)
