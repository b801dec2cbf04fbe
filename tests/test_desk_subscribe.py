"""Subscribers who sign themselves up, on SQLite and PostgreSQL: subscribe on the real
desk (uvicorn on loopback) -> the confirmation mail caught by aiosmtpd -> click ->
confirm -> active, with the consent log; expired and reused links; one-click
unsubscribe (RFC 8058) and the styled page; the hand-made RFC 3464 DSN and RFC 5965
complaint suppress their addresses (Maildir and mbox); preferences and `wants`."""

from __future__ import annotations

import mailbox
import re
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import httpx2
import pytest
from bs4 import BeautifulSoup
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from digest.desk.bounces import parse_report, read_bounces
from digest.desk.subscribe import (
    ConfirmTokens,
    Preferences,
    active_emails,
    confirm_signup,
    consent_history,
    is_suppressed,
    request_signup,
    subscriber_preferences,
    suppress,
    wants,
)
from digest.model import Subscriber
from digest.publish.mail.smtp import SmtpTransport, smtp_config_from_env
from digest.publish.tokens import make_unsubscribe_token
from digest.store.deliveries import add_subscriber, list_subscribers
from digest.views import StudyView, Tag
from tests.conftest import FIXTURES
from tests.test_desk_support import (
    AFTER_W47,
    RunningDesk,
    desk_config,
    desk_engine,
    desk_settings,
)
from tests.test_email import Recorder, smtp_server

__all__ = ["desk_engine", "smtp_server"]
DSN = FIXTURES / "handmade" / "handmade_dsn_hard_bounce.eml"
ARF = FIXTURES / "handmade" / "handmade_arf_complaint.eml"
LIST_ID = "weekly.digest.example.org"


def csrf_of(html: str) -> str:
    field = BeautifulSoup(html, "html.parser").find("input", attrs={"name": "csrf"})
    assert field is not None
    return str(field["value"])


