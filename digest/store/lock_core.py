"""What every scheduler-lock backend shares: options, the holder, the error, the heartbeat
thread, and which holder ids this process took.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from digest.errors import StoreError

log = logging.getLogger("digest.store.locks")  # the name these records always had

Clock = Callable[[], datetime]


DEFAULT_HEARTBEAT_SECONDS = 30.0
STALE_HEARTBEATS = 3  # a row is stale after this many missed heartbeats


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


def this_host() -> str:
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
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
HELD_HERE: set[str] = set()
HELD_HERE_GUARD = threading.Lock()


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
        with HELD_HERE_GUARD:
            HELD_HERE.discard(self.holder)

    def __enter__(self) -> Lock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
