"""The correction clock in `digest status`: per study and notice, when the notice was
dated, when the digest first saw it, and when subscribers were told (the correction
email, or the first issue whose "corrections since last issue" carried it that reached
somebody); and when the re-check last ran."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from digest.facts import WORDING
from digest.model import Delivery
from digest.store import digests as q
from digest.store import recheck as rq
from digest.store.recheck_tables import RecheckRun

# the issue's correction kinds (`digest.issue.corrections`) per notice kind
_SECTION_KIND = {"correction": "erratum"}


@dataclass(frozen=True, slots=True)
class ClockRow:
    slug: str
    kind: str
    dated: str | None  # the notice's own date
    first_seen: datetime
    told: datetime | None
    told_how: str | None


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _issues_telling(session: Session) -> dict[tuple[str, str], tuple[datetime, str]]:
    """(slug, kind) -> (when, "issue W") of the first delivered issue that listed it."""
    aliases = q.slug_aliases(session)
    first_sent: dict[str, datetime] = {}
    for week, sent_at in session.exec(
        select(Delivery.week, Delivery.sent_at).where(col(Delivery.status) == "sent")
    ):
        moment = _aware(sent_at)
        if moment is not None and (week not in first_sent or moment < first_sent[week]):
            first_sent[week] = moment
    told: dict[tuple[str, str], tuple[datetime, str]] = {}
    for stored in q.stored_digests(session):
        when = first_sent.get(stored.week)
        if when is None:
            continue
        for item in stored.content.get("corrections") or []:
            slug = str((item.get("study") or {}).get("slug") or "")
            key = (aliases.get(slug, slug), str(item.get("kind") or ""))
            if key not in told or when < told[key][0]:
                told[key] = (when, f"issue {stored.week}")
    return told


def correction_clock(engine: Engine, limit: int = 20) -> list[ClockRow]:
    """The newest notices first, at most `limit`."""
    with Session(engine) as session:
        by_work = rq.notices_by_work(session)
        studies = rq.studies_for_works(session, by_work)
        told_by_issue = _issues_telling(session)
        rows = []
        for work, notices in by_work.items():
            study = studies.get(work)
            if study is None:
                continue
            for notice in notices:
                told, how = _aware(notice.told_at), notice.told_how
                issue = told_by_issue.get((study.slug, _SECTION_KIND.get(notice.kind, notice.kind)))
                if issue is not None and (told is None or issue[0] < told):
                    told, how = issue
                rows.append(
                    ClockRow(
                        slug=study.slug,
                        kind=notice.kind,
                        dated=notice.notice_date,
                        first_seen=_aware(notice.first_seen_at) or notice.first_seen_at,
                        told=told,
                        told_how=how,
                    )
                )
    rows.sort(key=lambda r: (r.first_seen, r.slug, r.kind), reverse=True)
    return rows[:limit]


def last_recheck(engine: Engine) -> RecheckRun | None:
    with Session(engine) as session:
        return rq.last_run(session)


def _when(moment: datetime | None) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if moment else "-"


def render_clock(engine: Engine, next_run: datetime | None, out: TextIO) -> None:
    """The re-check's last run and the correction clock, for `digest status`."""
    run = last_recheck(engine)
    if run is None:
        print("\nre-check: never run (digest recheck, or the scheduler's daily job)", file=out)
    else:
        print(
            f"\nre-check: last ran {_when(_aware(run.started_at))}, {run.outcome}, "
            f"{run.checked} identifier(s) of {run.studies} watched studies in "
            f"{run.requests} request(s), {run.new_notices} new notice(s), "
            f"{run.emails} correction email(s)"
            + (f"; error: {run.error[:120]}" if run.error else ""),
            file=out,
        )
    if next_run is not None:
        print(f"re-check: next run {next_run:%Y-%m-%d %H:%M %Z}", file=out)
    rows = correction_clock(engine)
    if not rows:
        return
    table = [("correction clock", "notice", "dated", "first seen", "subscribers told")]
    for row in rows:
        label = WORDING[row.kind].label if row.kind in WORDING else row.kind
        told = f"{_when(row.told)} ({row.told_how})" if row.told else "not yet"
        table.append((row.slug, label, row.dated or "undated", _when(row.first_seen), told))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for line in table:
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(line)).rstrip(), file=out)


def recheck_alarm(engine: Engine, failing_runs: int) -> bool:
    """The re-check failed its last `failing_runs` runs (a run that never finished counts,
    unless it is the newest, which may still be going): what monitoring pages on."""
    with Session(engine) as session:
        outcomes = rq.recent_outcomes(session, failing_runs)
    if len(outcomes) < failing_runs or outcomes[0] == "running":
        return False
    return all(outcome != "ok" for outcome in outcomes)
