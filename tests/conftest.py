"""Shared fixtures: real databases (SQLite in tmp, PostgreSQL on 127.0.0.1) and replay.

PostgreSQL: each test session creates its own database and drops it at the end. Set
DIGEST_TEST_PG_URL to use another server (default postgresql+psycopg2://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import Engine, make_url

from digest.app.replay import ReplayServer, routes_from
from digest.config import Settings, parse_settings
from digest.http.client import Http
from digest.http.politeness import RateLimiter
from digest.store.db import make_engine, migrate

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = FIXTURES / "corpus"
PG_SERVER_URL = os.environ.get(
    "DIGEST_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    name = f"digest_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _reset_pg(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL: SQLite in tmp, or the session's PostgreSQL.

    When the test also uses `db_engine`, that fixture fills this URL with the migrated
    schema (so the PostgreSQL schema is not dropped here only to be rebuilt there)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'digest.db'}"
    url: str = request.getfixturevalue("pg_database_url")
    if "db_engine" not in request.fixturenames:
        _reset_pg(url)
    return url


@pytest.fixture(scope="session")
def sqlite_migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; `db_engine` copies it.

    The engine is disposed before anyone copies it, so the WAL is checkpointed into the
    file and a byte copy is the database `migrate` left (WAL mode is stored in the file)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "migrated.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        assert not leftover.exists(), f"{leftover} left behind: the copy would miss it"
    return path


# What a PostgreSQL schema is made of, as one comparable text: relations, columns and their
# defaults, indexes, constraints, triggers, functions, types, sequences' definitions, and
# the alembic version. `db_engine` compares it with the just-migrated schema's to know the
# session database still holds exactly that schema before it empties the tables.
_PG_SCHEMA_FINGERPRINT = """
SELECT md5(string_agg(item, E'\n' ORDER BY item)) FROM (
  SELECT 'rel ' || c.relname || ' ' || c.relkind::text || ' ' || c.relpersistence::text AS item
    FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'col ' || a.attrelid::regclass::text || '.' || a.attname || ' '
         || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text || ' '
         || a.attnum::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'idx ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL
  SELECT 'con ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'trg ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
  UNION ALL
  SELECT 'fn ' || p.proname || ' ' || md5(p.prosrc) FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'typ ' || t.typname || ' ' || t.typtype::text FROM pg_type t
    WHERE t.typnamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'enum ' || t.typname || ' ' || e.enumsortorder::text || ' ' || e.enumlabel
    FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
    WHERE t.typnamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'seq ' || schemaname || '.' || sequencename || ' ' || data_type::text || ' '
         || start_value::text || ' ' || increment_by::text || ' ' || min_value::text || ' '
         || max_value::text || ' ' || cycle::text
    FROM pg_sequences WHERE schemaname = 'public'
  UNION ALL
  SELECT 'ext ' || extname FROM pg_extension
) items
"""


class _PgMigrated:
    """The session database's migrated state, and how to return to it quickly.

    Migrating takes about a second a test on this schema; a test's rows can instead be
    deleted and its sequences restarted, which leaves the database as `migrate` left it:
    the same schema (checked by fingerprint), the same alembic version, no rows (the
    migrations seed none; checked), every sequence at its start. When the fingerprint
    differs (a test dropped the schema, ran a downgrade, or migrated to another
    revision) the schema is dropped and migrated afresh, as before."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.fingerprint: str | None = None
        self.tables: list[str] = []
        self.sequences: list[str] = []

    def _fingerprint(self, conn: Any) -> str:
        version = ""
        if conn.execute(text("SELECT to_regclass('public.alembic_version')")).scalar():
            version = ",".join(
                sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
            )
        return f"{conn.execute(text(_PG_SCHEMA_FINGERPRINT)).scalar()} {version}"

    def _migrate_afresh(self) -> None:
        _reset_pg(self.url)
        engine = make_engine(self.url)
        try:
            migrate(engine)
            with engine.connect() as conn:
                # Children before parents, so deleting never trips a foreign key.
                reflected = MetaData()
                reflected.reflect(conn)
                tables = [
                    conn.dialect.identifier_preparer.quote(t.name)
                    for t in reversed(reflected.sorted_tables)
                    if t.name != "alembic_version"
                ]
                seeded = [
                    t
                    for t in tables
                    if conn.execute(text(f"SELECT EXISTS (SELECT FROM {t})")).scalar()
                ]
                sequences = list(
                    conn.execute(
                        text(
                            "SELECT quote_ident(sequencename) FROM pg_sequences"
                            " WHERE schemaname = 'public' ORDER BY sequencename"
                        )
                    ).scalars()
                )
                fingerprint = self._fingerprint(conn)
        finally:
            engine.dispose()
        # Migrations that seed rows could not be restored by deleting: always migrate then.
        self.fingerprint = None if seeded else fingerprint
        self.tables, self.sequences = tables, sequences

    def restore(self) -> None:
        """Leave the session database exactly as a fresh `migrate` would."""
        if self.fingerprint is None:
            self._migrate_afresh()
            return
        engine = create_engine(self.url)
        try:
            with engine.begin() as conn:
                if self._fingerprint(conn) != self.fingerprint:
                    restored = False
                else:
                    for table in self.tables:
                        conn.execute(text(f"DELETE FROM {table}"))
                    for sequence in self.sequences:
                        conn.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))
                    restored = True
        finally:
            engine.dispose()
        if not restored:
            self._migrate_afresh()


