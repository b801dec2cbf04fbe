"""Shared fixtures: real databases (SQLite in tmp, PostgreSQL on 127.0.0.1) and replay.

PostgreSQL: each test session creates its own database and drops it at the end. Set
DIGEST_TEST_PG_URL to use another server (default postgresql+psycopg2://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from digest.app.replay import ReplayServer, routes_from
from digest.config import Settings, parse_settings
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
    """A migrated-ready, empty database URL: SQLite in tmp, or the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'digest.db'}"
    url: str = request.getfixturevalue("pg_database_url")
    _reset_pg(url)
    return url


@pytest.fixture
def db_engine(database_url: str) -> Iterator[Engine]:
    """An engine on a freshly migrated database (SQLite and PostgreSQL)."""
    engine = make_engine(database_url)
    migrate(engine)
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