def test_subscribe_confirm_mail_click_active_then_one_click_unsubscribe(
    desk_engine: Engine, smtp_server: tuple[Recorder, int]
) -> None:
    recorder, port = smtp_server
    smtp = smtp_config_from_env({"DIGEST_SMTP_URL": f"smtp://127.0.0.1:{port}"})

    def send(message: Any) -> None:
        with SmtpTransport(smtp, retries=1, sleep=lambda _s: None) as transport:
            transport.send(message)

    config = desk_config(desk_engine, desk_settings(desk_engine), send_mail=send)
    with RunningDesk(config) as desk, httpx2.Client(base_url=desk.url) as web:
        form = web.get("/subscribe")
        assert form.status_code == 200 and "Get the digest by email" in form.text
        assert "1 Example Street, Exampletown" in form.text  # the postal-address footer
        shown = BeautifulSoup(form.text, "html.parser").select_one("label:has(input[name=agree])")
        assert shown is not None and "unsubscribe at any time" in shown.get_text()
        done = web.post(
            "/subscribe",
            data={
                "csrf": csrf_of(form.text),
                "email": "New.Reader@Example.ORG",
                "conditions": ["chronic-pain", "no-such-condition"],
                "min_tier": "trial",
                "frequency": "monthly",
                "agree": "yes",
            },
            headers={"User-Agent": "desk-test-browser/1.0"},
        )
        assert done.status_code == 200 and "Check your inbox" in done.text
        with Session(desk_engine) as session:  # not active before the click
            assert "new.reader@example.org" not in active_emails(session)
            assert list_subscribers(session) == []
        assert recorder.count("new.reader@example.org") == 1
        (mail,) = recorder.parsed()
        assert mail["Subject"].startswith("Please confirm your subscription")
        assert not mail.is_multipart() and mail.get_content_type() == "text/plain"
        body = mail.get_content()
        assert "<img" not in body and "1 Example Street, Exampletown" in body
        links = re.findall(r"https?://\S+", body)
        assert len(links) == 1 and links[0].startswith(f"{desk.url}/subscribe/confirm?token=")
        page = web.get(links[0].removeprefix(desk.url))
        assert page.status_code == 200 and "Confirm" in page.text
        with Session(desk_engine) as session:  # opening the link alone confirms nothing
            assert active_emails(session) == []
        token = BeautifulSoup(page.text, "html.parser").find("input", attrs={"name": "token"})
        assert token is not None
        confirmed = web.post(
            "/subscribe/confirm", data={"csrf": csrf_of(page.text), "token": str(token["value"])}
        )
        assert confirmed.status_code == 200 and "You are subscribed" in confirmed.text
        again = web.post(
            "/subscribe/confirm", data={"csrf": csrf_of(page.text), "token": str(token["value"])}
        )
        assert "Already confirmed" in again.text
        with Session(desk_engine) as session:
            assert active_emails(session) == ["new.reader@example.org"]
            prefs = subscriber_preferences(session)["new.reader@example.org"]
            assert prefs == Preferences(frozenset({"chronic-pain"}), "trial", "monthly")
            events = consent_history(session, "new.reader@example.org")
            assert [(e.event, e.method) for e in events] == [
                ("requested", "web-form"),
                ("confirmed", "confirm-link"),
            ]
            assert events[0].consent_text == shown.get_text(" ", strip=True)
            assert events[1].consent_text == events[0].consent_text
            assert events[0].address == "127.0.0.1"
            assert events[0].user_agent == "desk-test-browser/1.0"

        # RFC 8058: a POST with the signed token unsubscribes at once; no cookie, no CSRF
        unsub = make_unsubscribe_token(config.secret, LIST_ID, "new.reader@example.org")
        clicked = httpx2.get(f"{desk.url}/unsubscribe?token={unsub}")
        assert clicked.status_code == 200 and "Stop sending" in clicked.text
        assert 'href="/assets/site.css"' in clicked.text  # the styled confirm page
        with Session(desk_engine) as session:
            assert active_emails(session) == ["new.reader@example.org"]  # GET changes nothing
        one_click = httpx2.post(
            f"{desk.url}/unsubscribe?token={unsub}",
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert one_click.status_code == 200 and "You are unsubscribed" in one_click.text
        forged = httpx2.post(f"{desk.url}/unsubscribe?token={unsub[:-2]}xx")
        assert forged.status_code == 400
        with Session(desk_engine) as session:
            assert active_emails(session) == []
            assert consent_history(session, "new.reader@example.org")[-1].method == "one-click"


def test_confirm_links_expire_and_forged_ones_fail(desk_engine: Engine) -> None:
    tokens = ConfirmTokens(b"desk-test-secret-0123456789abcdef", max_age=timedelta(seconds=-1))
    assert tokens.read(tokens.make("n"))[0] == "expired"
    fresh = ConfirmTokens(b"desk-test-secret-0123456789abcdef")
    assert fresh.read(fresh.make("n")) == ("ok", "n")
    other = ConfirmTokens(b"another-secret-0123456789abcdef")
    assert other.read(fresh.make("n")) == ("invalid", None)
    assert fresh.read("") == ("invalid", None)


def test_unconfirmed_and_bounced_addresses_are_never_active(desk_engine: Engine) -> None:
    with Session(desk_engine) as session:
        pending = request_signup(
            session, "pending@example.org", Preferences(), "text", now=AFTER_W47
        )
        assert pending is not None
        later = request_signup(
            session, "gone.reader@example.net", Preferences(), "text", now=AFTER_W47
        )
        assert later is not None
        later_nonce = later.nonce
        add_subscriber(session, "annoyed.reader@example.com", now=AFTER_W47)
        add_subscriber(session, "loyal@example.org", now=AFTER_W47)
        session.commit()
    with Session(desk_engine) as session:
        assert active_emails(session) == ["annoyed.reader@example.com", "loyal@example.org"]
        assert suppress(session, "gone.reader@example.net", "hard-bounce", "5.1.1")
        assert suppress(session, "annoyed.reader@example.com", "complaint", "abuse")
        session.commit()
    with Session(desk_engine) as session:
        # confirming after the bounce does not make the address active
        assert confirm_signup(session, later_nonce, now=AFTER_W47)[0] == "suppressed"
        assert request_signup(session, "gone.reader@example.net", Preferences(), "t") is None
        session.commit()
        assert active_emails(session) == ["loyal@example.org"]
        assert set(subscriber_preferences(session)) == {"loyal@example.org"}
        annoyed = session.exec(
            select(Subscriber).where(Subscriber.email == "annoyed.reader@example.com")
        ).one()
        assert annoyed is not None and annoyed.unsubscribed_at is not None


def test_the_handmade_dsn_and_complaint_suppress_their_addresses(
    desk_engine: Engine, tmp_path: Path
) -> None:
    dsn, arf = DSN.read_bytes(), ARF.read_bytes()
    bounces = parse_report(message_from_bytes(dsn))
    assert [(b.email, b.kind) for b in bounces] == [("gone.reader@example.net", "hard-bounce")]
    assert bounces[0].detail.startswith("5.1.1 smtp; 550 5.1.1")  # the 4.4.1 delay is ignored
    (complaint,) = parse_report(message_from_bytes(arf))
    assert (complaint.email, complaint.kind) == ("annoyed.reader@example.com", "complaint")

    maildir = mailbox.Maildir(tmp_path / "Bounces", create=True)
    maildir.add(dsn)
    maildir.add(b"From: friend@example.org\nSubject: thanks\n\nNot a report.\n")
    maildir.close()
    box = mailbox.mbox(tmp_path / "complaints.mbox", create=True)
    box.add(arf)
    box.close()
    with Session(desk_engine) as session:
        for address in (
            "gone.reader@example.net",
            "annoyed.reader@example.com",
            "slow.reader@example.net",
        ):
            add_subscriber(session, address, now=AFTER_W47)
        session.commit()
    report = read_bounces(str(tmp_path / "Bounces"), {})
    assert (report.messages, len(report.found), report.ignored) == (2, 1, 1)
    assert len(read_bounces(str(tmp_path / "complaints.mbox"), {}).found) == 1

    from digest.app.cli.staff import cmd_bounces
    from tests.test_desk_cli import run_handler

    out = run_handler(cmd_bounces, desk_engine, action="import", path=str(tmp_path / "Bounces"))
    assert "gone.reader@example.net\thard-bounce" in out and "1 newly suppressed" in out
    out = run_handler(
        cmd_bounces, desk_engine, action="import", path=str(tmp_path / "complaints.mbox")
    )
    assert "annoyed.reader@example.com\tcomplaint" in out
    again = run_handler(cmd_bounces, desk_engine, action="import", path=str(tmp_path / "Bounces"))
    assert "0 newly suppressed" in again
    with Session(desk_engine) as session:
        assert is_suppressed(session, "gone.reader@example.net")
        assert active_emails(session) == ["slow.reader@example.net"]  # a delay is not a bounce
        assert consent_history(session, "gone.reader@example.net")[-1].event == "suppressed"


def _study(design: str, conditions: tuple[str, ...], retracted: bool = False) -> StudyView:
    return StudyView(
        slug=f"{design}-{'-'.join(conditions)}",
        title="t",
        design=design,
        design_label=design,
        conditions=tuple(Tag(c, c) for c in conditions),
        retracted=retracted,
    )


@pytest.mark.parametrize(
    "preferences, study, wanted",
    [
        (Preferences(), _study("case-report", ("neck-pain",)), True),
        (Preferences(), _study("animal-or-lab", ()), True),
        (Preferences(frozenset({"neck-pain"})), _study("rct", ("low-back-pain",)), False),
        (Preferences(frozenset({"neck-pain"})), _study("rct", ("neck-pain", "x")), True),
        (Preferences(frozenset({"neck-pain"})), _study("rct", ()), False),
        (Preferences(min_tier="trial"), _study("rct", ("neck-pain",)), True),
        (Preferences(min_tier="trial"), _study("systematic-review", ("neck-pain",)), True),
        (Preferences(min_tier="trial"), _study("observational", ("neck-pain",)), False),
        (Preferences(min_tier="trial"), _study("trial-registration", ("neck-pain",)), False),
        (Preferences(min_tier="synthesis"), _study("guideline", ("neck-pain",)), True),
        (Preferences(min_tier="synthesis"), _study("rct", ("neck-pain",)), False),
        (Preferences(min_tier="descriptive"), _study("case-report", ("neck-pain",)), True),
        (Preferences(min_tier="descriptive"), _study("editorial", ("neck-pain",)), False),
        (Preferences(min_tier="synthesis"), _study("case-report", ("neck-pain",), True), True),
        (Preferences(frozenset({"knee"}), "synthesis"), _study("rct", ("neck",), True), False),
    ],
)
def test_wants_honours_conditions_and_design_tier(
    preferences: Preferences, study: StudyView, wanted: bool
) -> None:
    assert wants(preferences, study) is wanted


def test_preferences_survive_json() -> None:
    prefs = Preferences(frozenset({"a", "b"}), "comparative", "monthly")
    assert Preferences.from_json(prefs.to_json()) == prefs
    assert Preferences.from_json({"min_tier": "bogus", "frequency": "daily"}) == Preferences()


def test_an_active_subscriber_changes_preferences_by_signing_up_again(
    desk_engine: Engine,
) -> None:
    first = Preferences(frozenset({"low-back-pain"}), "any", "weekly")
    second = Preferences(frozenset({"migraine"}), "trial", "monthly")
    with Session(desk_engine) as session:
        signup = request_signup(session, "reader@example.org", first, "text", now=AFTER_W47)
        assert signup is not None
        assert confirm_signup(session, signup.nonce, now=AFTER_W47)[0] == "confirmed"
        again = request_signup(
            session, "reader@example.org", second, "text", now=AFTER_W47 + timedelta(days=3)
        )
        assert again is not None
        session.commit()
        # the new choices wait for the new confirm link: anyone can type an address
        assert subscriber_preferences(session)["reader@example.org"] == first
        later = AFTER_W47 + timedelta(days=3, hours=1)
        assert confirm_signup(session, again.nonce, now=later)[0] == "confirmed"
        session.commit()
        assert subscriber_preferences(session)["reader@example.org"] == second
        assert active_emails(session) == ["reader@example.org"]
