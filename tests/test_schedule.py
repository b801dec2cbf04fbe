"""`digest schedule`: triggers from sources.yaml, catch-up after downtime, single instance,
and a clean stop on SIGTERM in the middle of a real fetch (a subprocess against SQLite)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from digest.app.schedule.catch_up import plan_catch_up
from digest.app.schedule.jobs import WEEKLY_JOB_ID, describe_jobs, format_job_list, next_fire_times
from digest.app.schedule.service import SchedulerService, build_scheduler
from digest.app.schedule.wrappers import JobFunctions, fetch_job, weekly_job
from digest.config import Settings
from digest.cron import crontab_day_of_week, crontab_trigger, previous_fire_time
from digest.errors import ConfigError
from digest.model import Digest, FetchRun, Record, SchedulerLock
from digest.store.db import make_engine, migrate
from digest.store.lock_core import LockHeldError
from digest.weeks import last_complete_week
from tests.conftest import MINIMAL_TOPICS, ROOT, make_settings

LONDON = ZoneInfo("Europe/London")
# Wednesday 25 Nov 2026, noon in London (GMT): the week 2026-W47 ended on Sunday the 22nd.
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=LONDON)

SOURCES = """\
  - name: pubmed-daily
    kind: pubmed
    query: acupuncture AND pain
    schedule: "15 5 * * *"
  - name: trials-weekdays
    kind: clinicaltrials
    intr: acupuncture
    schedule: "30 5 * * 1-5"
  - name: rss-sundays
    kind: rss
    url: https://example.org/feed
    schedule: "0 7 * * 0"
  - name: rss-off
    kind: rss
    url: https://example.org/other
    enabled: false
    schedule: "0 7 * * *"
