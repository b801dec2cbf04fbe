"""The PostgreSQL scheduler lock: a session-level advisory lock on a dedicated connection."""

from __future__ import annotations

import hashlib
import os

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from digest.store.lock_core import Lock, LockHeldError, LockHolder, LockOptions, this_host

# ------------------------------------------------------------------ PostgreSQL
_PG_APP_NAME_MAX = 63  # PostgreSQL truncates application_name to NAMEDATALEN - 1


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


def acquire_postgres(engine: Engine, name: str, holder: str, options: LockOptions) -> Lock:
    key = advisory_key(name)
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
        if not got.scalar():
            other = postgres_holder(connection, key)
            raise LockHeldError(name, other)
        label = f"digest-scheduler {holder[:8]} pid {os.getpid()} on {this_host()}"
        connection.execute(
            text("SELECT set_config('application_name', :v, false)"),
            {"v": label[:_PG_APP_NAME_MAX]},
        )
    except BaseException:
        connection.invalidate()
        connection.close()
        raise
    return PostgresLock(engine, name, holder, options, connection)


def postgres_holder(connection: Connection, key: int) -> LockHolder | None:
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
