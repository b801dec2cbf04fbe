"""Shared parts of the desk tests (no tests here): a migrated database with the desk's
tables, genuine ClinicalTrials.gov records in week 2026-W47, and a running desk app.

Migration 0004 sits on 0003 (another branch's); until that branch is merged, the
fixture migrates a copy of the migrations folder with 0004 put on whatever the head is,
so the desk tables are always made by the real migration, never by create_all.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.config import Settings
from digest.desk.app import DeskConfig, create_app
from digest.desk.auth import RateLimits, add_staff
from digest.ingest.run import import_files
from digest.store.db import MIGRATIONS_DIR, make_engine
from tests.conftest import CORPUS, make_settings

W47 = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday of 2026-W47
AFTER_W47 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # the Tuesday after: W47 is coming
LEGACY = CORPUS / "acupuncture" / "clinicaltrials-legacy-xml"
SECRET = b"desk-test-secret-0123456789abcdef"
PASSWORD = "correct horse battery staple"


def migrate_with_desk(engine: Engine, tmp: Path) -> None:
    """Upgrade to head through migration 0004, bridging a missing 0003 (see above)."""
    folder = MIGRATIONS_DIR
    config = Config()
    config.set_main_option("script_location", str(folder))
    versions = {p.name for p in (folder / "versions").glob("*.py")}
    if not any(name.startswith("0003") for name in versions):
        folder = tmp / "migrations"
        shutil.copytree(MIGRATIONS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
        desk = folder / "versions" / "0004_desk.py"
        others = [p for p in (folder / "versions").glob("*.py") if p.name != desk.name]
        heads = {
            re.search(r'^revision: str = "(\w+)"', p.read_text(), re.M).group(1)  # type: ignore[union-attr]
            for p in others
        }
        downs = {
            m.group(1)
            for p in others
            for m in [re.search(r'^down_revision: [^=]+= "(\w+)"', p.read_text(), re.M)]
            if m
        }
        (head,) = heads - downs
        desk.write_text(
            desk.read_text().replace(
                'down_revision: str | None = "0003"', f'down_revision: str | None = "{head}"'
            )
        )
        config.set_main_option("script_location", str(folder))
    ScriptDirectory.from_config(config).get_current_head()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@pytest.fixture
def desk_engine(database_url: str, tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate_with_desk(engine, tmp_path)
    yield engine
    engine.dispose()


def desk_settings(engine: Engine) -> Settings:
    url = engine.url.render_as_string(hide_password=False)
    return make_settings(url, "  []", "digest:\n  site_url: https://digest.example.org/\n")


def import_week(engine: Engine, settings: Settings) -> None:
    """The five genuine ClinicalTrials.gov legacy XML acupuncture trials, first seen in W47."""
    import_files(settings, engine, sorted(LEGACY.glob("*.xml")), now=W47, announce=True)


def add_alice(engine: Engine) -> None:
    with Session(engine) as session:
        add_staff(session, "alice", PASSWORD)
        session.commit()


@dataclass
class Outbox:
    messages: list[EmailMessage]

    def __call__(self, message: EmailMessage) -> None:
        self.messages.append(message)


def desk_config(engine: Engine, settings: Settings, **changes: Any) -> DeskConfig:
    config = DeskConfig(
        settings=settings,
        engine=engine,
        secret=SECRET,
        public_url="http://127.0.0.1",
        site_url=settings.digest.site_url,
        from_address="Digest <digest@example.org>",
        send_mail=Outbox([]),
        list_id="weekly.digest.example.org",
        postal_address="1 Example Street, Exampletown",
        limits=RateLimits(per_account=3, per_address=10, window=timedelta(minutes=15)),
        clock=lambda: AFTER_W47,
    )
    return replace(config, **changes)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RunningDesk:
    """The desk app on a real uvicorn server on loopback, in a thread."""

    def __init__(self, config: DeskConfig) -> None:
        self.port = free_port()
        self.config = replace(config, public_url=f"http://127.0.0.1:{self.port}")
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app(self.config),
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                access_log=False,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RunningDesk:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
