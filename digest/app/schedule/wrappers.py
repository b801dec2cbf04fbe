"""What the scheduler calls: load the config, run one operation, log one line per run.

The job functions take only strings (config path, database URL, source name), so the
scheduler holds no settings or engine between runs: query edits in sources.yaml apply
at the next run. A job never raises: its error is its log line, and the scheduler goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import Engine

from digest.app import operations
from digest.app.schedule.jobs import (
    RECHECK_JOB_ID,
    REVIEW_JOB_ID,
    WEEKLY_JOB_ID,
    fetch_job_id,
    zone_of,
)
from digest.config import Settings, load_settings
from digest.errors import DigestError
from digest.model import utcnow
from digest.store.db import make_engine

T = TypeVar("T")

# every scheduler module logs under one name: what operators filter the job lines by
log = logging.getLogger("digest.app.schedule")


def _load(config_path: str, database_url: str) -> tuple[Settings, Engine]:
    settings = load_settings(Path(config_path))
    settings = settings.model_copy(update={"database_url": database_url})
    return settings, make_engine(database_url)


def _log_job(
    job_id: str,
    source: str,
    started: float,
    outcome: str,
    *,
    fetched: int = 0,
    new: int = 0,
    level: int = logging.INFO,
    detail: str = "",
    **extra: object,
) -> None:
    seconds = round(time.monotonic() - started, 3)
    log.log(
        level,
        "job %s %s in %.1f s: fetched %d, new %d%s",
        job_id,
        outcome,
        seconds,
        fetched,
        new,
        f"; {detail}" if detail else "",
        extra={
            "job": job_id,
            "source": source,
            "seconds": seconds,
            "fetched": fetched,
            "new": new,
            "outcome": outcome,
            **extra,
        },
    )


def _run_job(job_id: str, source: str, started: float, body: Callable[[], T]) -> T | None:
    """Run a job body; an error is logged as the job's one line and the scheduler goes on."""
    try:
        return body()
    except DigestError as exc:
        detail = str(exc)
        _log_job(job_id, source, started, "error", level=logging.ERROR, detail=detail, error=detail)
    except Exception as exc:  # a bug must not stop the scheduler; the traceback is logged
        log.exception("job %s crashed", job_id)
        _log_job(
            job_id,
            source,
            started,
            "error",
            level=logging.ERROR,
            error=f"{type(exc).__name__}: {exc}",
        )
    return None


def _with_loaded(config_path: str, database_url: str, work: Callable[[Settings, Engine], T]) -> T:
    settings, engine = _load(config_path, database_url)
    try:
        return work(settings, engine)
    finally:
        engine.dispose()


def fetch_job(config_path: str, database_url: str, source_name: str) -> None:
    """Scheduled fetch of one source through digest.app.operations.run_fetch; logs one line."""
    job_id = fetch_job_id(source_name)
    started = time.monotonic()
    results = _run_job(
        job_id,
        source_name,
        started,
        lambda: _with_loaded(
            config_path,
            database_url,
            lambda settings, engine: operations.run_fetch(settings, engine, [source_name]),
        ),
    )
    if results is None:
        return
    failed = [r for r in results if r.failed]
    errors = "; ".join(r.error or "failed" for r in failed)
    _log_job(
        job_id,
        source_name,
        started,
        "failed" if failed else (results[0].outcome if results else "ok"),
        fetched=sum(r.summary.fetched for r in results),
        new=sum(r.summary.new for r in results),
        level=logging.WARNING if failed else logging.INFO,
        detail=errors,
        **({"error": errors} if errors else {}),
    )


def weekly_job(config_path: str, database_url: str) -> None:
    """Scheduled weekly run through digest.app.operations.run_weekly; logs one line."""
    started = time.monotonic()
    result = _run_job(
        WEEKLY_JOB_ID,
        WEEKLY_JOB_ID,
        started,
        lambda: _with_loaded(
            config_path,
            database_url,
            lambda settings, engine: operations.run_weekly(
                settings, engine, datetime.now(zone_of(settings))
            ),
        ),
    )
    if result is None:
        return
    failed = result.failed_steps + [r.name for r in result.fetch if r.failed]
    _log_job(
        WEEKLY_JOB_ID,
        WEEKLY_JOB_ID,
        started,
        "ok" if result.ok else "failed",
        fetched=sum(r.summary.fetched for r in result.fetch),
        new=sum(r.summary.new for r in result.fetch),
        level=logging.INFO if result.ok else logging.WARNING,
        detail=f"week {result.week}, {len(result.written)} files, {result.sent} sent"
        + (f", failed: {', '.join(failed)}" if failed else ""),
        week=result.week,
        written=len(result.written),
        sent=result.sent,
        failed=failed,
    )


def review_job(config_path: str, database_url: str) -> None:
    """The review check (digest.review: required): remind staff, send once due."""
    started = time.monotonic()
    report = _run_job(
        REVIEW_JOB_ID,
        REVIEW_JOB_ID,
        started,
        lambda: _with_loaded(
            config_path,
            database_url,
            lambda settings, engine: operations.run_review(settings, engine, utcnow()),
        ),
    )
    if report is None:
        return
    _log_job(
        REVIEW_JOB_ID,
        REVIEW_JOB_ID,
        started,
        "held" if report.held else "ok",
        level=logging.INFO,
        detail=f"week {report.week}: "
        + (f"held: {report.held}" if report.held else f"{len(report.sent)} sent")
        + (f", reminded {len(report.reminded)} staff" if report.reminded else ""),
        week=report.week,
        sent=len(report.sent),
    )


def recheck_job(config_path: str, database_url: str) -> None:
    """The daily re-check of studies already sent (digest.app.recheck); logs one line."""
    started = time.monotonic()
    report = _run_job(
        RECHECK_JOB_ID,
        RECHECK_JOB_ID,
        started,
        lambda: _with_loaded(
            config_path,
            database_url,
            lambda settings, engine: operations.run_recheck(settings, engine, utcnow()),
        ),
    )
    if report is None:
        return
    errors = "; ".join(report.failed)
    _log_job(
        RECHECK_JOB_ID,
        RECHECK_JOB_ID,
        started,
        "ok" if report.ok else "failed",
        fetched=report.fetched,
        new=len(report.new_notices),
        level=logging.INFO if report.ok else logging.WARNING,
        detail=f"{report.checked} checked in {report.requests} requests, "
        f"{len(report.new_notices)} new notice(s), {report.emails} email(s)"
        + (f", failed: {errors}" if errors else ""),
        **({"error": errors} if errors else {}),
    )


@dataclass(frozen=True, slots=True)
class JobFunctions:
    """What the scheduled jobs call; tests swap these for fakes."""

    fetch: Callable[[str, str, str], object] = fetch_job
    weekly: Callable[[str, str], object] = weekly_job
    review: Callable[[str, str], object] = review_job
    recheck: Callable[[str, str], object] = recheck_job


def unless_stopping(
    func: Callable[..., object], job_id: str, stopping: threading.Event
) -> Callable[..., None]:
    """The job, skipped if it only gets its turn after a stop was requested."""

    def run(*args: object) -> None:
        if stopping.is_set():
            log.info(
                "job %s skipped: the scheduler is stopping",
                job_id,
                extra={"job": job_id, "outcome": "skipped"},
            )
            return
        func(*args)

    return run
