"""Single-instance lock for `digest schedule`, and the run state its catch-up reads.

Two schedulers on one database would run every job twice (APScheduler has no
interprocess synchronisation), so `digest schedule` takes a lock before it starts:

* PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a dedicated
  connection held for the life of the process. The server releases it when that
  connection ends, so a killed scheduler never leaves it behind.
* SQLite (and anything else): a row in `scheduler_lock` naming the holder (a random id),
  its pid and host, with a heartbeat refreshed by a background thread. A row whose
  heartbeat is older than `stale_after`, or whose pid is gone on this same host, is
  taken over, so a stale row from a killed process blocks nobody for long.

Both backends use the heartbeat thread: on PostgreSQL it checks the lock connection is
still alive. If the lock is lost, `on_lost` is called so the scheduler can stop.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType

from sqlalchemy import delete, func, insert, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from digest.errors import StoreError
from digest.model import Digest, FetchRun, SchedulerLock, utcnow

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

DEFAULT_HEARTBEAT_SECONDS = 30.0
STALE_HEARTBEATS = 3  # a row is stale after this many missed heartbeats
_PG_APP_NAME_MAX = 63  # PostgreSQL truncates application_name to NAMEDATALEN - 1


@dataclass(frozen=True, slots=True)
class LockOptions:
    heartbeat_interval: float | None = DEFAULT_HEARTBEAT_SECONDS  # None: no heartbeat thread
    on_lost: Callable[[str], None] | None = None


@dataclass(frozen=True, slots=True)
class LockHolder:
    """Who holds a scheduler lock, as far as the database can tell."""

    holder: str
    pid: int | None
    hostname: str | None
    heartbeat_at: datetime | None = None  # SQLite: last heartbeat; PostgreSQL: session start

    def describe(self) -> str:
        where = f"pid {self.pid} on {self.hostname}" if self.hostname else f"pid {self.pid}"
        since = f", last seen {self.heartbeat_at:%Y-%m-%d %H:%M:%S %Z}" if self.heartbeat_at else ""
        return f"{self.holder} ({where}{since})"


class LockHeldError(StoreError):
    """Another process holds the lock (the scheduler's, or a step's); `holder` says who."""

    def __init__(self, name: str, holder: LockHolder | None) -> None:
        self.name = name
        self.holder = holder
        who = holder.describe() if holder else "an unknown process"
        if name == "scheduler":
            message = (
                f"another `digest schedule` is already running on this database: {who}. "
                "Run one scheduler per database; stop the other one first."
            )
        else:
            message = (
                f"another process is already doing `{name}` on this database: {who}. "
                "Try again when it has finished."
            )
        super().__init__(message)


def _this_host() -> str:
    return socket.gethostname()


def _pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host (EPERM means it does)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True  # unknown: err on the side of not stealing a live lock
    return True


# Holder ids of locks taken by this very process: a row with our own pid but a holder id
# not in here was left by an earlier process that had the same pid (container restarts).
_HELD_HERE: set[str] = set()
_HELD_HERE_GUARD = threading.Lock()


class Lock:
    """A held scheduler lock; a context manager. `release()` is safe to call twice."""

    def __init__(self, engine: Engine, name: str, holder: str, options: LockOptions) -> None:
        self.engine = engine
        self.name = name
        self.holder = holder
        self.lost = threading.Event()
        self._on_lost = options.on_lost
        self._interval = options.heartbeat_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._released = False

    # -- backend hooks
    def heartbeat(self) -> bool:
        """Refresh the lock; False when it is no longer ours."""
        raise NotImplementedError

    def _release_backend(self) -> None:
        raise NotImplementedError

    # -- lifecycle
    def start_heartbeat(self) -> None:
        if self._interval is None or self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._beat_forever, name=f"lock-heartbeat-{self.name}", daemon=True
        )
        self._thread.start()

    def _beat_forever(self) -> None:
        assert self._interval is not None
        while not self._stop.wait(self._interval):
            try:
                still_ours = self.heartbeat()
            except SQLAlchemyError as exc:  # busy or briefly unreachable: try again next beat
                log.warning("scheduler lock heartbeat failed: %s", exc)
                continue
            if not still_ours:
                self._mark_lost("the scheduler lock was taken over or its connection ended")
                return

    def _mark_lost(self, reason: str) -> None:
        if self.lost.is_set():
            return
        self.lost.set()
        log.error("%s", reason, extra={"lock": self.name, "holder": self.holder})
        if self._on_lost is not None:
            self._on_lost(reason)

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        try:
            self._release_backend()
        except SQLAlchemyError as exc:  # the lock expires (SQLite) or dies with us (PostgreSQL)
            log.warning("could not release the scheduler lock cleanly: %s", exc)
        with _HELD_HERE_GUARD:
            _HELD_HERE.discard(self.holder)

    def __enter__(self) -> Lock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


# ------------------------------------------------------------------ PostgreSQL


def advisory_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a lock name."""
    digest = hashlib.blake2b(f"digest:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresLock(Lock):
    def __init__(
        self, engine: Engine, name: str, holder: str, options: LockOptions, connection: Connection
    ) -> None:
        super().__init__(engine, name, holder, options)
        self._connection = connection

    def heartbeat(self) -> bool:
        try:
            self._connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def _release_backend(self) -> None:
        try:
            self._connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": advisory_key(self.name)}
            )
        finally:
            # invalidate: do not hand a connection renamed "digest-scheduler" back to the pool
            self._connection.invalidate()
            self._connection.close()


