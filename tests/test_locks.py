"""The single-instance scheduler lock on real SQLite files and a real PostgreSQL database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from digest.errors import StoreError
from digest.model import Digest, FetchRun, SchedulerLock
from digest.store.advisory_lock import advisory_key
from digest.store.db import make_engine, migrate
from digest.store.lock_core import LockHeldError
from digest.store.locks import acquire_scheduler_lock, current_holder
from digest.store.runs import built_weeks, last_fetch_starts

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

# A process that takes the lock, says so, and holds it until killed.
HOLDER_SCRIPT = """
import sys, time
from digest.store.db import make_engine
from digest.store.locks import acquire_scheduler_lock
lock = acquire_scheduler_lock(make_engine(sys.argv[1]), heartbeat_interval=0.2)
print("locked", flush=True)
time.sleep(120)
"""


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'digest.db'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


@pytest.fixture
def engines(sqlite_url: str) -> Iterator[tuple[Engine, Engine]]:
    """Two engines on one SQLite file: two would-be schedulers."""
    first, second = make_engine(sqlite_url), make_engine(sqlite_url)
    yield first, second
    first.dispose()
    second.dispose()


def lock_rows(engine: Engine) -> list[SchedulerLock]:
    with Session(engine) as session:
        return list(session.exec(select(SchedulerLock)).all())


def put_row(engine: Engine, **values: object) -> None:
    row = {
        "name": "scheduler",
        "holder": "old-holder",
        "pid": os.getpid(),
        "hostname": socket.gethostname(),
        "heartbeat_at": T0,
        **values,
    }
    with Session(engine) as session:
        session.add(SchedulerLock(**row))
        session.commit()


@pytest.fixture
def holder_process() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def start_holder(url: str, procs: list[subprocess.Popen[str]]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER_SCRIPT, url],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    procs.append(proc)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


# ------------------------------------------------------------------ SQLite


def test_second_scheduler_is_refused_and_told_who_holds_the_lock(
    engines: tuple[Engine, Engine],
) -> None:
    first, second = engines
    with acquire_scheduler_lock(first, heartbeat_interval=None) as lock:
        with pytest.raises(LockHeldError) as refused:
            acquire_scheduler_lock(second, heartbeat_interval=None)
        message = str(refused.value)
        assert lock.holder in message
        assert f"pid {os.getpid()} on {socket.gethostname()}" in message
        assert isinstance(refused.value, StoreError)
        assert refused.value.holder is not None and refused.value.holder.pid == os.getpid()
        assert [r.holder for r in lock_rows(second)] == [lock.holder]
    assert lock_rows(first) == []  # released on exit ...
    with acquire_scheduler_lock(second, heartbeat_interval=None):  # ... so the next one starts
        pass


def test_second_process_is_refused_then_takes_over_after_a_kill(
    sqlite_url: str, holder_process: list[subprocess.Popen[str]]
) -> None:
    proc = start_holder(sqlite_url, holder_process)
    engine = make_engine(sqlite_url)
    with pytest.raises(LockHeldError) as refused:
        acquire_scheduler_lock(engine, heartbeat_interval=None)
    assert refused.value.holder is not None and refused.value.holder.pid == proc.pid
    assert f"pid {proc.pid}" in str(refused.value)

    proc.send_signal(signal.SIGKILL)  # no chance to release: the row stays behind
    proc.wait(timeout=10)
    assert [r.pid for r in lock_rows(engine)] == [proc.pid]
    with acquire_scheduler_lock(engine, heartbeat_interval=None) as lock:
        assert [(r.holder, r.pid) for r in lock_rows(engine)] == [(lock.holder, os.getpid())]
    engine.dispose()


def test_row_of_a_dead_pid_on_this_host_is_taken_over(engines: tuple[Engine, Engine]) -> None:
    engine, _ = engines
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    put_row(engine, pid=dead.pid, heartbeat_at=T0)  # heartbeat fresh: only the pid is dead
    with acquire_scheduler_lock(engine, clock=Clock(T0), heartbeat_interval=None) as lock:
        assert lock_rows(engine)[0].holder == lock.holder


def test_row_left_by_an_earlier_process_with_our_pid_is_taken_over(
    engines: tuple[Engine, Engine],
) -> None:
    engine, _ = engines
    put_row(engine, pid=os.getpid(), holder="before-container-restart")
    with acquire_scheduler_lock(engine, clock=Clock(T0), heartbeat_interval=None) as lock:
        assert lock_rows(engine)[0].holder == lock.holder


@pytest.mark.parametrize(
    ("age", "taken_over"),
    [
        (timedelta(seconds=30), False),
        (timedelta(seconds=89), False),
        (timedelta(seconds=91), True),
        (timedelta(days=3), True),
    ],
)
def test_row_from_another_host_is_taken_over_only_when_its_heartbeat_is_stale(
    engines: tuple[Engine, Engine], age: timedelta, taken_over: bool
) -> None:
    engine, _ = engines
    put_row(engine, hostname="other-host", pid=1, heartbeat_at=T0 - age)
    clock = Clock(T0)
    if taken_over:  # default staleness: 3 x 30 s heartbeats
        with acquire_scheduler_lock(engine, clock=clock, heartbeat_interval=None) as lock:
            assert lock_rows(engine)[0].holder == lock.holder
    else:
        with pytest.raises(LockHeldError, match="other-host"):
            acquire_scheduler_lock(engine, clock=clock, heartbeat_interval=None)
        assert lock_rows(engine)[0].holder == "old-holder"


def test_heartbeat_refreshes_the_row_and_notices_a_takeover(
    engines: tuple[Engine, Engine],
) -> None:
    first, second = engines
    clock = Clock(T0)
    lock = acquire_scheduler_lock(first, clock=clock, heartbeat_interval=None)
    clock.now = T0 + timedelta(seconds=30)
    assert lock.heartbeat()
    assert lock_rows(first)[0].heartbeat_at == T0 + timedelta(seconds=30)

    # the process stalls for 2 minutes; another scheduler finds the lock stale
    clock.now = T0 + timedelta(minutes=2, seconds=30)
    other = acquire_scheduler_lock(second, clock=clock, heartbeat_interval=None)
    assert not lock.heartbeat()
    lock.release()  # does not delete the new holder's row
    assert [r.holder for r in lock_rows(first)] == [other.holder]
    other.release()


def test_heartbeat_thread_reports_a_lost_lock(engines: tuple[Engine, Engine]) -> None:
    engine, _ = engines
    lost = threading.Event()
    reasons: list[str] = []

    def on_lost(reason: str) -> None:
        reasons.append(reason)
        lost.set()

    lock = acquire_scheduler_lock(engine, heartbeat_interval=0.05, on_lost=on_lost)
    with Session(engine) as session:  # someone else's row now
        row = session.get(SchedulerLock, "scheduler")
        assert row is not None
        row.holder = "intruder"
        session.add(row)
        session.commit()
    assert lost.wait(5)
    assert lock.lost.is_set() and "taken over" in reasons[0]
    lock.release()


def test_heartbeat_thread_keeps_the_row_fresh(engines: tuple[Engine, Engine]) -> None:
    engine, _ = engines
    clock = Clock(T0)
    with acquire_scheduler_lock(engine, clock=clock, heartbeat_interval=0.05):
        clock.now = T0 + timedelta(hours=1)
        deadline = time.monotonic() + 5
        while lock_rows(engine)[0].heartbeat_at != clock.now and time.monotonic() < deadline:
            time.sleep(0.02)
        assert lock_rows(engine)[0].heartbeat_at == clock.now


# ------------------------------------------------------------------ PostgreSQL


@pytest.fixture
def pg_url(pg_database_url: str) -> str:
    engine = make_engine(pg_database_url)
    migrate(engine)
    engine.dispose()
    return pg_database_url


@pytest.mark.postgres
def test_postgres_second_engine_is_refused_while_the_advisory_lock_is_held(pg_url: str) -> None:
    first, second = make_engine(pg_url), make_engine(pg_url)
    try:
        with acquire_scheduler_lock(first, heartbeat_interval=None) as lock:
            assert lock.heartbeat()
            with pytest.raises(LockHeldError) as refused:
                acquire_scheduler_lock(second, heartbeat_interval=None)
            assert f"digest-scheduler {lock.holder[:8]} pid {os.getpid()}" in str(refused.value)
            holder = current_holder(second)
            assert holder is not None and holder.holder.startswith("digest-scheduler")
            assert lock_rows(second) == []  # PostgreSQL needs no lock row
        assert current_holder(second) is None
        with acquire_scheduler_lock(second, heartbeat_interval=None):
            pass
    finally:
        first.dispose()
        second.dispose()


@pytest.mark.postgres
def test_postgres_lock_of_a_killed_process_is_released_by_the_server(
    pg_url: str, holder_process: list[subprocess.Popen[str]]
) -> None:
    proc = start_holder(pg_url, holder_process)
    engine = make_engine(pg_url)
    try:
        with pytest.raises(LockHeldError, match=f"pid {proc.pid}"):
            acquire_scheduler_lock(engine, heartbeat_interval=None)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10  # the server notices the closed socket at once
        while True:
            try:
                lock = acquire_scheduler_lock(engine, heartbeat_interval=None)
                break
            except LockHeldError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        lock.release()
    finally:
        engine.dispose()


def test_advisory_key_is_stable_and_fits_a_bigint() -> None:
    key = advisory_key("scheduler")
    assert key == advisory_key("scheduler") != advisory_key("other")
    assert -(2**63) <= key < 2**63


# ------------------------------------------------------------------ run state (both backends)


def test_run_state_for_catch_up(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        for source, minutes in [("a", 0), ("a", 30), ("b", 10)]:
            session.add(
                FetchRun(
                    source=source,
                    kind="pubmed",
                    outcome="ok",
                    started_at=T0 + timedelta(minutes=minutes),
                )
            )
        session.add(Digest(week="2026-W46"))
        session.add(Digest(week="2026-W47"))
        session.commit()
    assert last_fetch_starts(db_engine) == {
        "a": T0 + timedelta(minutes=30),
        "b": T0 + timedelta(minutes=10),
    }
    assert built_weeks(db_engine) == {"2026-W46", "2026-W47"}
