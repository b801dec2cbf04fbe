"""`digest schedule`: run the fetch and weekly jobs on their cron schedules, unattended.

The only module that imports APScheduler (3.11.x; 4.x is a pre-release).

Design choices:

* **Jobs are rebuilt from sources.yaml at every start** (an in-memory job store), not
  kept in APScheduler's SQLAlchemy job store. The config is the source of truth for
  what runs when: a schedule edited in sources.yaml takes effect on restart with nothing
  stale left behind in a table. The persistent stores pickle the callables and their
  arguments, which ties stored rows to code paths and leaks whatever the arguments
  hold (a database URL with a password). What a persistent store would give us,
  running jobs missed during downtime, is done explicitly instead: at start
  `plan_catch_up` reads our own run log (FetchRun, Digest) and runs each missed job
  once (see there).
* **One scheduler per database**: `digest.store.locks` takes a lock before starting
  (a PostgreSQL advisory lock, or a heartbeated row on SQLite); a second scheduler
  refuses to start and names the holder.
* **One job at a time** (a single worker thread): fetches and the weekly run share
  the database and the per-host rate limits, and SQLite has one writer. A queued job
  still runs if it starts within `MISFIRE_GRACE_SECONDS` of its time.
* **Jobs call `digest.app.operations`**, the same functions as the CLI, through
  module-level functions taking only strings (`fetch_job`, `weekly_job`), which load
  the config and open the database themselves; so query edits in sources.yaml apply at
  the next run, while schedule edits need a restart.
* **Crontab semantics**: sources.yaml schedules are standard 5-field crontab lines.
  APScheduler 3.x numbers weekdays from Monday=0, crontab from Sunday=0, so numeric
  day-of-week fields are translated to names (`crontab_trigger`). Crontab ORs a
  restricted day-of-month with a restricted day-of-week, APScheduler ANDs them, so a
  schedule restricting both is refused rather than silently run on other days.
* **Stopping**: SIGTERM or SIGINT stops taking new jobs and waits for the running one
  to finish (each source commits once, so nothing is half-written); jobs still queued
  are skipped. A second signal exits at once (the database rolls back the open
  transaction; that FetchRun row stays `running`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import Engine

from digest.config import Settings
from digest.errors import ConfigError, DigestError
from digest.model import utcnow
from digest.weeks import last_complete_week

T = TypeVar("T")

log = logging.getLogger(__name__)

WEEKLY_JOB_ID = "weekly"
FETCH_JOB_PREFIX = "fetch:"
# A job that could not start on time (the single worker was busy) still runs this late.
MISFIRE_GRACE_SECONDS = 3600
# Catch-up at start: a missed fetch is run if its missed time is at most this old ...
FETCH_CATCH_UP_GRACE = timedelta(days=7)
# ... and the missed weekly run if it is at most this old (the next one is due anyway).
WEEKLY_CATCH_UP_GRACE = timedelta(days=6)

_CRON_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")  # crontab 0..7


def fetch_job_id(source_name: str) -> str:
    return f"{FETCH_JOB_PREFIX}{source_name}"


def zone_of(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.timezone)


# ------------------------------------------------------------------ triggers


def _crontab_weekdays(token: str) -> list[str] | None:
    """Names for one numeric crontab day-of-week token (`1-5`, `*/2`, `0`), else None."""
    base, _, step_text = token.partition("/")
    if not any(ch.isdigit() for ch in base) and not (base == "*" and step_text):
        return None  # names (`mon-fri`) and plain `*` mean the same to APScheduler
    step = int(step_text) if step_text else 1
    if base == "*":
        first, last = 0, 6
    elif "-" in base:
        low, high = base.split("-", 1)
        first, last = int(low), int(high)
    else:
        first = int(base)
        last = 7 if step_text else first
    if not (0 <= first <= last <= 7) or step < 1:
        raise ValueError(f"day of week out of range 0-7: {token!r}")
    return [_CRON_DAY_NAMES[day] for day in range(first, last + 1, step)]


def crontab_day_of_week(field_text: str) -> str:
    """A crontab day-of-week field (Sunday = 0 or 7) as APScheduler 3.x reads it."""
    names: list[str] = []
    for token in field_text.split(","):
        converted = _crontab_weekdays(token)
        names.extend(converted if converted is not None else [token])
    return ",".join(dict.fromkeys(names))  # de-duplicated, order kept


def crontab_trigger(expr: str, timezone: ZoneInfo, key: str = "schedule") -> Any:
    """A CronTrigger for a 5-field crontab line with crontab's weekday numbering."""
    fields = expr.split()
    if len(fields) != 5:
        raise ConfigError(f"not a 5-field crontab expression: {expr!r}", key=key)
    if fields[2] != "*" and fields[4] != "*":
        raise ConfigError(
            f"{expr!r} restricts both day of month and day of week; crontab runs on either, "
            "this scheduler only on days matching both: use one of the two",
            key=key,
        )
    try:
        fields[4] = crontab_day_of_week(fields[4])
        return CronTrigger.from_crontab(" ".join(fields), timezone=timezone)
    except ValueError as exc:
        raise ConfigError(f"bad crontab expression {expr!r}: {exc}", key=key) from exc


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One job as the config defines it."""

    id: str
    cron: str
    what: str
    enabled: bool
    source: str | None = None  # None for the weekly job
    key: str = "schedule"  # where the cron line lives in sources.yaml


def job_specs(settings: Settings) -> list[JobSpec]:
    """Every source (enabled or not) plus the weekly run, in config order."""
    specs = [
        JobSpec(
            id=fetch_job_id(source.name),
            cron=source.schedule,
            what=f"fetch {source.kind}",
            enabled=source.enabled,
            source=source.name,
            key=f"sources[{i}].schedule",
        )
        for i, source in enumerate(settings.sources)
    ]
    email = "send email" if settings.email.send else "email off"
    specs.append(
        JobSpec(
            id=WEEKLY_JOB_ID,
            cron=settings.digest.schedule,
            what=f"fetch all, build week, site, {email}",
            enabled=True,
            key="digest.schedule",
        )
    )
    return specs


def _trigger(spec: JobSpec, settings: Settings) -> Any:
    return crontab_trigger(spec.cron, zone_of(settings), key=spec.key)


@dataclass(frozen=True, slots=True)
class JobInfo:
    """A row of `digest schedule --list`."""

    id: str
    trigger: str  # the crontab line and its zone
    what: str
    next_run_time: datetime | None  # None when disabled
    enabled: bool = True


def describe_jobs(settings: Settings, now: datetime) -> list[JobInfo]:
    """The jobs `digest schedule` would run, with their next run after `now`."""
    rows = []
    for spec in job_specs(settings):
        trigger = _trigger(spec, settings)
        next_run = trigger.get_next_fire_time(None, now) if spec.enabled else None
        rows.append(
            JobInfo(
                id=spec.id,
                trigger=f"{spec.cron} ({settings.timezone})",
                what=spec.what,
                next_run_time=next_run,
                enabled=spec.enabled,
            )
        )
    return rows


def format_job_list(jobs: Sequence[JobInfo]) -> str:
    """`digest schedule --list` as an aligned text table."""
    rows = [("JOB", "SCHEDULE", "NEXT RUN", "WHAT")]
    for job in jobs:
        when = f"{job.next_run_time:%Y-%m-%d %H:%M %Z}" if job.next_run_time else "disabled"
        rows.append((job.id, job.trigger, when, job.what))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    )


def next_fire_times(settings: Settings, now: datetime) -> dict[str, datetime]:
    """Next run per enabled source name, and under "weekly" the weekly run (`digest status`)."""
    out: dict[str, datetime] = {}
    for spec in job_specs(settings):
        if not spec.enabled:
            continue
        fire = _trigger(spec, settings).get_next_fire_time(None, now)
        if fire is not None:
            out[spec.source or WEEKLY_JOB_ID] = fire
    return out


def previous_fire_time(trigger: Any, now: datetime, horizon: timedelta) -> datetime | None:
    """The trigger's most recent fire time at or before `now`, looking back `horizon` at most.

    APScheduler 3.x only computes forward, so look back over doubling windows until one
    holds a fire time, then walk forward to the last one before `now`.
    """
    span = timedelta(minutes=1)
    while True:
        window = min(span, horizon)
        fire = trigger.get_next_fire_time(None, now - window)
        if fire is not None and fire <= now:
            while True:
                following = trigger.get_next_fire_time(None, fire + timedelta(seconds=1))
                if following is None or following > now:
                    return fire  # type: ignore[no-any-return]
                fire = following
        if window >= horizon:
            return None
        span *= 2


# ------------------------------------------------------------------ catch-up


def catch_up_reasons(
    settings: Settings,
    last_runs: Mapping[str, datetime | None],
    built_weeks: Collection[str],
    now: datetime,
    *,
    fetch_grace: timedelta = FETCH_CATCH_UP_GRACE,
    weekly_grace: timedelta = WEEKLY_CATCH_UP_GRACE,
) -> list[tuple[str, str]]:
    """(job id, why) for each job to run once at start; see `plan_catch_up`."""
    zone = zone_of(settings)
    local_now = now.astimezone(zone)
    week = last_complete_week(local_now.date())
    weekly_trigger = crontab_trigger(settings.digest.schedule, zone, key="digest.schedule")
    missed = previous_fire_time(weekly_trigger, local_now, weekly_grace)
    # the missed weekly fire must be the one that builds the week now due, not an older one
    if (
        missed is not None
        and week not in built_weeks
        and last_complete_week(missed.astimezone(zone).date()) == week
    ):
        return [(WEEKLY_JOB_ID, f"{week} has no digest; its run was due {missed:%Y-%m-%d %H:%M}")]
    out = []
    for spec in job_specs(settings):
        if spec.source is None or not spec.enabled:
            continue
        missed = previous_fire_time(_trigger(spec, settings), local_now, fetch_grace)
        last = last_runs.get(spec.source)
        if missed is not None and (last is None or last < missed):
            since = f"last run {last:%Y-%m-%d %H:%M %Z}" if last else "never run"
            out.append((spec.id, f"run due {missed:%Y-%m-%d %H:%M} was missed ({since})"))
    return out


def plan_catch_up(
    settings: Settings,
    last_runs: Mapping[str, datetime | None],
    built_weeks: Collection[str],
    now: datetime,
    *,
    fetch_grace: timedelta = FETCH_CATCH_UP_GRACE,
    weekly_grace: timedelta = WEEKLY_CATCH_UP_GRACE,
) -> list[str]:
    """Job ids to run once at start because their time passed while we were down.

    * weekly: the last complete ISO week (in the configured zone) has no digest, and the
      weekly trigger's most recent fire time, the one meant to build that week, is past
      and at most `weekly_grace` old. Once, however many weeks were missed: older weeks
      are built by hand (`digest build --week`). The weekly run fetches every source
      first, so when it is planned no separate fetch is.
    * fetch:<name>: each enabled source whose last run (`last_runs`, FetchRun.started_at)
      began before its trigger's most recent fire time, that fire time being at most
      `fetch_grace` old. Once per source, however many runs were missed.

    Pure: the caller reads `last_runs` and `built_weeks` from the database.
    """
    reasons = catch_up_reasons(
        settings, last_runs, built_weeks, now, fetch_grace=fetch_grace, weekly_grace=weekly_grace
    )
    return [job_id for job_id, _ in reasons]


# ------------------------------------------------------------------ the jobs


def _load(config_path: str, database_url: str) -> tuple[Settings, Engine]:
    from digest.config import load_settings
    from digest.store.db import make_engine

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
    from digest.app.operations import run_fetch

    job_id = fetch_job_id(source_name)
    started = time.monotonic()
    results = _run_job(
        job_id,
        source_name,
        started,
        lambda: _with_loaded(
            config_path,
            database_url,
            lambda settings, engine: run_fetch(settings, engine, [source_name]),
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
    from digest.app.operations import run_weekly

    started = time.monotonic()
    result = _run_job(
        WEEKLY_JOB_ID,
        WEEKLY_JOB_ID,
        started,
        lambda: _with_loaded(
            config_path,
            database_url,
            lambda settings, engine: run_weekly(settings, engine, datetime.now(zone_of(settings))),
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


@dataclass(frozen=True, slots=True)
class JobFunctions:
    """What the scheduled jobs call; tests swap these for fakes."""

    fetch: Callable[[str, str, str], object] = fetch_job
    weekly: Callable[[str, str], object] = weekly_job


# ------------------------------------------------------------------ the scheduler


def _log_event(event: JobEvent) -> None:
    if event.code == EVENT_JOB_MISSED:
        log.warning(
            "job %s missed its %s run (more than %d s late)",
            event.job_id,
            event.scheduled_run_time,
            MISFIRE_GRACE_SECONDS,
            extra={"job": event.job_id, "outcome": "missed"},
        )
    elif event.code == EVENT_JOB_MAX_INSTANCES:
        log.warning(
            "job %s is still running; this run is skipped",
            event.job_id,
            extra={"job": event.job_id, "outcome": "skipped"},
        )
    elif event.code == EVENT_JOB_ERROR:
        log.error(
            "job %s raised %r",
            event.job_id,
            event.exception,
            extra={"job": event.job_id, "outcome": "error"},
        )


def _unless_stopping(
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


def build_scheduler(
    settings: Settings,
    engine: Engine,
    *,
    config_path: Path | str,
    catch_up: Collection[str] = (),
    jobs: JobFunctions | None = None,
    stopping: threading.Event | None = None,
) -> Any:
    """A BlockingScheduler (not started) with one cron job per enabled source and the weekly.

    Job ids: `fetch:<source name>` and `weekly`. Jobs in `catch_up` also run once at start.
    The jobs get the config path and the engine's URL, and load both themselves. Once
    `stopping` is set, jobs that have not started yet are skipped.
    """
    jobs = jobs or JobFunctions()
    stopping = stopping or threading.Event()
    zone = zone_of(settings)
    scheduler = BlockingScheduler(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        },
        timezone=zone,
    )
    config = str(Path(config_path).resolve())
    database_url = engine.url.render_as_string(hide_password=False)
    start_now = datetime.now(zone)
    for spec in job_specs(settings):
        if not spec.enabled:
            continue
        func: Callable[..., object] = jobs.weekly if spec.source is None else jobs.fetch
        args = [config, database_url] + ([spec.source] if spec.source else [])
        when = {"next_run_time": start_now} if spec.id in catch_up else {}
        scheduler.add_job(
            _unless_stopping(func, spec.id, stopping),
            trigger=_trigger(spec, settings),
            args=args,
            id=spec.id,
            name=spec.id,
            replace_existing=True,
            **when,
        )
    scheduler.add_listener(_log_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_ERROR)
    return scheduler


class SchedulerService:
    """Lock, catch up, run until stopped, release: what `digest schedule` does.

    `stop()` is thread-safe (signal handlers, the lock heartbeat, tests). `clock` is
    what catch-up planning and the lock heartbeat read as "now".
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        config_path: Path | str,
        *,
        clock: Callable[[], datetime] = utcnow,
        jobs: JobFunctions | None = None,
        heartbeat_seconds: float = 30.0,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.config_path = config_path
        self.clock = clock
        self.jobs = jobs or JobFunctions()
        self.heartbeat_seconds = heartbeat_seconds
        self.scheduler: Any = None
        self.lock_lost = False
        self._stopper: threading.Thread | None = None
        self._guard = threading.RLock()
        self._stopping = threading.Event()
        self._main_done = threading.Event()

    def run(self, *, install_signals: bool = True) -> int:
        """Block until stopped; 0 after a requested stop, 1 if the lock was lost."""
        from digest.store.locks import acquire_scheduler_lock, built_weeks, last_fetch_starts

        with acquire_scheduler_lock(
            self.engine,
            clock=self.clock,
            heartbeat_interval=self.heartbeat_seconds,
            on_lost=self._lost,
        ):
            reasons = catch_up_reasons(
                self.settings,
                last_fetch_starts(self.engine),
                built_weeks(self.engine),
                self.clock(),
            )
            for job_id, why in reasons:
                log.info(
                    "catch-up: running %s now: %s",
                    job_id,
                    why,
                    extra={"job": job_id, "outcome": "catch-up"},
                )
            self.scheduler = build_scheduler(
                self.settings,
                self.engine,
                config_path=self.config_path,
                catch_up={job_id for job_id, _ in reasons},
                jobs=self.jobs,
                stopping=self._stopping,
            )
            with self._signals(install_signals):
                self._log_jobs()
                self._start_and_wait()
        log.info("scheduler stopped", extra={"outcome": "stopped"})
        return 1 if self.lock_lost else 0

    def _start_and_wait(self) -> None:
        try:
            if not self._stopping.is_set():
                self.scheduler.start()  # blocks until shutdown
        finally:
            self._main_done.set()
            with self._guard:
                stopper = self._stopper
            if stopper is not None:
                stopper.join()  # returns once the running job has finished

    def _log_jobs(self) -> None:
        now = datetime.now(zone_of(self.settings))
        crons = {spec.id: spec.cron for spec in job_specs(self.settings)}
        for job in self.scheduler.get_jobs():
            # not started yet: only catch-up jobs carry a next_run_time so far
            next_run = getattr(job, "next_run_time", None) or job.trigger.get_next_fire_time(
                None, now
            )
            log.info(
                "scheduled %s (%s %s), next run %s",
                job.id,
                crons.get(job.id),
                self.settings.timezone,
                f"{next_run:%Y-%m-%d %H:%M %Z}",
                extra={"job": job.id, "next_run": next_run},
            )

    def stop(self, reason: str = "stop requested") -> None:
        """Take no new jobs, let the running one finish, then make run() return."""
        with self._guard:
            if self._stopper is not None:
                return
            self._stopping.set()
            log.info(
                "stopping (%s): waiting for the running job to finish",
                reason,
                extra={"outcome": "stopping"},
            )
            self._stopper = threading.Thread(
                target=self._shutdown, name="scheduler-stop", daemon=True
            )
            self._stopper.start()

    def _shutdown(self) -> None:
        # stop() may come before start() has switched the scheduler on: wait for either
        while not self._main_done.is_set():
            if self.scheduler is not None and self.scheduler.running:
                with contextlib.suppress(SchedulerNotRunningError):
                    self.scheduler.shutdown(wait=True)
                return
            time.sleep(0.02)

    def _lost(self, reason: str) -> None:
        self.lock_lost = True
        self.stop(f"lock lost: {reason}")

    @contextlib.contextmanager
    def _signals(self, install: bool) -> Iterator[None]:
        if not install or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        for sig in previous:
            signal.signal(sig, self._on_signal)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self._stopper is not None:
            # a second signal: do not wait; the open transaction is rolled back by the database
            log.warning("%s again: exiting without waiting for the running job", name)
            logging.shutdown()
            os._exit(128 + signum)
        self.stop(f"received {name}")


def run_scheduler(
    settings: Settings,
    engine: Engine,
    config_path: Path | str,
    *,
    clock: Callable[[], datetime] = utcnow,
    jobs: JobFunctions | None = None,
    install_signals: bool = True,
) -> int:
    """The blocking entry point of `digest schedule`: lock, catch up, run until a signal.

    Raises digest.store.locks.LockHeldError (a StoreError) when another scheduler runs.
    Returns 0 after SIGTERM/SIGINT, 1 if the lock was lost while running.
    """
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # our jobs log one line each; APScheduler's own per-run lines would double them
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    service = SchedulerService(settings, engine, config_path, clock=clock, jobs=jobs)
    return service.run(install_signals=install_signals)