def _acquire_postgres(engine: Engine, name: str, holder: str, options: LockOptions) -> Lock:
    key = advisory_key(name)
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
        if not got.scalar():
            other = _postgres_holder(connection, key)
            raise LockHeldError(name, other)
        label = f"digest-scheduler {holder[:8]} pid {os.getpid()} on {_this_host()}"
        connection.execute(
            text("SELECT set_config('application_name', :v, false)"),
            {"v": label[:_PG_APP_NAME_MAX]},
        )
    except BaseException:
        connection.invalidate()
        connection.close()
        raise
    return PostgresLock(engine, name, holder, options, connection)


def _postgres_holder(connection: Connection, key: int) -> LockHolder | None:
    """The session holding advisory lock `key` (pg_locks splits a bigint key in two)."""
    row = connection.execute(
        text(
            "SELECT a.pid, a.application_name, a.client_addr::text, a.backend_start "
            "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.classid::bigint = :hi AND l.objid::bigint = :lo"
        ),
        {"hi": (key >> 32) & 0xFFFFFFFF, "lo": key & 0xFFFFFFFF},
    ).first()
    if row is None:
        return None
    pid, app_name, client, started = row
    return LockHolder(
        holder=app_name or f"PostgreSQL backend {pid}",
        pid=pid,
        hostname=f"server backend, client {client or 'local socket'}",
        heartbeat_at=started,
    )


# ------------------------------------------------------------------ SQLite (lock row)


class RowLock(Lock):
    def __init__(
        self, engine: Engine, name: str, holder: str, options: LockOptions, clock: Clock
    ) -> None:
        super().__init__(engine, name, holder, options)
        self._clock = clock

    def heartbeat(self) -> bool:
        with self.engine.begin() as connection:
            result = connection.execute(
                update(SchedulerLock)
                .where(
                    col(SchedulerLock.name) == self.name, col(SchedulerLock.holder) == self.holder
                )
                .values(heartbeat_at=self._clock())
            )
        return bool(result.rowcount)

    def _release_backend(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(SchedulerLock).where(
                    col(SchedulerLock.name) == self.name, col(SchedulerLock.holder) == self.holder
                )
            )


def _row_holder(row: SchedulerLock) -> LockHolder:
    return LockHolder(
        holder=row.holder, pid=row.pid, hostname=row.hostname, heartbeat_at=row.heartbeat_at
    )


def is_stale(
    row: SchedulerLock,
    now: datetime,
    stale_after: timedelta,
    host: str,
    alive: Callable[[int], bool] = _pid_alive,
) -> str | None:
    """Why a lock row may be taken over, or None while its holder looks alive."""
    if now - row.heartbeat_at > stale_after:
        return f"no heartbeat for {int((now - row.heartbeat_at).total_seconds())} s"
    if row.hostname == host:
        if row.pid == os.getpid():
            with _HELD_HERE_GUARD:
                if row.holder not in _HELD_HERE:
                    return "left by an earlier process with our pid"
        elif not alive(row.pid):
            return f"pid {row.pid} is not running"
    return None


