"""Email: tokens, subscribers, composition, SMTP delivery through a real local server
(aiosmtpd on 127.0.0.1, plain, STARTTLS and SMTPS), the delivery ledger across crashes
and refusals (SQLite and PostgreSQL via `db_engine`), dry runs, one-click unsubscribe."""

from __future__ import annotations

import email
import http.client
import logging
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from bs4 import BeautifulSoup
from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.errors import ConfigError
from digest.model import Subscriber
from digest.publish.mail.compose import compose_digest_message
from digest.publish.mail.send import send_digest, write_dry_run
from digest.publish.mail.settings import MailSettings, mail_settings_from_config, message_id_for
from digest.publish.mail.smtp import SmtpConfig, SmtpTransport, SmtpUnavailable, parse_smtp_url
from digest.publish.tokens import load_secret, make_unsubscribe_token, verify_unsubscribe_token
from digest.publish.unsubscribe import handle_unsubscribe, make_unsubscribe_app
from digest.store import deliveries
from digest.store.deliveries import InvalidEmail, normalize_email
from tests.conftest import make_settings
from tests.test_render import SETTINGS, corpus_digests, hostile_digest, hostile_settings
from tests.test_site import assert_inert

SECRET = b"test-secret-0123456789abcdef"
MAIL = MailSettings(
    site=SETTINGS,
    from_address="Acupuncture Evidence Digest <digest@example.org>",
    list_id="weekly.digest.example.org",
    unsubscribe_url="https://digest.example.org/unsubscribe",
    unsubscribe_mailto="unsubscribe@example.org",
    secret=SECRET,
)
ADDRESSES = [f"reader{i}@clinic{i % 2}.example.org" for i in range(1, 6)]
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def no_sleep(_: float) -> None:
    pass


