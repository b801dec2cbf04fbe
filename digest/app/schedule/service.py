"""`SchedulerService`: lock, catch up, run the cron jobs until a signal, release.

See the package docstring (`digest.app.schedule`) for the design choices.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Collection, Iterator
from datetime import datetime
from pathlib import Path
from types import FrameType

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
from sqlalchemy.engine import Engine

from digest.app.schedule.catch_up import catch_up_reasons
from digest.app.schedule.jobs import (
    RECHECK_JOB_ID,
    REVIEW_JOB_ID,
    job_specs,
    trigger_of,
    zone_of,
)
from digest.app.schedule.wrappers import JobFunctions, unless_stopping
from digest.config import Settings
from digest.model import utcnow
from digest.store.locks import acquire_scheduler_lock
from digest.store.recheck import last_recheck_start
from digest.store.runs import built_weeks, last_fetch_starts

# every scheduler module logs under one name: what operators filter the job lines by
log = logging.getLogger("digest.app.schedule")

# A job that could not start on time (the single worker was busy) still runs this late.
MISFIRE_GRACE_SECONDS = 3600


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


def build_scheduler(
    settings: Settings,
    engine: Engine,
    *,
    config_path: Path | str,
    catch_up: Collection[str] = (),
    jobs: JobFunctions | None = None,
    stopping: threading.Event | None = None,
) -> BlockingScheduler:
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
        func: Callable[..., object] = (
            jobs.fetch
            if spec.source is not None
            else jobs.review
            if spec.id == REVIEW_JOB_ID
            else jobs.recheck
            if spec.id == RECHECK_JOB_ID
            else jobs.weekly
        )
        args = [config, database_url] + ([spec.source] if spec.source else [])
        when = {"next_run_time": start_now} if spec.id in catch_up else {}
        scheduler.add_job(
            unless_stopping(func, spec.id, stopping),
            trigger=trigger_of(spec, settings),
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
        self.scheduler: BlockingScheduler | None = None
        self.lock_lost = False
        self._stopper: threading.Thread | None = None
        self._guard = threading.RLock()
        self._stopping = threading.Event()
        self._main_done = threading.Event()

    def run(self, *, install_signals: bool = True) -> int:
        """Block until stopped; 0 after a requested stop, 1 if the lock was lost."""
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
                last_recheck=last_recheck_start(self.engine),
            )
            for job_id, why in reasons:
                log.info(
                    "catch-up: running %s now: %s",
                    job_id,
                    why,
                    extra={"job": job_id, "outcome": "catch-up"},
                )
            scheduler = self.scheduler = build_scheduler(
                self.settings,
                self.engine,
                config_path=self.config_path,
                catch_up={job_id for job_id, _ in reasons},
                jobs=self.jobs,
                stopping=self._stopping,
            )
            with self._signals(install_signals):
                self._log_jobs(scheduler)
                self._start_and_wait(scheduler)
        log.info("scheduler stopped", extra={"outcome": "stopped"})
        return 1 if self.lock_lost else 0

    def _start_and_wait(self, scheduler: BlockingScheduler) -> None:
        try:
            if not self._stopping.is_set():
                scheduler.start()  # blocks until shutdown
        finally:
            self._main_done.set()
            with self._guard:
                stopper = self._stopper
            if stopper is not None:
                stopper.join()  # returns once the running job has finished

    def _log_jobs(self, scheduler: BlockingScheduler) -> None:
        now = datetime.now(zone_of(self.settings))
        crons = {spec.id: spec.cron for spec in job_specs(self.settings)}
        for job in scheduler.get_jobs():
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
