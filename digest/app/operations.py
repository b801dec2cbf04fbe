"""The jobs, as plain functions: the CLI and the scheduler both call these, nothing else.

Each takes validated Settings and an Engine, does one whole step and returns a summary
the caller can print or log. Weekly steps are idempotent: building a week twice gives the
same digest; sending twice delivers nobody a second copy (the delivery ledger).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from digest.app import weekly
from digest.config import Settings
from digest.errors import redact
from digest.ingest import run as ingest
from digest.ingest.run import SourceRunResult
from digest.store.records import SaveSummary
from digest.studies.refresh import RefreshSummary
from digest.weeks import last_complete_week

if TYPE_CHECKING:  # the mail stack is loaded by weekly.send_week when it sends
    from digest.app.recheck import RecheckReport
    from digest.publish.mail.send import SendReport

log = logging.getLogger(__name__)


@dataclass(slots=True)
class WeeklyResult:
    week: str
    fetch: list[SourceRunResult] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    sent: int = 0
    failed_steps: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed_steps and not any(r.failed for r in self.fetch)


def local_today(settings: Settings, now: datetime) -> date:
    """The date in the configured zone: what "the last complete week" is counted from."""
    return now.astimezone(ZoneInfo(settings.timezone)).date()


def run_fetch(
    settings: Settings,
    engine: Engine,
    names: Sequence[str] = (),
    *,
    since: date | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> list[SourceRunResult]:
    """Fetch the named (default: all enabled) sources and refresh studies."""
    http = ingest.make_http(settings)
    return ingest.fetch_sources(settings, engine, http, names=names, since=since, progress=progress)


def run_import(
    settings: Settings,
    engine: Engine,
    paths: Sequence[Path],
    *,
    fmt: str | None = None,
    announce: bool = False,
) -> list[tuple[Path, SaveSummary]]:
    """Import library files through the same store and dedupe path as fetched records."""
    return ingest.import_files(settings, engine, paths, fmt=fmt, announce=announce)


def run_refresh(settings: Settings, engine: Engine) -> RefreshSummary:
    """Recluster and classify every study (after a duplicate decision)."""
    return ingest.refresh_studies(settings, engine)


def run_rebuild(settings: Settings, engine: Engine) -> RefreshSummary:
    """Recluster every record from scratch (the incremental refresh gives the same studies;
    this is the check, and the way back after a manual database edit)."""
    return ingest.refresh_studies(settings, engine, full=True)


def run_reclassify(settings: Settings, engine: Engine) -> RefreshSummary:
    """Forget every classification and recompute it."""
    return ingest.reclassify_all(settings, engine)


def run_build(
    settings: Settings, engine: Engine, week: str | None = None, out_dir: Path | None = None
) -> list[Path]:
    """Build one week's digest in every format; the files written."""
    return weekly.build_week(settings, engine, week=week, out_dir=out_dir)


def run_site(
    settings: Settings, engine: Engine, out_dir: Path | None = None, *, full: bool = False
) -> list[Path]:
    """Render the static web archive (incrementally, or every page with full=True); the
    files written or changed."""
    return weekly.render_site(settings, engine, out_dir=out_dir, full=full)


def run_send(
    settings: Settings,
    engine: Engine,
    week: str,
    *,
    dry_run: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> SendReport:
    """Email the week's digest to every subscriber who does not have it (or write .eml)."""
    return weekly.send_week(settings, engine, week, dry_run=dry_run, env=env)


def run_review(settings: Settings, engine: Engine, now: datetime) -> SendReport:
    """The review check (`digest.review: required`): for the coming week, remind staff
    before the deadline, and send once the week is approved or the deadline has passed.
    A week not built yet is left to the weekly run; a send re-renders the site."""
    from digest.publish.mail.send import SendReport  # the mail stack only when it sends
    from digest.store.runs import built_weeks

    week = last_complete_week(local_today(settings, now))
    if week not in built_weeks(engine):
        return SendReport(week=week, held="not built yet (the weekly run builds it)")
    report = weekly.send_week(settings, engine, week, now=now)
    if report.sent:
        run_site(settings, engine)
    return report


def run_recheck(
    settings: Settings,
    engine: Engine,
    now: datetime,
    *,
    dois: Sequence[str] = (),
    write_site: bool = True,
    progress: Callable[[str], None] = lambda _m: None,
) -> RecheckReport:
    """The re-check of every study an issue carried (Crossref by DOI, PubMed by PMID):
    notices filed with their clock, the site re-rendered when a study changed, and the
    correction email when `recheck.email` asks for it (digest.app.recheck)."""
    from digest.app.recheck import run_recheck as recheck

    return recheck(settings, engine, now=now, dois=dois, write_site=write_site, progress=progress)


def run_weekly(
    settings: Settings, engine: Engine, now: datetime, week: str | None = None
) -> WeeklyResult:
    """The weekly job: fetch every source, build the week's digest, render the site, send."""
    result = WeeklyResult(week=week or last_complete_week(local_today(settings, now)))
    result.fetch = run_fetch(settings, engine)
    # Each step runs even if an earlier one failed: a broken site must not stop the email.
    if _step(result, "build", lambda: run_build(settings, engine, week=result.week)):
        _step(result, "site", lambda: run_site(settings, engine))
        if settings.email.send:
            _step(result, "send", lambda: _send(settings, engine, result))
            if result.sent:  # the issue as sent: its page, /sent/<week>/, the takes
                _step(result, "site", lambda: run_site(settings, engine))
    return result


def _send(settings: Settings, engine: Engine, result: WeeklyResult) -> list[Path]:
    report = run_send(settings, engine, week=result.week)
    if report.held:
        result.failed_steps.append(f"send held: {report.held}")
    result.sent = len(report.sent)
    result.failed_steps += [f"email to {email}: {why}" for email, why in report.failed]
    return []


def _step(result: WeeklyResult, name: str, work: Callable[[], list[Path]]) -> bool:
    try:
        result.written += work()
    except Exception as exc:  # recorded, logged with its traceback, and the next step runs
        log.exception("weekly step %s failed", name)
        result.failed_steps.append(redact(f"{name}: {type(exc).__name__}: {exc}"))
        return False
    return True