"""
EXTRA = 'timezone: Europe/London\ndigest:\n  schedule: "0 6 * * 1"\n'


def settings_for(
    database_url: str = "sqlite:///unused.db", sources: str = SOURCES, extra: str = EXTRA
) -> Settings:
    return make_settings(database_url, sources, extra)


# ------------------------------------------------------------------ triggers from the config


def test_next_fire_times_follow_the_crontab_lines_in_the_configured_zone() -> None:
    fires = next_fire_times(settings_for(), NOW)
    assert fires == {
        "pubmed-daily": datetime(2026, 11, 26, 5, 15, tzinfo=LONDON),
        "trials-weekdays": datetime(2026, 11, 26, 5, 30, tzinfo=LONDON),  # Thursday
        "rss-sundays": datetime(2026, 11, 29, 7, 0, tzinfo=LONDON),  # crontab 0 = Sunday
        WEEKLY_JOB_ID: datetime(2026, 11, 30, 6, 0, tzinfo=LONDON),  # crontab 1 = Monday
        "recheck": datetime(2026, 11, 26, 4, 30, tzinfo=LONDON),  # the daily re-check
    }
    assert "rss-off" not in fires
    assert fires["rss-sundays"].strftime("%A") == "Sunday"
    assert fires[WEEKLY_JOB_ID].strftime("%A") == "Monday"


def test_fire_times_keep_local_wall_time_across_the_dst_change() -> None:
    # Europe/London leaves summer time on Sunday 25 Oct 2026 at 01:00 UTC:
    # 05:15 local is 04:15 UTC on the 24th and 05:15 UTC on the 25th
    before = datetime(2026, 10, 23, 12, 0, tzinfo=UTC)
    first = next_fire_times(settings_for(), before)["pubmed-daily"]
    second = next_fire_times(settings_for(), first + timedelta(minutes=1))["pubmed-daily"]
    assert first.astimezone(UTC) == datetime(2026, 10, 24, 4, 15, tzinfo=UTC)
    assert second.astimezone(UTC) == datetime(2026, 10, 25, 5, 15, tzinfo=UTC)


def test_job_list_shows_every_job_with_its_next_run() -> None:
    jobs = describe_jobs(settings_for(), NOW)
    assert [j.id for j in jobs] == [
        "fetch:pubmed-daily",
        "fetch:trials-weekdays",
        "fetch:rss-sundays",
        "fetch:rss-off",
        WEEKLY_JOB_ID,
        "recheck",
    ]
    assert [j.enabled for j in jobs] == [True, True, True, False, True, True]
    assert jobs[3].next_run_time is None
    table = format_job_list(jobs).splitlines()
    assert table[0].split() == ["JOB", "SCHEDULE", "NEXT", "RUN", "WHAT"]
    assert table[1].startswith("fetch:pubmed-daily")
    assert "15 5 * * * (Europe/London)" in table[1] and "2026-11-26 05:15 GMT" in table[1]
    assert "disabled" in table[4]
    assert table[5].startswith("weekly") and "2026-11-30 06:00 GMT" in table[5]
    assert "email off" in table[5]
    assert table[6].startswith("recheck") and "30 4 * * * (Europe/London)" in table[6]
    assert "re-check sent studies" in table[6]


def test_scheduler_has_one_cron_job_per_enabled_source_and_the_weekly() -> None:
    calls: list[tuple[Any, ...]] = []
    jobs = JobFunctions(fetch=lambda *a: calls.append(a), weekly=lambda *a: calls.append(a))
    settings = settings_for()
    engine = make_engine("sqlite://")
    scheduler = build_scheduler(settings, engine, config_path="sources.yaml", jobs=jobs)
    pending = {job.id: job for job in scheduler.get_jobs()}
    assert set(pending) == {
        "fetch:pubmed-daily",
        "fetch:trials-weekdays",
        "fetch:rss-sundays",
        WEEKLY_JOB_ID,
        "recheck",
    }
    assert pending["recheck"].args == (str(Path("sources.yaml").resolve()), "sqlite://")
    daily = pending["fetch:pubmed-daily"]
    assert daily.args == (str(Path("sources.yaml").resolve()), "sqlite://", "pubmed-daily")
    assert pending[WEEKLY_JOB_ID].args == (str(Path("sources.yaml").resolve()), "sqlite://")
    assert str(daily.trigger.timezone) == "Europe/London"
    assert daily.trigger.get_next_fire_time(None, NOW) == datetime(
        2026, 11, 26, 5, 15, tzinfo=LONDON
    )
    # not started, so the jobs do not carry the defaults yet: read the scheduler's
    assert scheduler._job_defaults == {
        "misfire_grace_time": 3600,
        "coalesce": True,
        "max_instances": 1,
    }


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("*", "*"),
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0,6", "sun,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("mon-fri", "mon-fri"),
        ("mon,3", "mon,wed"),
        ("0,7", "sun"),
    ],
)
def test_crontab_weekday_numbers_are_translated_for_apscheduler(field: str, expected: str) -> None:
    assert crontab_day_of_week(field) == expected


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("0 6 1 * mon", "both day of month and day of week"),
        ("0 6 * * 9", "out of range"),
        ("0 25 * * *", "bad crontab"),
    ],
)
def test_schedules_the_scheduler_would_misread_are_refused(expr: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as refused:
        crontab_trigger(expr, LONDON, key="sources[0].schedule")
    assert refused.value.key == "sources[0].schedule"


def test_previous_fire_time_looks_back_within_the_horizon() -> None:
    daily = crontab_trigger("15 5 * * *", LONDON)
    assert previous_fire_time(daily, NOW, timedelta(days=7)) == datetime(
        2026, 11, 25, 5, 15, tzinfo=LONDON
    )
    monthly = crontab_trigger("0 7 1 * *", LONDON)
    assert previous_fire_time(monthly, NOW, timedelta(days=7)) is None
    assert previous_fire_time(monthly, NOW, timedelta(days=40)) == datetime(
        2026, 11, 1, 7, 0, tzinfo=LONDON
    )
    every_minute = crontab_trigger("* * * * *", LONDON)
    assert previous_fire_time(every_minute, NOW + timedelta(seconds=30), timedelta(days=7)) == NOW


# ------------------------------------------------------------------ catch-up planning


def test_weekly_is_caught_up_once_after_weeks_of_downtime() -> None:
    # down since 2 Nov: the runs of 9, 16 and 23 Nov were missed; only W47 is built, once
    built = {"2026-W43", "2026-W44"}
    plan = plan_catch_up(
        settings_for(), {"pubmed-daily": datetime(2026, 11, 2, tzinfo=UTC)}, built, NOW
    )
    assert plan == [WEEKLY_JOB_ID]  # the weekly fetches every source itself


def test_missed_fetches_are_coalesced_to_one_run_each() -> None:
    three_days_ago = NOW - timedelta(days=3)
    last = {
        "pubmed-daily": three_days_ago,
        "trials-weekdays": three_days_ago,
        "rss-sundays": three_days_ago,
    }
    plan = plan_catch_up(settings_for(), last, {"2026-W47"}, NOW)
    # daily and weekday fetches missed 3 runs each: one run each. rss-sundays last fired on
    # Sunday 22 Nov at 07:00 and last ran that day at noon: not due.
    assert plan == ["fetch:pubmed-daily", "fetch:trials-weekdays"]


def test_nothing_is_caught_up_when_every_job_ran_after_its_last_fire_time() -> None:
    ran = NOW - timedelta(hours=1)
    last = {"pubmed-daily": ran, "trials-weekdays": ran, "rss-sundays": ran}
    assert plan_catch_up(settings_for(), last, {"2026-W47"}, NOW) == []


def test_sources_never_run_are_fetched_at_first_start() -> None:
    plan = plan_catch_up(settings_for(), {}, {"2026-W47"}, NOW)
    assert plan == ["fetch:pubmed-daily", "fetch:trials-weekdays", "fetch:rss-sundays"]


def test_weekly_is_not_run_early_before_its_own_fire_time() -> None:
    # Monday 30 Nov 05:00: W48 has ended but its run is due at 06:00; W47 is a week late
    monday_early = datetime(2026, 11, 30, 5, 0, tzinfo=LONDON)
    ran = monday_early - timedelta(hours=1)
    last = {"pubmed-daily": ran, "trials-weekdays": ran, "rss-sundays": ran}
    assert plan_catch_up(settings_for(), last, set(), monday_early) == []
    assert plan_catch_up(settings_for(), last, set(), monday_early + timedelta(hours=2)) == [
        WEEKLY_JOB_ID
    ]


def test_missed_fire_times_older_than_the_grace_are_left_to_the_next_run() -> None:
    settings = settings_for(
        sources="  - name: monthly\n    kind: rss\n    url: https://x.org/f\n"
        '    schedule: "0 7 1 * *"\n'
    )
    assert plan_catch_up(settings, {}, {"2026-W47"}, NOW) == []
    assert plan_catch_up(settings, {}, {"2026-W47"}, NOW, fetch_grace=timedelta(days=30)) == [
        "fetch:monthly"
    ]


# ------------------------------------------------------------------ the service (in a thread)


class Recorder:
    """Fake jobs: record each call, with the ability to be slow."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[str] = []
        self.delay = delay
        self.finished: list[str] = []
        self.called = threading.Event()

    def fetch(self, _config: str, _url: str, source: str) -> None:
        self._run(f"fetch:{source}")

    def weekly(self, _config: str, _url: str) -> None:
        self._run(WEEKLY_JOB_ID)

    def _run(self, job_id: str) -> None:
        self.calls.append(job_id)
        self.called.set()
        time.sleep(self.delay)
        self.finished.append(job_id)

    def functions(self) -> JobFunctions:
        return JobFunctions(fetch=self.fetch, weekly=self.weekly)


