"""Single-instance lock for `digest schedule`: `acquire_scheduler_lock` and `current_holder`.

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

The shared parts are in `lock_core`, the backends in `advisory_lock` and `row_lock`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.engine import Engine

from digest.model import utcnow
from digest.store.advisory_lock import acquire_postgres, advisory_key, postgres_holder
from digest.store.lock_core import (
    DEFAULT_HEARTBEAT_SECONDS,
    HELD_HERE,
    HELD_HERE_GUARD,
    STALE_HEARTBEATS,
    Clock,
    Lock,
    LockHolder,
    LockOptions,
)
from digest.store.row_lock import acquire_row, current_row_holder

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
        lock: Lock = acquire_postgres(engine, name, holder, options)
    else:
        lock = acquire_row(engine, name, holder, options, clock=clock, stale_after=stale)
    with HELD_HERE_GUARD:
        HELD_HERE.add(holder)
    lock.start_heartbeat()
    return lock


def current_holder(engine: Engine, name: str = "scheduler") -> LockHolder | None:
    """Who holds the scheduler lock now (for `digest status`), or None."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            return postgres_holder(connection, advisory_key(name))
    return current_row_holder(engine, name)