@pytest.fixture(scope="session")
def pg_migrated(pg_database_url: str) -> _PgMigrated:
    return _PgMigrated(pg_database_url)


@pytest.fixture
def db_engine(request: pytest.FixtureRequest, database_url: str) -> Iterator[Engine]:
    """An engine on a freshly migrated database (SQLite and PostgreSQL).

    SQLite: a copy of the session's migrated file. PostgreSQL: the session database
    returned to its just-migrated state (see `_PgMigrated`)."""
    if database_url.startswith("sqlite"):
        template: Path = request.getfixturevalue("sqlite_migrated_template")
        target = Path(make_url(database_url).database or "")
        assert not target.exists(), f"{target} already exists"
        shutil.copyfile(template, target)
    else:
        pg: _PgMigrated = request.getfixturevalue("pg_migrated")
        pg.restore()
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


MINIMAL_TOPICS = """
topics:
  interventions:
    - slug: electroacupuncture
      label: Electroacupuncture
      mesh: [Electroacupuncture]
      terms: [electroacupuncture]
    - slug: manual-acupuncture
      label: Acupuncture
      mesh: [Acupuncture Therapy]
      terms: [acupuncture]
      exclude_terms: [acupuncture-like TENS]
  conditions:
    - slug: low-back-pain
      label: Low back pain
      mesh: [Low Back Pain]
      terms: [low back pain]
    - slug: chronic-pain
      label: Chronic pain
      mesh: [Chronic Pain]
      terms: [chronic pain, pain]
"""


def no_wait_client(settings: Settings) -> Http:
    """The real HTTP client (retries, limits, parsing) that records waits instead of
    sleeping them: for tests against the loopback replay server."""
    return Http(
        settings.http,
        settings.contact_email,
        sleep=lambda _s: None,
        limiter=RateLimiter(sleep=lambda _s: None),
    )


def make_settings(database_url: str, sources_yaml: str, extra: str = "") -> Settings:
    """Settings from a small YAML: the given sources plus a minimal topic model."""
    text_ = (
        f"database_url: {database_url}\ncontact_email: test@example.org\n"
        "http: {max_retries: 3, backoff_base: 0.01, backoff_max: 0.05, read_timeout: 2,"
        " connect_timeout: 2, default_rate_limit: 1000,"
        " rate_limits: {eutils.ncbi.nlm.nih.gov: 1000}}\n"
        f"{MINIMAL_TOPICS}\nsources:\n{sources_yaml}\n{extra}"
    )
    return parse_settings(text_, env={})


@pytest.fixture
def replay() -> Iterator[Any]:
    """Start a replay server for a list of route dicts: `server = replay([...])`."""
    servers: list[ReplayServer] = []

    def start(routes: list[dict[str, Any]], root: Path = CORPUS) -> ReplayServer:
        server = ReplayServer(routes_from(routes), root)
        server.__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def store_as_fetched(
    settings: Settings,
    engine: Engine,
    records: list[Any],
    *,
    fetched_by: str = "import-announced",
    now: Any = None,
) -> None:
    """Store records exactly as given (their own `source`), as a fetch stores them, then
    refresh studies. For tests that need records of a fetched source (PubMed, the
    registry) without a recording; JSON Lines imports are always source `import`."""
    from sqlmodel import Session

    from digest.ingest.run import refresh_studies
    from digest.model import ParseResult
    from digest.sources import describe_change
    from digest.store.records import ParsedPage, save_outcome

    body = "".join(r.to_json() + "\n" for r in records).encode()
    page = ParsedPage("test:records", body, "jsonl", ParseResult(records=list(records)))
    with Session(engine) as session:
        save_outcome(
            session,
            source_name=fetched_by,
            kind="test",
            pages=[page],
            cursor={},
            describe_change=describe_change,
            now=now,
        )
        session.commit()
    refresh_studies(settings, engine)