@pytest.fixture
def migrated(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'digest.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def add_history(engine: Engine, *, runs: dict[str, datetime], weeks: set[str]) -> None:
    with Session(engine) as session:
        for source, started in runs.items():
            session.add(
                FetchRun(
                    source=source,
                    kind="pubmed",
                    outcome="ok",
                    started_at=started,
                    finished_at=started,
                )
            )
        for week in weeks:
            session.add(Digest(week=week))
        session.commit()


class Running:
    """A SchedulerService running in a background thread."""

    def __init__(self, service: SchedulerService) -> None:
        self.service = service
        self.result: list[int] = []
        self.thread = threading.Thread(
            target=lambda: self.result.append(service.run(install_signals=False)), daemon=True
        )
        self.thread.start()

    def stop(self) -> int:
        self.service.stop("test")
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()
        return self.result[0]


def wait_for(condition: Any, timeout: float = 5.0, explain: Any = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out {explain()}"
        time.sleep(0.01)


def test_service_runs_the_missed_weekly_once_after_a_gap(migrated: Engine) -> None:
    add_history(
        migrated, runs={"pubmed-daily": datetime(2026, 11, 2, tzinfo=UTC)}, weeks={"2026-W44"}
    )
    jobs = Recorder()
    running = Running(
        SchedulerService(
            settings_for(), migrated, "sources.yaml", clock=lambda: NOW, jobs=jobs.functions()
        )
    )
    assert jobs.called.wait(5)
    time.sleep(0.3)  # would a second catch-up run follow? it must not
    assert running.stop() == 0
    assert jobs.calls == [WEEKLY_JOB_ID]


def test_service_coalesces_missed_fetches_into_one_run_each(migrated: Engine) -> None:
    three_days_ago = NOW - timedelta(days=3)
    add_history(
        migrated,
        runs={
            "pubmed-daily": three_days_ago,
            "trials-weekdays": three_days_ago,
            "rss-sundays": NOW - timedelta(hours=1),
        },
        weeks={"2026-W47"},
    )
    jobs = Recorder()
    running = Running(
        SchedulerService(
            settings_for(), migrated, "sources.yaml", clock=lambda: NOW, jobs=jobs.functions()
        )
    )
    wait_for(lambda: len(jobs.finished) == 2)
    time.sleep(0.3)
    assert running.stop() == 0
    assert jobs.calls == ["fetch:pubmed-daily", "fetch:trials-weekdays"]
    with Session(migrated) as session:  # the lock row is gone after a clean stop
        assert session.exec(select(SchedulerLock)).all() == []


def test_stop_waits_for_the_running_job_and_skips_queued_ones(migrated: Engine) -> None:
    # three fetches due; the first is slow; stop while it runs: it finishes, the others skip
    add_history(migrated, runs={}, weeks={"2026-W47"})
    jobs = Recorder(delay=0.5)
    running = Running(
        SchedulerService(
            settings_for(), migrated, "sources.yaml", clock=lambda: NOW, jobs=jobs.functions()
        )
    )
    assert jobs.called.wait(5)
    started = time.monotonic()
    assert running.stop() == 0
    assert time.monotonic() - started < 3
    assert jobs.finished == jobs.calls == ["fetch:pubmed-daily"]


def test_second_service_on_the_same_database_refuses_to_start(db_engine: Engine) -> None:
    add_history(db_engine, runs={}, weeks={last_complete_week(datetime.now(LONDON).date())})
    settings = settings_for(
        sources="  - name: quiet-feed\n    kind: rss\n    url: https://x.org/f\n"
        "    enabled: false\n"
    )
    first = Running(
        SchedulerService(settings, db_engine, "sources.yaml", jobs=Recorder().functions())
    )
    wait_for(lambda: first.service.scheduler is not None and first.service.scheduler.running)
    other_engine = make_engine(db_engine.url.render_as_string(hide_password=False))
    try:
        with pytest.raises(LockHeldError, match="already running"):
            SchedulerService(settings, other_engine, "sources.yaml").run(install_signals=False)
    finally:
        other_engine.dispose()
    assert first.stop() == 0


def test_service_stops_with_status_1_when_its_lock_is_taken(migrated: Engine) -> None:
    add_history(migrated, runs={}, weeks={"2026-W47"})
    quiet = settings_for(
        sources="  - name: quiet-feed\n    kind: rss\n    url: https://x.org/f\n"
        "    enabled: false\n"
    )
    service = SchedulerService(
        quiet,
        migrated,
        "sources.yaml",
        clock=lambda: NOW,
        jobs=Recorder().functions(),
        heartbeat_seconds=0.05,
    )
    running = Running(service)
    wait_for(lambda: service.scheduler is not None and service.scheduler.running)
    with Session(migrated) as session:  # as if another scheduler had found our lock stale
        row = session.get(SchedulerLock, "scheduler")
        assert row is not None
        row.holder = "someone-else"
        session.add(row)
        session.commit()
    running.thread.join(timeout=5)
    assert running.result == [1]


# ------------------------------------------------------------------ the production jobs


def test_fetch_job_calls_operations_run_fetch_and_logs_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import digest.app.operations
    from digest.ingest.run import SourceRunResult
    from digest.store.records import SaveSummary

    seen: list[tuple[str, str, list[str]]] = []

    def fake_run_fetch(settings: Settings, engine: Engine, names: Any) -> list[SourceRunResult]:
        seen.append((settings.database_url, str(engine.url), list(names)))
        return [
            SourceRunResult(
                name="pm", kind="pubmed", outcome="ok", summary=SaveSummary(fetched=12, new=3)
            )
        ]

    monkeypatch.setattr(digest.app.operations, "run_fetch", fake_run_fetch)
    db_url = f"sqlite:///{tmp_path / 'other.db'}"
    config = write_config(
        tmp_path, "sqlite:///ignored.db", "  - name: pm\n    kind: pubmed\n    query: acupuncture\n"
    )
    caplog.set_level("INFO", logger="digest.app.schedule")
    fetch_job(str(config), db_url, "pm")
    assert seen == [(db_url, db_url, ["pm"])]  # the scheduler's database, not the file's
    [line] = [r for r in caplog.records if r.name == "digest.app.schedule"]
    assert line.message.startswith("job fetch:pm ok in ")
    fields = {k: getattr(line, k) for k in ("job", "source", "fetched", "new", "outcome")}
    assert fields == {"job": "fetch:pm", "source": "pm", "fetched": 12, "new": 3, "outcome": "ok"}
    assert isinstance(line.seconds, float)


def test_weekly_job_calls_operations_run_weekly_in_the_configured_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import digest.app.operations
    from digest.app.operations import WeeklyResult

    zones: list[str] = []

    def fake_run_weekly(settings: Settings, engine: Engine, now: datetime) -> WeeklyResult:
        zones.append(str(now.tzinfo))
        return WeeklyResult(
            week="2026-W47", written=[Path("a"), Path("b")], sent=0, failed_steps=["send"]
        )

    monkeypatch.setattr(digest.app.operations, "run_weekly", fake_run_weekly)
    config = write_config(
        tmp_path, "sqlite:///x.db", "  - name: pm\n    kind: pubmed\n    query: acupuncture\n"
    )
    config.write_text(config.read_text().replace("timezone: UTC", "timezone: Europe/London"))
    caplog.set_level("INFO", logger="digest.app.schedule")
    weekly_job(str(config), f"sqlite:///{tmp_path / 'x.db'}")
    assert zones == ["Europe/London"]
    [line] = [r for r in caplog.records if r.name == "digest.app.schedule"]
    assert line.levelname == "WARNING" and line.outcome == "failed"
    assert line.week == "2026-W47" and line.written == 2 and line.failed == ["send"]


def test_a_job_that_cannot_load_its_config_logs_an_error_and_does_not_raise(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="digest.app.schedule")
    fetch_job(str(tmp_path / "missing.yaml"), "sqlite://", "pm")
    [line] = [r for r in caplog.records if r.name == "digest.app.schedule"]
    assert line.levelname == "ERROR" and line.outcome == "error"
    assert "cannot read" in line.error


# ------------------------------------------------------------------ SIGTERM (a real process)

ESEARCH_259 = "pubmed-esearch/hawc_esearch_259_ids_complex_query.xml"
EFETCH_259 = "pubmed-efetch/hawc_efetch_259_phthalates_liver.xml"
EFETCH_DELAY = 2.5

RUNNER = """
import sys
from pathlib import Path
from digest.config import load_settings
from digest.errors import DigestError
from digest.logs import setup_logging
from digest.app.schedule.service import run_scheduler
from digest.store.db import make_engine

setup_logging("json", 1)
settings = load_settings(Path(sys.argv[1]))
try:
    code = run_scheduler(settings, make_engine(settings.database_url), sys.argv[1])
except DigestError as exc:
    print(f"error: {exc}", file=sys.stderr)
    code = 1
sys.exit(code)
"""


def write_config(tmp_path: Path, database_url: str, sources: str) -> Path:
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"database_url: {database_url}\ncontact_email: test@example.org\ntimezone: UTC\n"
        "http: {max_retries: 0, read_timeout: 15, connect_timeout: 2, default_rate_limit: 1000,"
        " rate_limits: {eutils.ncbi.nlm.nih.gov: 1000}}\n"
        f"{MINIMAL_TOPICS}\nsources:\n{sources}",
        encoding="utf-8",
    )
    return config


class Scheduler:
    """`run_scheduler` in its own process, logging JSON lines to a file."""

    def __init__(self, tmp_path: Path, config: Path, name: str = "scheduler") -> None:
        self.log_path = tmp_path / f"{name}.log"
        self._log = self.log_path.open("w")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("DIGEST_DATABASE_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", RUNNER, str(config)],
            env=env,
            cwd=tmp_path,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                out.append({"message": line})
        return out

    def wait_for_log(self, message_start: str, timeout: float = 30) -> None:
        self.wait_until(
            lambda: any(
                str(line.get("message", "")).startswith(message_start) for line in self.lines()
            ),
            timeout,
        )

    def wait_until(self, condition: Any, timeout: float = 30) -> None:
        """Wait for `condition` while the process runs; fail with its log otherwise."""
        wait_for(
            lambda: condition() or self.proc.poll() is not None,
            timeout,
            explain=lambda: self.log_path.read_text(),
        )
        assert self.proc.poll() is None, self.log_path.read_text()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def processes() -> Iterator[list[Scheduler]]:
    started: list[Scheduler] = []
    yield started
    for proc in started:
        proc.close()


def test_sigterm_during_a_fetch_lets_it_finish_and_leaves_the_database_consistent(
    tmp_path: Path, replay: Any, processes: list[Scheduler]
) -> None:
    server = replay(
        [
            {
                "path": "/entrez/eutils/esearch.fcgi",
                "responses": [{"file": ESEARCH_259, "content_type": "text/xml"}],
            },
            {
                "path": "/entrez/eutils/efetch.fcgi",
                "responses": [
                    {"file": EFETCH_259, "content_type": "text/xml", "delay": EFETCH_DELAY}
                ],
            },
        ]
    )
    db_path = tmp_path / "digest.db"
    engine = make_engine(f"sqlite:///{db_path}")
    migrate(engine)
    add_history(engine, runs={}, weeks={last_complete_week(datetime.now(UTC).date())})
    config = write_config(
        tmp_path,
        f"sqlite:///{db_path}",
        (
            "  - name: pm\n    kind: pubmed\n    query: acupuncture AND pain\n"
            f"    base_url: {server.url}/entrez/eutils\n    batch_size: 300\n"
            '    schedule: "15 5 * * *"\n'
        ),
    )
    proc = Scheduler(tmp_path, config)
    processes.append(proc)

    # the catch-up fetch of the never-run source is waiting for the delayed efetch answer
    proc.wait_until(lambda: any(r.path.endswith("efetch.fcgi") for r in server.requests), 60)
    with Session(engine) as session:
        assert [r.outcome for r in session.exec(select(FetchRun)).all()] == ["running"]
    proc.proc.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    assert proc.proc.wait(timeout=60) == 0, proc.log_path.read_text()
    exit_seconds = time.monotonic() - sent

    lines = proc.lines()
    messages = [str(line.get("message")) for line in lines]
    stopping = next(i for i, m in enumerate(messages) if m.startswith("stopping (received SIGTERM"))
    job = next(i for i, m in enumerate(messages) if m.startswith("job fetch:pm "))
    assert stopping < job  # the signal came first, the job still finished
    assert lines[job]["source"] == "pm" and lines[job]["outcome"] == "ok"
    assert lines[job]["fetched"] == 259 and isinstance(lines[job]["seconds"], float)
    # the job began before the signal, so it ended less than its own duration after it:
    # the process exits right after the job, it does not linger
    assert exit_seconds < lines[job]["seconds"] + 3

    with Session(engine) as session:
        runs = session.exec(select(FetchRun)).all()
        assert [(r.outcome, r.fetched) for r in runs] == [("ok", 259)]
        assert runs[0].finished_at is not None
        assert session.exec(select(func.count()).select_from(Record)).one() == runs[0].new > 0
        assert session.exec(select(SchedulerLock)).all() == []
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    engine.dispose()


def test_idle_scheduler_stops_at_once_and_a_second_process_is_refused(
    tmp_path: Path, processes: list[Scheduler]
) -> None:
    db_url = f"sqlite:///{tmp_path / 'digest.db'}"
    engine = make_engine(db_url)
    migrate(engine)
    add_history(engine, runs={}, weeks={last_complete_week(datetime.now(UTC).date())})
    config = write_config(
        tmp_path,
        db_url,
        "  - name: quiet-feed\n    kind: rss\n"
        "    url: https://example.org/feed\n    enabled: false\n",
    )
    first = Scheduler(tmp_path, config, "first")
    processes.append(first)
    first.wait_for_log("scheduled weekly")

    second = Scheduler(tmp_path, config, "second")
    processes.append(second)
    assert second.proc.wait(timeout=20) == 1
    refusal = second.log_path.read_text()
    assert "another `digest schedule` is already running" in refusal
    assert f"pid {first.proc.pid}" in refusal

    first.proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    assert first.proc.wait(timeout=10) == 0
    assert time.monotonic() - sent < 3
    with Session(engine) as session:
        assert session.exec(select(SchedulerLock)).all() == []
    engine.dispose()
