"""The SQLite (and anything else) scheduler lock: a `scheduler_lock` row with a heartbeat."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from digest.model import SchedulerLock
from digest.store.lock_core import (
    HELD_HERE,
    HELD_HERE_GUARD,
    Clock,
    Lock,
    LockHeldError,
    LockHolder,
    LockOptions,
    pid_alive,
    this_host,
)

log = logging.getLogger("digest.store.locks")  # the name these records always had


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


def row_holder(row: SchedulerLock) -> LockHolder:
    return LockHolder(
        holder=row.holder, pid=row.pid, hostname=row.hostname, heartbeat_at=row.heartbeat_at
    )


def current_row_holder(engine: Engine, name: str) -> LockHolder | None:
    """Who holds the lock row `name` now, or None."""
    with Session(engine) as session:
        row = session.get(SchedulerLock, name)
        return row_holder(row) if row is not None else None


def is_stale(
    row: SchedulerLock,
    now: datetime,
    stale_after: timedelta,
    host: str,
    alive: Callable[[int], bool] = pid_alive,
) -> str | None:
    """Why a lock row may be taken over, or None while its holder looks alive."""
    if now - row.heartbeat_at > stale_after:
        return f"no heartbeat for {int((now - row.heartbeat_at).total_seconds())} s"
    if row.hostname == host:
        if row.pid == os.getpid():
            with HELD_HERE_GUARD:
                if row.holder not in HELD_HERE:
                    return "left by an earlier process with our pid"
        elif not alive(row.pid):
            return f"pid {row.pid} is not running"
    return None


def acquire_row(
    engine: Engine,
    name: str,
    holder: str,
    options: LockOptions,
    *,
    clock: Clock,
    stale_after: timedelta,
) -> Lock:
    host, pid, now = this_host(), os.getpid(), clock()
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
            return acquire_row(engine, name, holder, options, clock=clock, stale_after=stale_after)
        session.expunge(row)
    reason = is_stale(row, now, stale_after, host)
    if reason is None:
        raise LockHeldError(name, row_holder(row))
    # Compare-and-swap on the old holder id: of two processes taking over, one wins.
    with engine.begin() as connection:
        taken = connection.execute(
            update(SchedulerLock)
            .where(col(SchedulerLock.name) == name, col(SchedulerLock.holder) == row.holder)
            .values(**values)
        ).rowcount
    if not taken:
        raise LockHeldError(name, current_row_holder(engine, name))
    log.warning(
        "took over a stale scheduler lock from %s: %s",
        row_holder(row).describe(),
        reason,
        extra={"lock": name, "previous_holder": row.holder},
    )
    return RowLock(engine, name, holder, options, clock)
