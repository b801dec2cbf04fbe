"""`digest staff` and `digest desk` handlers (the parser lines are added to parsers.py at
merge; here the handlers run with the same arguments on a migrated database)."""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from digest.app.cli.context import Context
from digest.app.cli.exits import UsageError
from digest.app.cli.staff import cmd_staff
from digest.desk.auth import RateLimits, authenticate
from digest.desk.tables import AuditEntry, StaffAccount
from tests.test_desk_support import desk_engine

__all__ = ["desk_engine", "run_handler"]


def run_handler(handler: Callable[[Context], int], engine: Engine, **args: Any) -> str:
    namespace = argparse.Namespace(config=None, db=None, verbose=0, **args)
    out = io.StringIO()
    ctx = Context(namespace, out, io.StringIO())
    ctx._engine = engine  # the engine the test migrated (see tests/test_desk_support.py)
    assert handler(ctx) == 0
    return out.getvalue()


def staff(engine: Engine, action: str, username: str | None = None, **extra: Any) -> str:
    return run_handler(
        cmd_staff,
        engine,
        action=action,
        username=username,
        password_stdin=extra.pop("password_stdin", True),
        all=extra.pop("all", False),
    )


def test_staff_add_list_remove_with_password_on_stdin(
    desk_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    assert staff(desk_engine, "add", "Alice") == "alice: added\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    with pytest.raises(UsageError, match="at least 12"):
        staff(desk_engine, "add", "bob")
    with pytest.raises(UsageError, match="username"):
        staff(desk_engine, "add", "not a name!")
    listed = staff(desk_engine, "list")
    assert listed.startswith("alice\tactive\tsince ")
    with Session(desk_engine) as session:
        row = session.exec(select(StaffAccount)).one()
        assert row.password_hash.startswith("$argon2id$")
        assert "a long enough password" not in row.password_hash
        outcome, account = authenticate(
            session, "alice", "a long enough password", "127.0.0.1", RateLimits()
        )
        assert outcome == "ok" and account is not None
    assert staff(desk_engine, "remove", "alice") == "alice: removed\n"
    assert staff(desk_engine, "list") == ""
    assert "alice\tremoved" in staff(desk_engine, "list", all=True)
    with Session(desk_engine) as session:
        actions = [e.action for e in session.exec(select(AuditEntry))]
        assert actions[:1] == ["staff-add"] and "staff-remove" in actions


def test_staff_add_asks_twice_without_echo(
    desk_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter(["first password here", "second password here"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(UsageError, match="differ"):
        staff(desk_engine, "add", "carol", password_stdin=False)
    answers = iter(["the same password", "the same password"])
    assert staff(desk_engine, "add", "carol", password_stdin=False) == "carol: added\n"


DESK_SCRIPT = """
import argparse, sys
from digest.app.cli.context import Context
from digest.app.cli.staff import cmd_desk
from digest.store.db import make_engine
from tests.conftest import make_settings
url, port = sys.argv[1], int(sys.argv[2])
args = argparse.Namespace(config=None, db=None, verbose=0, host="127.0.0.1", port=port,
    public_url=f"http://127.0.0.1:{port}", forwarded_allow_ips="127.0.0.1",
    labels_per_week=1, session_hours=8.0, postal_address="1 Example Street")
ctx = Context(args, sys.stdout, sys.stderr)
ctx._engine = make_engine(url)
ctx._settings = make_settings(url, "  []", "digest:\\n  site_url: https://digest.example.org/\\n")
sys.exit(cmd_desk(ctx))
"""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_digest_desk_serves_on_uvicorn_and_trusts_only_the_named_proxy(
    desk_engine: Engine,
) -> None:
    import os
    import signal
    import subprocess
    import time

    import httpx2
    from bs4 import BeautifulSoup

    from digest.desk.tables import LoginAttempt
    from tests.conftest import ROOT
    from tests.test_desk_support import free_port

    port = free_port()
    url = desk_engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "DIGEST_SECRET": "a-test-secret-of-32-characters!!"}
    env.pop("DIGEST_SMTP_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-c", DESK_SCRIPT, url, str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                first = httpx2.get(f"{base}/desk/", timeout=1)
                break
            except httpx2.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError("the desk did not start")
        assert first.status_code == 303 and "server" not in first.headers
        with httpx2.Client(base_url=base) as web:
            page = web.get("/desk/sign-in")
            token = BeautifulSoup(page.text, "html.parser").find("input", attrs={"name": "csrf"})
            assert token is not None
            refused = web.post(
                "/desk/sign-in",
                headers={"X-Forwarded-For": "203.0.113.9"},
                data={
                    "csrf": str(token["value"]),
                    "username": "nobody",
                    "password": "wrong password",
                },
            )
            assert refused.status_code == 401
        with Session(desk_engine) as session:
            (attempt,) = session.exec(select(LoginAttempt)).all()
            assert attempt.address == "203.0.113.9"  # from the trusted proxy's header
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
    assert b"staff desk on http://127.0.0.1" in err
    assert b"DIGEST_SMTP_URL is not set" in err
