"""The desk's security, through the real Starlette app (httpx TestClient): nothing of the
desk without a session, CSRF on every form, rate-limited sign-in, sessions signed with
another secret or expired are refused, and a hostile "our take" note is inert."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.testclient import TestClient

from digest.desk.app import DeskConfig, create_app
from digest.desk.auth import SESSION_COOKIE, remove_staff
from digest.desk.tables import AuditEntry, StaffAccount
from tests.test_desk_support import (
    PASSWORD,
    add_alice,
    desk_config,
    desk_engine,
    desk_settings,
    import_week,
)

__all__ = ["desk_engine"]
WEEK = "2026-W47"
SLUG = "nct-nct02583334"
DESK_GETS = [
    "/desk/",
    f"/desk/weeks/{WEEK}",
    "/desk/weeks/2026-W01",
    "/desk/audit",
    "/desk/subscribers",
    "/desk/nothing-here",
    f"/desk/audit?week={WEEK}",
]
DESK_POSTS = [f"/desk/weeks/{WEEK}/items/{SLUG}", f"/desk/weeks/{WEEK}/approve", "/desk/sign-out"]
HOSTILE = (
    '<script>alert(1)</script><img src=x onerror="alert(2)">'
    '<a href="javascript:alert(3)">x</a> " onmouseover="alert(4)'
)


@pytest.fixture
def config(desk_engine: Engine) -> DeskConfig:
    settings = desk_settings(desk_engine)
    import_week(desk_engine, settings)
    add_alice(desk_engine)
    return desk_config(desk_engine, settings)


@pytest.fixture
def client(config: DeskConfig) -> Iterator[TestClient]:
    with TestClient(create_app(config), follow_redirects=False) as client:
        yield client


def csrf_of(html: str) -> str:
    field = BeautifulSoup(html, "html.parser").find("input", attrs={"name": "csrf"})
    assert field is not None
    return str(field["value"])


def sign_in(client: TestClient, password: str = PASSWORD, username: str = "alice") -> int:
    page = client.get("/desk/sign-in")
    response = client.post(
        "/desk/sign-in",
        data={
            "csrf": csrf_of(page.text),
            "username": username,
            "password": password,
            "next": "/desk/",
        },
    )
    return response.status_code


def test_nothing_of_the_desk_without_a_session(client: TestClient) -> None:
    for path in DESK_GETS:
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/desk/sign-in?next="), path
    for path in DESK_POSTS:
        response = client.post(path, data={"status": "approved"})
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/desk/sign-in"), path
    sign = client.get("/desk/sign-in")
    assert sign.status_code == 200 and "Staff sign-in" in sign.text
    assert "nct-nct02583334" not in sign.text


def test_sign_in_sets_a_strict_httponly_cookie_and_audits(
    client: TestClient, config: DeskConfig
) -> None:
    assert sign_in(client) == 303
    page = client.get(f"/desk/weeks/{WEEK}")
    assert page.status_code == 200 and "Triage: 2026-W47" in page.text
    headers = page.headers
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "script-src" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"
    with Session(config.engine) as session:
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "sign-in")).one()


def test_every_form_needs_its_csrf_token(client: TestClient) -> None:
    page = client.get("/desk/sign-in")
    no_token = client.post("/desk/sign-in", data={"username": "alice", "password": PASSWORD})
    assert no_token.status_code == 403
    forged = client.post(
        "/desk/sign-in",
        data={"username": "alice", "password": PASSWORD, "csrf": csrf_of(page.text) + "x"},
    )
    assert forged.status_code == 403
    assert sign_in(client) == 303
    token = csrf_of(client.get(f"/desk/weeks/{WEEK}").text)
    for path in DESK_POSTS:
        assert client.post(path, data={"status": "approved"}).status_code == 403, path
        assert client.post(path, data={"status": "approved", "csrf": "nope"}).status_code == 403
    ok = client.post(f"/desk/weeks/{WEEK}/items/{SLUG}", data={"status": "approved", "csrf": token})
    assert ok.status_code == 303
    for path in ("/subscribe", "/subscribe/confirm"):
        assert (
            client.post(path, data={"email": "a@example.org", "agree": "yes"}).status_code == 403
        ), path


def test_set_cookie_is_httponly_strict(config: DeskConfig) -> None:
    with TestClient(create_app(config), follow_redirects=False) as client:
        page = client.get("/desk/sign-in")
        response = client.post(
            "/desk/sign-in",
            data={"csrf": csrf_of(page.text), "username": "alice", "password": PASSWORD},
        )
        header = next(
            v
            for k, v in response.headers.multi_items()
            if k == "set-cookie" and v.startswith(SESSION_COOKIE)
        )
        assert "HttpOnly" in header and "SameSite=strict" in header and "Path=/desk" in header
        assert "Max-Age=28800" in header
    secure = replace(config, public_url="https://digest.example.org")
    with TestClient(
        create_app(secure), base_url="https://testserver", follow_redirects=False
    ) as client:
        page = client.get("/desk/sign-in")
        response = client.post(
            "/desk/sign-in",
            data={"csrf": csrf_of(page.text), "username": "alice", "password": PASSWORD},
        )
        header = next(
            v
            for k, v in response.headers.multi_items()
            if k == "set-cookie" and v.startswith(SESSION_COOKIE)
        )
        assert "Secure" in header


def test_wrong_passwords_are_rate_limited_per_account_and_per_address(
    client: TestClient, config: DeskConfig
) -> None:
    assert sign_in(client, "wrong password 1") == 401
    assert sign_in(client, "wrong password 2") == 401
    assert sign_in(client, "wrong password 3") == 401
    assert sign_in(client) == 429  # locked: even the right password is not checked
    page = client.get("/desk/sign-in")
    response = client.post(
        "/desk/sign-in",
        data={"csrf": csrf_of(page.text), "username": "alice", "password": PASSWORD},
    )
    assert "Too many failed sign-ins" in response.text
    # per address: other usernames from the same client, 10 failures in all
    for n in range(7):
        assert sign_in(client, "x" * 12, username=f"nobody{n}") == 401
    assert sign_in(client, "x" * 12, username="someone-else") == 429
    with Session(config.engine) as session:
        locked = session.exec(select(AuditEntry).where(AuditEntry.action == "sign-in-locked"))
        assert len(locked.all()) >= 3


def test_a_cookie_signed_with_another_secret_is_refused(
    client: TestClient, config: DeskConfig
) -> None:
    with Session(config.engine) as session:
        alice = session.exec(select(StaffAccount)).one()
        payload = {"id": alice.id, "g": alice.generation, "c": "t" * 43}
    forged = URLSafeTimedSerializer(b"another-secret-0123456789abcdef", salt="desk-session")
    client.cookies.set(SESSION_COOKIE, forged.dumps(payload), path="/desk")
    response = client.get(f"/desk/weeks/{WEEK}")
    assert response.status_code == 303 and "/desk/sign-in" in response.headers["location"]
    genuine = URLSafeTimedSerializer(config.secret, salt="desk-session")
    client.cookies.set(SESSION_COOKIE, genuine.dumps(payload), path="/desk")
    assert client.get(f"/desk/weeks/{WEEK}").status_code == 200  # the same, rightly signed


def test_sessions_expire_and_end_when_the_account_is_removed(config: DeskConfig) -> None:
    short = replace(config, session_max_age=timedelta(seconds=1))
    with TestClient(create_app(short), follow_redirects=False) as client:
        assert sign_in(client) == 303
        assert client.get(f"/desk/weeks/{WEEK}").status_code == 200
        time.sleep(2.1)
        assert client.get(f"/desk/weeks/{WEEK}").status_code == 303
    with TestClient(create_app(config), follow_redirects=False) as client:
        assert sign_in(client) == 303
        assert client.get("/desk/audit").status_code == 200
        with Session(config.engine) as session:
            assert remove_staff(session, "alice")
            session.commit()
        assert client.get("/desk/audit").status_code == 303
        assert sign_in(client) == 401


def test_a_hostile_note_is_inert_on_the_desk_pages(client: TestClient) -> None:
    assert sign_in(client) == 303
    token = csrf_of(client.get(f"/desk/weeks/{WEEK}").text)
    saved = client.post(
        f"/desk/weeks/{WEEK}/items/{SLUG}",
        data={
            "csrf": token,
            "status": "held",
            "reason": HOSTILE[:300],
            "note": HOSTILE,
            "relevance": "5",
            "newsworthiness": "3",
        },
    )
    assert saved.status_code == 303
    for path in (f"/desk/weeks/{WEEK}", f"/desk/audit?week={WEEK}"):
        html = client.get(path).text
        soup = BeautifulSoup(html, "html.parser")
        assert soup.find("script") is None and soup.find("img") is None, path
        for tag in soup.find_all(True):
            assert not any(name.lower().startswith("on") for name in tag.attrs), (path, tag)
            for name in ("href", "src", "action"):
                value = str(tag.get(name) or "")
                assert not value.lower().startswith("javascript:"), (path, tag)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
    take = BeautifulSoup(client.get(f"/desk/weeks/{WEEK}").text, "html.parser")
    shown = take.select_one(f"#item-{SLUG} .our-take-text")
    assert shown is not None and shown.get_text() == HOSTILE


def test_a_refused_decision_says_why_and_keeps_nothing(client: TestClient) -> None:
    assert sign_in(client) == 303
    token = csrf_of(client.get(f"/desk/weeks/{WEEK}").text)
    response = client.post(
        f"/desk/weeks/{WEEK}/items/{SLUG}", data={"csrf": token, "status": "left-out"}
    )
    assert response.status_code == 400
    assert re.search(r"say why it is held or left out", response.text)
    missing = client.post(
        f"/desk/weeks/{WEEK}/items/pmid-1", data={"csrf": token, "status": "approved"}
    )
    assert missing.status_code == 400 and "not a candidate" in missing.text