# --------------------------------------------------------------------------- SMTP server


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps every accepted message and refuses on demand."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)  # address -> reply
    refuse_data: dict[str, str] = field(default_factory=dict)  # address -> reply
    logins: list[tuple[str, str, bool]] = field(default_factory=list)  # user, password, tls

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for address in envelope.rcpt_tos:
            if address in self.refuse_data:
                return self.refuse_data[address]
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        user, password = data.login.decode(), data.password.decode()
        self.logins.append((user, password, session.ssl is not None))
        return AuthResult(success=password == "s3cret-pw", handled=False)

    def count(self, address: str) -> int:
        return sum(address in rcpts for _, rcpts, _ in self.messages)

    def parsed(self) -> list[EmailMessage]:
        parsed = [
            email.message_from_bytes(raw, policy=default_policy) for _, _, raw in self.messages
        ]
        return [m for m in parsed if isinstance(m, EmailMessage)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


def plain_transport(port: int, retries: int = 2, **kwargs: Any) -> SmtpTransport:
    return SmtpTransport(
        parse_smtp_url(f"smtp://127.0.0.1:{port}"),
        retries=retries,
        backoff=0.01,
        sleep=no_sleep,
        **kwargs,
    )


# --------------------------------------------------------------------------- fixtures


def add_readers(engine: Engine, addresses: list[str] = ADDRESSES) -> list[Subscriber]:
    with Session(engine) as session:
        for index, address in enumerate(addresses):
            deliveries.add_subscriber(session, address, name=f"Reader {index + 1}")
        deliveries.add_subscriber(session, "gone@clinic0.example.org")
        deliveries.remove_subscriber(session, "gone@clinic0.example.org")
        session.commit()
        return deliveries.list_subscribers(session)


def ledger(engine: Engine, week: str = "2026-W47") -> dict[int, tuple[str, int]]:
    with Session(engine) as session:
        return {
            d.subscriber_id: (d.status, d.attempts)
            for d in deliveries.deliveries_for_week(session, week)
        }


# --------------------------------------------------------------------------- tokens


def test_token_round_trip_and_forgeries() -> None:
    token = make_unsubscribe_token(SECRET, MAIL.list_id, "reader1@clinic1.example.org")
    assert verify_unsubscribe_token(SECRET, MAIL.list_id, token) == "reader1@clinic1.example.org"
    encoded_email, signature = token.split(".")
    other = make_unsubscribe_token(SECRET, MAIL.list_id, "victim@clinic1.example.org")
    forged = [
        f"{other.split('.')[0]}.{signature}",  # someone else's address, my signature
        f"{encoded_email}.{signature[:-2]}AA",
        f"{encoded_email}.",
        "",
        "....",
        "not a token",
        "a.b.c",
        "x" * 2000,
    ]
    for candidate in forged:
        assert verify_unsubscribe_token(SECRET, MAIL.list_id, candidate) is None, candidate
    assert verify_unsubscribe_token(b"another-secret-0123456789", MAIL.list_id, token) is None
    assert verify_unsubscribe_token(SECRET, "weekly.other.example", token) is None
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_secret_comes_from_the_environment_and_must_be_long() -> None:
    assert load_secret({"DIGEST_SECRET": "x" * 32}) == b"x" * 32
    for env in ({}, {"DIGEST_SECRET": "short"}):
        with pytest.raises(ConfigError, match="DIGEST_SECRET"):
            load_secret(env)


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("url", "host", "port", "security", "user"),
    [
        ("smtp://127.0.0.1:2525", "127.0.0.1", 2525, "plain", None),
        ("smtp://relay.example.org", "relay.example.org", 25, "plain", None),
        (
            "smtp://digest%40example.org@mail.example.org:587",
            "mail.example.org",
            587,
            "starttls",
            "digest@example.org",
        ),
        ("smtp+starttls://u@mail.example.org", "mail.example.org", 587, "starttls", "u"),
        ("smtps://u@mail.example.org", "mail.example.org", 465, "ssl", "u"),
        ("smtp://u@localhost:1025", "localhost", 1025, "plain", "u"),
    ],
)
def test_parse_smtp_url(url: str, host: str, port: int, security: str, user: str | None) -> None:
    config = parse_smtp_url(url, password="s3cret-pw")
    assert (config.host, config.port, config.security, config.username) == (
        host,
        port,
        security,
        user,
    )
    assert "s3cret-pw" not in repr(config)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://mail.example.org", "must start with"),
        ("smtp://u:pw@mail.example.org:587", "DIGEST_SMTP_PASSWORD"),
        ("smtp://u@mail.example.org:25", "unencrypted"),
        ("smtp://mail.example.org:port", "port"),
        ("smtp://", "no host"),
    ],
)
def test_bad_smtp_urls(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_smtp_url(url)


def test_mail_settings_from_config() -> None:
    sources = "  - {name: pubmed, kind: pubmed, query: acupuncture}"
    extra = (
        "email: {unsubscribe_url: 'https://digest.example.org/unsubscribe',"
        " unsubscribe_mailto: 'mailto:unsubscribe@example.org'}"
    )
    settings = make_settings("sqlite://", sources, extra)
    mail = mail_settings_from_config(settings, {"DIGEST_SECRET": "y" * 24})
    assert mail.list_id == "weekly.digest.example.org"
    assert mail.unsubscribe_mailto == "unsubscribe@example.org"
    assert mail.secret == b"y" * 24 and "yyyy" not in repr(mail)
    with pytest.raises(ConfigError, match="unsubscribe_url"):
        mail_settings_from_config(make_settings("sqlite://", sources), {"DIGEST_SECRET": "y" * 24})
    insecure = extra.replace("https://digest", "http://digest")
    with pytest.raises(ConfigError, match="https"):
        mail_settings_from_config(
            make_settings("sqlite://", sources, insecure), {"DIGEST_SECRET": "y" * 24}
        )


def test_the_postal_address_from_config_is_a_footer_line_of_both_parts() -> None:
    sources = "  - {name: pubmed, kind: pubmed, query: acupuncture}"
    extra = (
        "email: {unsubscribe_url: 'https://digest.example.org/unsubscribe',"
        " postal_address: 'Riverside Clinic, 12 Mill Lane, Leeds LS1 4AB'}"
    )
    mail = mail_settings_from_config(
        make_settings("sqlite://", sources, extra), {"DIGEST_SECRET": "y" * 24}
    )
    message = compose_digest_message(corpus_digests()[0], mail, "r@clinic.example.org", None, NOW)
    text, html_part = (p.get_content() for p in message.iter_parts())
    line = "Riverside Clinic, 12 Mill Lane, Leeds LS1 4AB"
    assert text.rstrip().endswith(line)
    footer = BeautifulSoup(html_part, "lxml").find(class_="footer")
    assert footer is not None and footer.find_all("p")[-1].get_text() == line
    # without the setting, no empty line or paragraph stands in for it
    bare = compose_digest_message(corpus_digests()[0], MAIL, "r@clinic.example.org", None, NOW)
    assert "Mill Lane" not in bare.as_string()
    assert (
        BeautifulSoup(list(bare.iter_parts())[1].get_content(), "lxml")
        .find(class_="footer")
        .find_all("p")[-1]
        .get_text()
        .startswith("You receive this email")
    )


# --------------------------------------------------------------------------- subscribers


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Reader@Clinic.Example.ORG", "reader@clinic.example.org"),
        ("  a.b+digest@example.co.uk ", "a.b+digest@example.co.uk"),
    ],
)
def test_normalize_email(raw: str, normalized: str) -> None:
    assert normalize_email(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "no-at-sign",
        "a@b",
        "two@@example.org",
        "Name <a@example.org>",
        "a@example.org\r\nBcc: x@y.org",
        "a@example.org, b@example.org",
        "a b@example.org",
        "a@-example.org",
        "a@example.123",
        '"quoted"@example.org',
        ".a@example.org",
        "a..b@example.org",
        "a@[127.0.0.1]",
        "x" * 65 + "@example.org",
        "a@" + "b" * 250 + ".org",
        "ü@example.org",
    ],
)
def test_invalid_emails_are_refused(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        normalize_email(raw)


def test_subscribers_add_remove_reactivate_list(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        row, outcome = deliveries.add_subscriber(session, "Reader@Clinic.example.org", "Ann  Lee")
        assert outcome == "added" and row.email == "reader@clinic.example.org"
        assert row.name == "Ann Lee"
        assert deliveries.add_subscriber(session, "reader@clinic.example.org")[1] == "unchanged"
        assert deliveries.remove_subscriber(session, "READER@clinic.example.org") is True
        assert deliveries.remove_subscriber(session, "reader@clinic.example.org") is False
        assert deliveries.list_subscribers(session) == []
        assert len(deliveries.list_subscribers(session, include_unsubscribed=True)) == 1
        assert deliveries.add_subscriber(session, "reader@clinic.example.org")[1] == "reactivated"
        session.commit()
    with Session(db_engine) as session:
        assert [s.email for s in deliveries.list_subscribers(session)] == [
            "reader@clinic.example.org"
        ]
        assert deliveries.erase_subscriber(session, "reader@clinic.example.org") is True
        session.commit()
        assert deliveries.list_subscribers(session, include_unsubscribed=True) == []


def test_import_csv_with_and_without_header(db_engine: Engine) -> None:
    with_header = (
        "\ufeffname,email\nAnn Lee,ann@clinic.example.org\n,\nBad,not-an-address\n"
        "Bob,BOB@clinic.example.org\nAnn again,ann@clinic.example.org\n"
    )
    with Session(db_engine) as session:
        report = deliveries.import_subscribers_csv(session, with_header)
        assert (report.added, report.reactivated, report.unchanged) == (2, 0, 1)
        assert [(line, value) for line, value, _ in report.invalid] == [(4, "not-an-address")]
        plain = "cy@clinic.example.org\nbob@clinic.example.org\n"
        report = deliveries.import_subscribers_csv(session, plain)
        assert (report.added, report.unchanged, report.invalid) == (1, 1, [])
        session.commit()
        emails = [s.email for s in deliveries.list_subscribers(session)]
    assert emails == ["ann@clinic.example.org", "bob@clinic.example.org", "cy@clinic.example.org"]


# --------------------------------------------------------------------------- composing


def test_message_is_multipart_alternative_with_rfc8058_headers() -> None:
    digest = corpus_digests()[0]
    message = compose_digest_message(digest, MAIL, "reader1@clinic1.example.org", "Reader One", NOW)
    raw = message.as_bytes()
    parsed = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert parsed["Subject"] == (
        f"{SETTINGS.title}, week of 16 Nov 2026: 7 studies newly found (were published earlier)"
    )
    assert parsed["To"] == "Reader One <reader1@clinic1.example.org>"
    assert parsed["Date"] == "Mon, 23 Nov 2026 07:00:00 +0000"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert b"\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n" in raw
    # one line, not folded into RFC 2047 encoded words (which would break the URI)
    assert b"\nList-Unsubscribe: <https://digest.example.org/unsubscribe?token=" in raw
    assert parsed["List-Id"] == "<weekly.digest.example.org>"
    assert len(parsed.get_all("List-Unsubscribe")) == 1
    https_uri, mailto_uri = [u.strip(" <>") for u in parsed["List-Unsubscribe"].split(",")]
    assert https_uri.startswith("https://digest.example.org/unsubscribe?token=")
    token = https_uri.split("token=", 1)[1]
    assert verify_unsubscribe_token(SECRET, MAIL.list_id, token) == "reader1@clinic1.example.org"
    assert mailto_uri == f"mailto:unsubscribe@example.org?subject=unsubscribe%20{token}"
    text = parts[0].get_content()
    assert f"Unsubscribe (one click): {https_uri}" in text
    soup = BeautifulSoup(parts[1].get_content(), "lxml")
    assert soup.find("a", string="Unsubscribe")["href"] == https_uri
    assert soup.find("a", string="Read this digest on the web")["href"] == (
        "https://digest.example.org/digests/2026-W47/"
    )
    assert parsed["Message-ID"] == message_id_for(MAIL, "2026-W47", "reader1@clinic1.example.org")
    again = compose_digest_message(digest, MAIL, "reader1@clinic1.example.org", "Reader One", NOW)
    assert again.as_bytes() == raw  # same week + subscriber: same id, same bytes
    other = compose_digest_message(digest, MAIL, "reader2@clinic0.example.org", None, NOW)
    assert other["Message-ID"] != parsed["Message-ID"]
    assert other["To"] == "reader2@clinic0.example.org"


def test_header_values_cannot_be_injected() -> None:
    digest = hostile_digest()
    mail = replace(MAIL, site=hostile_settings())
    message = compose_digest_message(
        digest, mail, "reader1@clinic1.example.org", "Evil\r\nBcc: victim@example.org", NOW
    )
    raw = message.as_bytes()
    assert b"\nBcc:" not in raw
    parsed = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Bcc"] is None and "\n" not in parsed["Subject"]
    html = parsed.get_body(preferencelist=("html",))
    assert html is not None
    assert_inert(html.get_content(), allow_scripts=set(), email=True)


# --------------------------------------------------------------------------- delivery


def test_each_active_subscriber_gets_the_digest_once(
    db_engine: Engine, smtp_server: tuple[Recorder, int]
) -> None:
    recorder, port = smtp_server
    add_readers(db_engine)
    digest = corpus_digests()[0]
    with plain_transport(port) as transport:
        report = send_digest(db_engine, digest, MAIL, transport, clock=lambda: NOW)
    assert sorted(report.sent) == sorted(ADDRESSES) and report.failed == []
    assert [recorder.count(a) for a in ADDRESSES] == [1] * 5
    assert recorder.count("gone@clinic0.example.org") == 0
    for message in recorder.parsed():
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["From"] == MAIL.from_address
        body = message.get_body(preferencelist=("plain",))
        assert body is not None and "LOW BACK PAIN" in body.get_content()
    assert set(ledger(db_engine).values()) == {("sent", 1)}
    with plain_transport(port) as transport:
        rerun = send_digest(db_engine, digest, MAIL, transport, clock=lambda: NOW)
    assert rerun.sent == [] and sorted(rerun.already_sent) == sorted(ADDRESSES)
    assert len(recorder.messages) == 5


class CrashOnSend:
    """Wraps a transport; raises on the n-th message, before or after really sending it."""

    def __init__(self, inner: SmtpTransport, crash_on: int, after_sending: bool = False):
        self.inner = inner
        self.crash_on = crash_on
        self.after_sending = after_sending
        self.calls = 0

    def send(self, message: EmailMessage) -> None:
        self.calls += 1
        if self.calls == self.crash_on and not self.after_sending:
            raise RuntimeError("process killed")
        self.inner.send(message)
        if self.calls == self.crash_on:
            raise RuntimeError("process killed after the server accepted")


def test_crash_after_n_sends_then_rerun_delivers_the_rest_at_most_once(
    db_engine: Engine, smtp_server: tuple[Recorder, int]
) -> None:
    """A run that dies while a message is in flight leaves that delivery `sending`: the
    sender cannot know whether the server got it, so the rerun reports it as unconfirmed
    and does not resend it (at most once, never twice); everyone else gets exactly one."""
    recorder, port = smtp_server
    subscribers = add_readers(db_engine)
    digest = corpus_digests()[0]
    with plain_transport(port) as transport, pytest.raises(RuntimeError, match="killed"):
        send_digest(db_engine, digest, MAIL, CrashOnSend(transport, crash_on=3))
    assert len(recorder.messages) == 2
    state = ledger(db_engine)
    assert sorted(state.values()) == [("sending", 1), ("sent", 1), ("sent", 1)]
    with plain_transport(port) as transport:
        report = send_digest(db_engine, digest, MAIL, transport)
    assert len(report.sent) == 2 and len(report.already_sent) == 2
    assert report.unconfirmed == [ADDRESSES[2]]
    assert [recorder.count(a) for a in ADDRESSES] == [1, 1, 0, 1, 1]
    state = ledger(db_engine)
    assert {s.id: state[s.id] for s in subscribers}[subscribers[2].id] == ("unconfirmed", 1)
    # a person who checked it never arrived requeues it; then it goes out once
    with Session(db_engine) as session:
        assert deliveries.requeue_unconfirmed(session, digest.week) == 1
    with plain_transport(port) as transport:
        assert send_digest(db_engine, digest, MAIL, transport).sent == [ADDRESSES[2]]
    assert [recorder.count(a) for a in ADDRESSES] == [1] * 5


def test_crash_between_acceptance_and_ledger_is_never_sent_twice(
    db_engine: Engine, smtp_server: tuple[Recorder, int]
) -> None:
    recorder, port = smtp_server
    add_readers(db_engine)
    digest = corpus_digests()[0]
    with plain_transport(port) as transport, pytest.raises(RuntimeError):
        send_digest(db_engine, digest, MAIL, CrashOnSend(transport, 2, after_sending=True))
    with plain_transport(port) as transport:
        report = send_digest(db_engine, digest, MAIL, transport)
    # the one message in flight was delivered once and is reported, not resent
    assert [recorder.count(a) for a in ADDRESSES] == [1] * 5
    assert report.unconfirmed == [ADDRESSES[1]]


def test_send_under_a_long_sqlite_write_lock_is_a_clear_error_and_the_rerun_is_safe(
    tmp_path: Path, smtp_server: tuple[Recorder, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer holds SQLite's write lock past the busy timeout just after the
    server accepted a message: a StoreError naming the step (no traceback), and the
    rerun mails nobody twice."""
    import sqlite3

    from digest.errors import StoreError
    from digest.store import db

    monkeypatch.setattr(db, "SQLITE_BUSY_SECONDS", 0.3)
    path = tmp_path / "locked.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.migrate(engine)
    recorder, port = smtp_server
    add_readers(engine)
    digest = corpus_digests()[0]
    other = sqlite3.connect(path, timeout=5, isolation_level=None)

    class LockAfterSecond:
        def __init__(self, inner: SmtpTransport) -> None:
            self.inner, self.calls = inner, 0

        def send(self, message: EmailMessage) -> None:
            self.inner.send(message)
            self.calls += 1
            if self.calls == 2:
                other.execute("BEGIN IMMEDIATE")  # a long write transaction elsewhere

    with plain_transport(port) as transport, pytest.raises(StoreError, match="locked"):
        send_digest(engine, digest, MAIL, LockAfterSecond(transport))
    other.execute("ROLLBACK")
    other.close()
    with plain_transport(port) as transport:
        report = send_digest(engine, digest, MAIL, transport)
    assert [recorder.count(a) for a in ADDRESSES] == [1] * 5
    assert report.unconfirmed == [ADDRESSES[1]]
    engine.dispose()


def test_server_refusing_with_4xx_stops_the_run_and_a_rerun_finishes(
    db_engine: Engine, smtp_server: tuple[Recorder, int]
) -> None:
    recorder, port = smtp_server
    subscribers = add_readers(db_engine)
    digest = corpus_digests()[0]
    recorder.refuse_data[ADDRESSES[2]] = "451 4.3.0 Try again later"
    delays: list[float] = []
    transport = SmtpTransport(
        parse_smtp_url(f"smtp://127.0.0.1:{port}"),
        retries=3,
        backoff=0.5,
        backoff_max=1.5,
        sleep=delays.append,
    )
    with transport, pytest.raises(SmtpUnavailable, match="451"):
        send_digest(db_engine, digest, MAIL, transport)
    assert delays == [0.5, 1.0, 1.5]
    assert len(recorder.messages) == 2
    with Session(db_engine) as session:
        row = deliveries.get_delivery(session, "2026-W47", subscribers[2].id or 0)
        assert row is not None and row.status == "pending" and "451" in (row.last_error or "")
    recorder.refuse_data.clear()
    with plain_transport(port) as transport:
        report = send_digest(db_engine, digest, MAIL, transport)
    assert len(report.sent) == 3
    assert [recorder.count(a) for a in ADDRESSES] == [1] * 5


def test_a_refused_recipient_is_marked_failed_and_the_rest_go_on(
    db_engine: Engine, smtp_server: tuple[Recorder, int]
) -> None:
    recorder, port = smtp_server
    add_readers(db_engine)
    digest = corpus_digests()[0]
    recorder.refuse_rcpt[ADDRESSES[0]] = "550 5.1.1 No such user"
    with plain_transport(port) as transport:
        report = send_digest(db_engine, digest, MAIL, transport)
    assert [email for email, _ in report.failed] == [ADDRESSES[0]]
    assert "550" in report.failed[0][1]
    assert len(report.sent) == 4 and recorder.count(ADDRESSES[0]) == 0
    assert sorted(ledger(db_engine).values()) == [("failed", 1)] + [("sent", 1)] * 4


def test_connection_refused_is_retried_until_the_server_is_up(db_engine: Engine) -> None:
    add_readers(db_engine, ADDRESSES[:2])
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)

    def start_server(_: float) -> None:
        if not getattr(controller, "server", None):
            controller.start()

    transport = SmtpTransport(
        parse_smtp_url(f"smtp://127.0.0.1:{port}"), retries=2, backoff=0.01, sleep=start_server
    )
    try:
        with transport:
            report = send_digest(db_engine, corpus_digests()[0], MAIL, transport)
    finally:
        controller.stop()
    assert len(report.sent) == 2 and len(recorder.messages) == 2


def test_dry_run_writes_eml_files_and_leaves_the_ledger_alone(
    db_engine: Engine, tmp_path: Path
) -> None:
    add_readers(db_engine)
    digest = corpus_digests()[0]
    report = write_dry_run(db_engine, digest, MAIL, tmp_path / "out")
    names = sorted(p.name for p in report.written)
    assert names == sorted(f"{a}.eml" for a in ADDRESSES)
    message = email.message_from_bytes(report.written[0].read_bytes(), policy=default_policy)
    assert message.get_content_type() == "multipart/alternative"
    assert ledger(db_engine) == {}
    again = write_dry_run(db_engine, digest, MAIL, tmp_path / "again")
    assert [p.read_bytes() for p in again.written] == [p.read_bytes() for p in report.written]


# --------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _contexts(certificate: tuple[Path, Path]) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    cert, key = certificate
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


def _starttls_server(
    certificate: tuple[Path, Path],
) -> tuple[Controller, Recorder, int, ssl.SSLContext]:
    """A started SMTP server on 127.0.0.1 that requires STARTTLS and a login."""
    server_context, client_context = _contexts(certificate)
    recorder = Recorder()
    port = free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context,
        require_starttls=True,
        auth_required=True,
        authenticator=recorder.authenticate,
    )
    controller.start()
    return controller, recorder, port, client_context


def test_starttls_then_login(
    db_engine: Engine, certificate: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    controller, recorder, port, client_context = _starttls_server(certificate)
    add_readers(db_engine, ADDRESSES[:2])
    config = parse_smtp_url(f"smtp+starttls://digest-user@127.0.0.1:{port}", "s3cret-pw")
    try:
        with (
            caplog.at_level(logging.DEBUG),
            SmtpTransport(config, sleep=no_sleep, ssl_context=client_context) as transport,
        ):
            report = send_digest(db_engine, corpus_digests()[0], MAIL, transport)
    finally:
        controller.stop()
    assert len(report.sent) == 2 and len(recorder.messages) == 2
    assert recorder.logins == [("digest-user", "s3cret-pw", True)]
    assert "s3cret-pw" not in caplog.text


def test_wrong_password_stops_the_run_without_retrying(
    db_engine: Engine, certificate: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    controller, recorder, port, client_context = _starttls_server(certificate)
    add_readers(db_engine, ADDRESSES[:2])
    config = SmtpConfig("127.0.0.1", port, "starttls", "digest-user", "wrong-pw")
    delays: list[float] = []
    try:
        with (
            caplog.at_level(logging.DEBUG),
            SmtpTransport(config, sleep=delays.append, ssl_context=client_context) as transport,
            pytest.raises(SmtpUnavailable, match="535") as raised,
        ):
            send_digest(db_engine, corpus_digests()[0], MAIL, transport)
    finally:
        controller.stop()
    assert delays == [] and {login[1] for login in recorder.logins} == {"wrong-pw"}
    assert "wrong-pw" not in caplog.text and "wrong-pw" not in str(raised.value)


def test_smtps(db_engine: Engine, certificate: tuple[Path, Path]) -> None:
    server_context, client_context = _contexts(certificate)
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, ssl_context=server_context)
    controller.start()
    add_readers(db_engine, ADDRESSES[:1])
    try:
        with SmtpTransport(
            parse_smtp_url(f"smtps://127.0.0.1:{port}"), sleep=no_sleep, ssl_context=client_context
        ) as transport:
            report = send_digest(db_engine, corpus_digests()[0], MAIL, transport)
    finally:
        controller.stop()
    assert report.sent == ADDRESSES[:1] and len(recorder.messages) == 1


# --------------------------------------------------------------------------- unsubscribe


class _Silent(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def unsubscribe_server(db_engine: Engine) -> Iterator[tuple[Engine, int]]:
    server = make_server(
        "127.0.0.1", 0, make_unsubscribe_app(db_engine, MAIL), handler_class=_Silent
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield db_engine, server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def request(
    port: int,
    method: str,
    target: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


def is_active(engine: Engine, address: str) -> bool:
    with Session(engine) as session:
        row = deliveries.find_subscriber(session, address)
        return row is not None and row.unsubscribed_at is None


def test_one_click_unsubscribe_as_a_mail_client_does_it(
    unsubscribe_server: tuple[Engine, int],
) -> None:
    engine, port = unsubscribe_server
    add_readers(engine)
    message = compose_digest_message(corpus_digests()[0], MAIL, ADDRESSES[0], None, NOW)
    https_uri = message["List-Unsubscribe"].split(",")[0].strip(" <>")
    target = urlsplit(https_uri)
    path = f"{target.path}?{target.query}"
    # a GET (a link scanner, a preview) shows a form and changes nothing
    status, headers, body = request(port, "GET", path)
    assert status == 200 and '<form method="post"' in body and ADDRESSES[0] in body
    assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
    assert is_active(engine, ADDRESSES[0])
    status, headers, _ = request(port, "HEAD", path)
    assert status == 200 and is_active(engine, ADDRESSES[0])
    # RFC 8058 §3.2: POST with List-Unsubscribe=One-Click, no cookies, no redirect
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, headers, body = request(port, "POST", path, b"List-Unsubscribe=One-Click", form)
    assert status == 200 and "Location" not in headers and "unsubscribed" in body
    assert not is_active(engine, ADDRESSES[0])
    assert is_active(engine, ADDRESSES[1])
    status, _, _ = request(port, "POST", path, b"List-Unsubscribe=One-Click", form)
    assert status == 200


def test_unsubscribe_refuses_bad_requests(unsubscribe_server: tuple[Engine, int]) -> None:
    engine, port = unsubscribe_server
    add_readers(engine)
    token = make_unsubscribe_token(SECRET, MAIL.list_id, ADDRESSES[0])
    forged = make_unsubscribe_token(b"not-our-secret-0123456789", MAIL.list_id, ADDRESSES[0])
    assert request(port, "POST", f"/unsubscribe?token={forged}")[0] == 400
    assert request(port, "POST", "/unsubscribe")[0] == 400
    assert request(port, "GET", "/unsubscribe?token=%3Cscript%3E")[0] == 400
    assert request(port, "PUT", f"/unsubscribe?token={token}")[0] == 405
    assert request(port, "POST", f"/elsewhere?token={token}")[0] == 404
    assert is_active(engine, ADDRESSES[0])


def test_unsubscribed_readers_get_no_more_digests(
    db_engine: Engine, smtp_server: tuple[Recorder, int]
) -> None:
    recorder, port = smtp_server
    add_readers(db_engine)
    token = make_unsubscribe_token(SECRET, MAIL.list_id, ADDRESSES[3])
    assert handle_unsubscribe(db_engine, MAIL, token) == "unsubscribed"
    assert handle_unsubscribe(db_engine, MAIL, token) == "already"
    assert handle_unsubscribe(db_engine, MAIL, token[:-3] + "xyz") == "invalid"
    with plain_transport(port) as transport:
        send_digest(db_engine, corpus_digests()[0], MAIL, transport)
    assert recorder.count(ADDRESSES[3]) == 0 and len(recorder.messages) == 4


def test_a_second_sender_is_refused_while_one_is_sending(tmp_path: Path) -> None:
    """`digest send` takes the database's "send" lock: two senders never run at once."""
    from digest.app.weekly import send_week
    from digest.store.db import make_engine, migrate
    from digest.store.lock_core import LockHeldError
    from digest.store.locks import acquire_scheduler_lock
    from tests.conftest import make_settings

    url = f"sqlite:///{tmp_path / 'd.db'}"
    engine = make_engine(url)
    migrate(engine)
    settings = make_settings(
        url, "  []", "email: {unsubscribe_url: 'https://digest.example.org/unsubscribe'}\n"
    )
    env = {"DIGEST_SECRET": "x" * 32, "DIGEST_SMTP_URL": "smtp://127.0.0.1:9"}
    with (
        acquire_scheduler_lock(engine, name="send", heartbeat_interval=None),
        pytest.raises(LockHeldError, match="already doing `send`"),
    ):
        send_week(settings, engine, "2026-W46", env=env)


def test_handmade_bidi_override_in_a_stored_title_never_reaches_the_subject() -> None:
    from digest.publish.mail.compose import prepare_digest

    digest = replace(corpus_digests()[0], title="Evidence \u202etsegid\u202c digest")
    subject = prepare_digest(digest, MAIL).subject
    assert "\u202e" not in subject and "\u202c" not in subject
    assert subject.startswith("Evidence tsegid digest")
