"""`digest status`: per source its last run, outcome, counts, error and next run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.app.schedule.jobs import next_fire_times
from digest.config import Settings
from digest.model import FetchRun, utcnow
from digest.store import digests as q
from digest.store.fetchlock import fetch_in_progress
from digest.store.runs import recent_runs
from digest.views import digest_from_json


@dataclass(slots=True)
class SourceStatus:
    name: str
    kind: str
    enabled: bool
    last_run: FetchRun | None
    consecutive_failures: int
    next_run: datetime | None
    alarm: bool  # failed its last N runs: what monitoring should page on


def source_statuses(
    settings: Settings, engine: Engine, failing_runs: int = 3, now: datetime | None = None
) -> list[SourceStatus]:
    next_runs = next_fire_times(settings, now or utcnow())
    statuses = []
    with Session(engine) as session:
        for source in settings.sources:
            runs = recent_runs(session, source.name, limit=max(failing_runs, 10))
            if runs and runs[0].outcome == "running" and fetch_in_progress(engine, source.name):
                runs = runs[1:]  # the one live run: not finished yet, not a failure
            failures = 0
            for run in runs:
                # a run that never finished (its process was killed) failed, for alarms too
                if run.outcome not in ("failed", "interrupted", "running"):
                    break
                failures += 1
            statuses.append(
                SourceStatus(
                    name=source.name,
                    kind=source.kind,
                    enabled=source.enabled,
                    last_run=runs[0] if runs else None,
                    consecutive_failures=failures,
                    next_run=next_runs.get(source.name) if source.enabled else None,
                    alarm=source.enabled and failures >= failing_runs,
                )
            )
    return statuses


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip() if moment else "-"


def render_status(statuses: list[SourceStatus], out: TextIO) -> None:
    rows = [
        (
            "source",
            "kind",
            "last run",
            "outcome",
            "new",
            "upd",
            "fetched",
            "next run",
            "error",
        )
    ]
    for s in statuses:
        run = s.last_run
        outcome = "disabled" if not s.enabled else (run.outcome if run else "never run")
        if s.consecutive_failures > 1:
            outcome += f" x{s.consecutive_failures}"
        rows.append(
            (
                s.name,
                s.kind,
                _when(run.started_at if run else None),
                outcome + (" ALARM" if s.alarm else ""),
                str(run.new) if run else "-",
                str(run.updated) if run else "-",
                str(run.fetched) if run else "-",
                _when(s.next_run),
                (run.error or "")[:80] if run else "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip(), file=out)


def held_weeks(engine: Engine, recent: int = 4) -> list[str]:
    """Recent built weeks whose send is held because no source could be searched, and that
    nobody has received (a later successful run rebuilds and sends them)."""
    with Session(engine) as session:
        digests = q.stored_digests(session)[:recent]
        return [
            view.week
            for view in (digest_from_json(d.content) for d in digests)
            if view.hold_send and not q.week_was_sent(session, view.week)
        ]


def review_holds(
    settings: Settings, engine: Engine, recent: int = 4, now: datetime | None = None
) -> list[tuple[str, str]]:
    """(week, why) for recent built weeks nobody has received that the staff desk holds:
    "waiting for staff to approve ..." before the deadline, "not approved by deadline"
    after it (never reported as a quiet week)."""
    from digest.desk.review import deadline_of, hold_reason  # the desk only when asked
    from digest.desk.triage import week_approval

    if settings.digest.review != "required":
        return []
    holds = []
    with Session(engine) as session:
        for stored in q.stored_digests(session)[:recent]:
            if q.week_was_sent(session, stored.week):
                continue
            view = digest_from_json(stored.content)
            approval = week_approval(
                session, stored.week, "required", deadline_of(settings, stored.week), now
            )
            reason = hold_reason(approval, len(view.corrections))
            if reason is not None:
                holds.append((stored.week, reason))
    return holds
