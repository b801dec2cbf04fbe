"""The jobs, as plain functions: the CLI and the scheduler both call these, nothing else.

Each takes validated Settings and an Engine, does one whole step and returns a summary
the caller can log. Weekly steps are idempotent: building a week twice gives the same
digest; sending twice delivers nobody a second copy (the delivery ledger).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from digest.config import Settings
from digest.errors import redact
from digest.ingest.run import SourceRunResult, fetch_sources, make_http
from digest.weeks import last_complete_week

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


def run_fetch(
    settings: Settings,
    engine: Engine,
    names: Sequence[str] = (),
    progress: Callable[[str], None] = lambda _m: None,
) -> list[SourceRunResult]:
    """Fetch the named (default: all enabled) sources and refresh studies."""
    return fetch_sources(settings, engine, make_http(settings), names=names, progress=progress)


def run_weekly(
    settings: Settings, engine: Engine, now: datetime, week: str | None = None
) -> WeeklyResult:
    """The weekly job: fetch every source, build the week's digest, render the site, send."""
    from digest.app.weekly import build_week, render_site

    local_today = now.astimezone(ZoneInfo(settings.timezone)).date()
    result = WeeklyResult(week=week or last_complete_week(local_today))
    result.fetch = run_fetch(settings, engine)
    # Each step runs even if an earlier one failed: a broken site must not stop the email.
    if _step(result, "build", lambda: build_week(settings, engine, week=result.week)):
        _step(result, "site", lambda: render_site(settings, engine))
        if settings.email.send:
            _step(result, "send", lambda: _send(settings, engine, result))
    return result


def _send(settings: Settings, engine: Engine, result: WeeklyResult) -> list[Path]:
    from digest.app.weekly import send_week

    report = send_week(settings, engine, week=result.week)
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