def _acquire_row(
    engine: Engine,
    name: str,
    holder: str,
    options: LockOptions,
    *,
    clock: Clock,
    stale_after: timedelta,
) -> Lock:
    host, pid, now = _this_host(), os.getpid(), clock()
    values = {"name": name, "holder": holder, "pid": pid, "hostname": host, "heartbeat_at": now}
    try:
        with engine.begin() as connection:
            connection.execute(insert(SchedulerLock).values(**values))
        return RowLock(engine, name, holder, options, clock)
    except IntegrityError:
        pass  # a row exists: see whether its holder is gone
    with Session(engine) as session:
        row = session.get(SchedulerLock, name)
        if row is None:  # released between our insert and our read: try once more
            return _acquire_row(engine, name, holder, options, clock=clock, stale_after=stale_after)
        session.expunge(row)
    reason = is_stale(row, now, stale_after, host)
    if reason is None:
        raise LockHeldError(name, _row_holder(row))
    # Compare-and-swap on the old holder id: of two processes taking over, one wins.
    with engine.begin() as connection:
        taken = connection.execute(
            update(SchedulerLock)
            .where(col(SchedulerLock.name) == name, col(SchedulerLock.holder) == row.holder)
            .values(**values)
        ).rowcount
    if not taken:
        raise LockHeldError(name, current_holder(engine, name))
    log.warning(
        "took over a stale scheduler lock from %s: %s",
        _row_holder(row).describe(),
        reason,
        extra={"lock": name, "previous_holder": row.holder},
    )
    return RowLock(engine, name, holder, options, clock)


# ------------------------------------------------------------------ public


def acquire_scheduler_lock(
    engine: Engine,
    name: str = "scheduler",
    *,
    clock: Clock = utcnow,
    heartbeat_interval: float | None = DEFAULT_HEARTBEAT_SECONDS,
    stale_after: timedelta | None = None,
    on_lost: Callable[[str], None] | None = None,
) -> Lock:
    """Take the single-instance lock or raise LockHeldError naming the holder.

    Use as `with acquire_scheduler_lock(engine) as lock: ...`. `heartbeat_interval=None`
    starts no heartbeat thread (tests call `lock.heartbeat()` themselves). `stale_after`
    defaults to 3 heartbeat intervals (SQLite only; PostgreSQL needs no staleness rule).
    """
    holder = uuid.uuid4().hex
    interval = heartbeat_interval or DEFAULT_HEARTBEAT_SECONDS
    stale = stale_after or timedelta(seconds=STALE_HEARTBEATS * interval)
    options = LockOptions(heartbeat_interval=heartbeat_interval, on_lost=on_lost)
    if engine.dialect.name == "postgresql":
        lock: Lock = _acquire_postgres(engine, name, holder, options)
    else:
        lock = _acquire_row(engine, name, holder, options, clock=clock, stale_after=stale)
    with _HELD_HERE_GUARD:
        _HELD_HERE.add(holder)
    lock.start_heartbeat()
    return lock


def current_holder(engine: Engine, name: str = "scheduler") -> LockHolder | None:
    """Who holds the scheduler lock now (for `digest status`), or None."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            return _postgres_holder(connection, advisory_key(name))
    with Session(engine) as session:
        row = session.get(SchedulerLock, name)
        return _row_holder(row) if row is not None else None


# ------------------------------------------------------------------ run state for catch-up


def last_fetch_starts(engine: Engine) -> dict[str, datetime]:
    """The start time of each source's most recent fetch run (any outcome)."""
    with Session(engine) as session:
        rows = session.exec(
            select(FetchRun.source, func.max(FetchRun.started_at)).group_by(FetchRun.source)
        ).all()
    return {source: started for source, started in rows if started is not None}


def built_weeks(engine: Engine) -> set[str]:
    """ISO weeks that have a built digest."""
    with Session(engine) as session:
        return set(session.exec(select(Digest.week)).all())
