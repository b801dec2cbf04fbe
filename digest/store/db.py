"""Engines and migrations. SQLite (default, under data/) and PostgreSQL through the same code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlmodel import create_engine

from digest.errors import ConfigError, StoreError

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# How long a SQLite writer waits for another's lock before "database is locked"; callers
# that write in steps (the delivery ledger) turn that into a clear error naming the step.
SQLITE_BUSY_SECONDS = 30.0


SUPPORTED_URLS = (
    "sqlite:///PATH, postgresql://USER@HOST/DB (or postgres://, postgresql+psycopg2://)"
)
# Spellings people copy from hosting dashboards, mapped onto the driver this project ships.
_POSTGRES_ALIASES = ("postgres", "postgresql")


def database_url(database_url: str) -> URL:
    """The URL parsed and mapped onto a supported driver, or a one-line ConfigError."""
    try:
        url = make_url(database_url)
    except ArgumentError as exc:
        raise ConfigError(
            f"not a database URL: {database_url!r} (supported: {SUPPORTED_URLS})",
            key="database_url",
        ) from exc
    if url.drivername in _POSTGRES_ALIASES:
        url = url.set(drivername="postgresql+psycopg2")
    if url.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg2"):
        raise ConfigError(
            f"unsupported database {url.drivername!r} (supported: {SUPPORTED_URLS})",
            key="database_url",
        )
    return url


def make_engine(database_url_text: str, *, create: bool = True) -> Engine:
    """An engine for the URL; SQLite gets WAL, a busy timeout and foreign keys.

    With `create=False` (every command but `digest init`) a SQLite file that does not exist
    is an error, so a mistyped path never leaves an empty database behind."""
    url = database_url(database_url_text)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            path = Path(url.database)
            if not create and not path.exists():
                raise ConfigError(
                    f"no database at {path}: run `digest init` first (or check database_url)",
                    key="database_url",
                )
            if not create and not _looks_like_sqlite(path):
                raise ConfigError(f"{path} is not a SQLite database", key="database_url")
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # psycopg2's executemany is a round trip per row: UPDATEs and DELETEs of many rows
    # (a refresh moving records between studies) go through execute_batch instead, 500
    # parameter sets a round trip; INSERTs use multi-row VALUES (insertmanyvalues) either
    # way. Only executemany rowcounts are lost, and nothing here reads one.
    return create_engine(
        url,
        pool_pre_ping=True,
        executemany_mode="values_plus_batch",
        executemany_batch_page_size=500,
    )


def _looks_like_sqlite(path: Path) -> bool:
    """An SQLite file starts with its 16-byte magic header (an empty file is a new one)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError:
        return False
    return head in (b"", b"SQLite format 3\x00")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration (what `digest init` does)."""
    config = _alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise StoreError(f"cannot migrate the database: {exc.orig}") from exc
    except DatabaseError as exc:  # e.g. SQLite: "file is not a database"
        raise ConfigError(f"not a usable database: {exc.orig}", key="database_url") from exc


def check_current(engine: Engine) -> None:
    """Raise a clear error when the database has not been initialised or is behind."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise StoreError(f"cannot open the database: {exc.orig}") from exc
    except DatabaseError as exc:  # e.g. SQLite: "file is not a database"
        raise ConfigError(f"not a usable database: {exc.orig}", key="database_url") from exc
    if current is None:
        raise StoreError("the database is not initialised: run `digest init` first")
    if current != head:
        raise StoreError(
            f"the database is at migration {current}, code expects {head}: "
            "run `digest init` to migrate"
        )
