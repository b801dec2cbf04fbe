"""One fetch per source at a time, across processes, and what that tells about old runs.

`digest fetch` (and the scheduler's fetch jobs) hold the lock `fetch:<source>` (the
scheduler-lock helpers of digest.store.locks: an advisory lock on PostgreSQL, a lock row
with pid, host and heartbeat on SQLite) while a source runs. So:

- a second concurrent fetch of the same source is skipped with a clear message instead
  of colliding on the same records;
- whoever holds the lock knows every `running` run-log row of that source belongs to a
  process that is gone (killed, crashed, host rebooted): those rows are closed at once;
- `digest status` counts a `running` row as a failed run unless the lock is held by a
  live process right now.
"""

from __future__ import annotations

import socket
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.model import SchedulerLock, utcnow
from digest.store.lock_core import DEFAULT_HEARTBEAT_SECONDS, STALE_HEARTBEATS, Lock
from digest.store.locks import acquire_scheduler_lock, current_holder
from digest.store.row_lock import is_stale


def lock_name(source: str) -> str:
    return f"fetch:{source}"


def acquire_fetch_lock(engine: Engine, source: str) -> Lock:
    """Hold the source's fetch lock, or raise LockHeldError naming who has it."""
    return acquire_scheduler_lock(engine, name=lock_name(source))


def fetch_in_progress(engine: Engine, source: str) -> bool:
    """Whether a live process holds this source's fetch lock now."""
    name = lock_name(source)
    if engine.dialect.name == "postgresql":
        return current_holder(engine, name) is not None  # the server drops a dead holder's
    with Session(engine) as session:
        row = session.get(SchedulerLock, name)
        if row is None:
            return False
        session.expunge(row)
    stale_after = timedelta(seconds=STALE_HEARTBEATS * DEFAULT_HEARTBEAT_SECONDS)
    return is_stale(row, utcnow(), stale_after, socket.gethostname()) is None
