"""Composing the digest email and delivering it over SMTP, once per subscriber.

- `compose_digest_message`: multipart/alternative (text, then inlined-CSS HTML) with
  Date, a deterministic Message-ID (same week + subscriber = same id, so a resend after
  a crash is recognisably the same message), List-Id, and RFC 8058 `List-Unsubscribe`
  (https + mailto, per-subscriber signed token) with `List-Unsubscribe-Post`.
- `SmtpTransport`: smtplib over STARTTLS (smtp+starttls:// or port 587), SMTPS
  (smtps://) or plain SMTP (smtp://, loopback or unauthenticated relays only); retries
  with exponential backoff on 4xx replies and dropped connections. The password comes
  from DIGEST_SMTP_PASSWORD and is never logged or shown in a repr.
- `send_digest`: walks the active subscribers through the delivery ledger
  (digest.store.deliveries): claim, send, mark sent, each committed on its own.
- `write_dry_run`: one .eml per subscriber that would be sent, ledger untouched.

DKIM signing is not done here: RFC 8058 requires the List-Unsubscribe headers to be
covered by a DKIM signature, which the relaying MTA (or a milter) must add.
"""

from __future__ import annotations

import hashlib
import html
import ipaddress
import logging
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol
from urllib.parse import unquote, urlsplit

from sqlalchemy.engine import Engine

from digest.config import Settings
from digest.errors import ConfigError, DigestError, register_secret
from digest.model import Subscriber, utcnow
from digest.publish.site_writer import write_atomically
from digest.publish.tokens import load_secret, make_unsubscribe_token
from digest.render.email_html import render_digest_email_html
from digest.render.sanitize import one_line
from digest.render.site import site_settings_from_config
from digest.render.text import render_digest_text
from digest.sources.text import clean_text
from digest.store.deliveries import DeliveryLedger
from digest.views import DigestView, SiteSettings

log = logging.getLogger(__name__)

SMTP_URL_ENV = "DIGEST_SMTP_URL"
SMTP_PASSWORD_ENV = "DIGEST_SMTP_PASSWORD"
# Long header lines must not be folded into RFC 2047 encoded words: a List-Unsubscribe
# URI broken that way is unusable. 998 is RFC 5322's hard line limit.
MAIL_POLICY = default_policy.clone(max_line_length=998)
_PLACEHOLDER = "https://unsubscribe.invalid/DIGEST-UNSUBSCRIBE-PLACEHOLDER"


class SendError(DigestError):
    """A message could not be delivered."""


class DeliveryRefused(SendError):
    """The server permanently refused this message or recipient (5xx); others may go on."""


class SmtpUnavailable(SendError):
    """The server cannot be used (down after retries, auth or sender refused): stop the run."""


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class MailSettings:
    site: SiteSettings
    from_address: str
    list_id: str  # e.g. weekly.digest.example.org (List-Id, and signed into every token)
    unsubscribe_url: str  # the https endpoint `digest serve` answers; ?token= is appended
    unsubscribe_mailto: str | None = None
    secret: bytes = field(default=b"", repr=False)


def _is_loopback(host: str | None) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def mail_settings_from_config(settings: Settings, env: Mapping[str, str]) -> MailSettings:
    """MailSettings from sources.yaml (email:, digest:) and DIGEST_SECRET."""
    site = site_settings_from_config(settings)
    endpoint = settings.email.unsubscribe_url
    if not endpoint:
        raise ConfigError(
            "needed to send: the https address `digest serve` answers on",
            key="email.unsubscribe_url",
        )
    parts = urlsplit(endpoint)
    if parts.scheme != "https" and not (parts.scheme == "http" and _is_loopback(parts.hostname)):
        raise ConfigError("must be an https:// URL (RFC 8058)", key="email.unsubscribe_url")
    mailto = settings.email.unsubscribe_mailto
    host = urlsplit(site.base_url).hostname or "digest.invalid"
    return MailSettings(
        site=site,
        from_address=settings.email.from_address,
        list_id=f"weekly.{host}",
        unsubscribe_url=endpoint,
        unsubscribe_mailto=mailto.removeprefix("mailto:") if mailto else None,
        secret=load_secret(env),
    )


def unsubscribe_link(mail: MailSettings, email: str) -> str:
    token = make_unsubscribe_token(mail.secret, mail.list_id, email)
    joiner = "&" if "?" in mail.unsubscribe_url else "?"
    return f"{mail.unsubscribe_url}{joiner}token={token}"


def list_unsubscribe_header(mail: MailSettings, email: str) -> str:
    """`<https://…?token=T>, <mailto:…?subject=unsubscribe%20T>` (RFC 2369 / 8058)."""
    value = f"<{unsubscribe_link(mail, email)}>"
    if mail.unsubscribe_mailto:
        token = make_unsubscribe_token(mail.secret, mail.list_id, email)
        value += f", <mailto:{mail.unsubscribe_mailto}?subject=unsubscribe%20{token}>"
    return value


def _sender_domain(mail: MailSettings) -> str:
    match = re.search(r"@([A-Za-z0-9.-]+)>?\s*$", mail.from_address)
    return match.group(1).lower() if match else "digest.invalid"


def message_id_for(mail: MailSettings, week: str, email: str) -> str:
    """The same id for the same list, week and subscriber, every time."""
    key = hashlib.sha256(f"{mail.list_id}\n{week}\n{email}".encode()).hexdigest()[:32]
    return f"<digest.{week}.{key}@{_sender_domain(mail)}>"


# --------------------------------------------------------------------------- composing


@dataclass(frozen=True, slots=True)
class PreparedDigest:
    """The digest rendered once; each subscriber's copy only swaps in their own link."""

    digest: DigestView
    subject: str
    text: str
    html: str


def prepare_digest(digest: DigestView, mail: MailSettings) -> PreparedDigest:
    # the view's honest subject ("newly found" vs "published this week"); bidi controls
    # (U+202E, ...) never reach a subject line, whatever the stored title
    subject = clean_text(one_line(digest.subject))
    return PreparedDigest(
        digest=digest,
        subject=subject,
        text=render_digest_text(digest, mail.site, unsubscribe_url=_PLACEHOLDER),
        html=render_digest_email_html(digest, mail.site, unsubscribe_url=_PLACEHOLDER),
    )


def compose_message(
    prepared: PreparedDigest, mail: MailSettings, email: str, name: str | None, date: datetime
) -> EmailMessage:
    """One subscriber's message, ready for SMTP (or a .eml file)."""
    link = unsubscribe_link(mail, email)
    message_id = message_id_for(mail, prepared.digest.week, email)
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = prepared.subject
    message["From"] = mail.from_address
    message["To"] = Address(display_name=one_line(name), addr_spec=email)
    message["Date"] = format_datetime(date.astimezone(UTC))
    message["Message-ID"] = message_id
    message["List-Id"] = f"<{mail.list_id}>"
    message["List-Unsubscribe"] = list_unsubscribe_header(mail, email)
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Precedence"] = "bulk"
    message.set_content(prepared.text.replace(_PLACEHOLDER, link))
    message.add_alternative(prepared.html.replace(_PLACEHOLDER, html.escape(link)), subtype="html")
    # a fixed boundary keeps a dry run's .eml files identical from run to run
    message.set_boundary("=_digest_" + hashlib.sha256(message_id.encode()).hexdigest()[:24])
    return message


def compose_digest_message(
    digest: DigestView,
    mail: MailSettings,
    email: str,
    name: str | None = None,
    date: datetime | None = None,
) -> EmailMessage:
    """Convenience for one message; `send_digest` prepares once and composes per subscriber."""
    return compose_message(prepare_digest(digest, mail), mail, email, name, date or digest.built_at)


# --------------------------------------------------------------------------- SMTP


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    security: Literal["plain", "starttls", "ssl"]
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0


def parse_smtp_url(url: str, password: str | None = None) -> SmtpConfig:
    """smtp://[user@]host[:port], smtp+starttls://…, smtps://… (password never in the URL)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtp+starttls", "smtps"):
        raise ConfigError("must start with smtp://, smtp+starttls:// or smtps://", key=SMTP_URL_ENV)
    if parts.password is not None:
        raise ConfigError(
            f"put the password in {SMTP_PASSWORD_ENV}, not in the URL", key=SMTP_URL_ENV
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError("the port is not a number", key=SMTP_URL_ENV) from exc
    if not parts.hostname:
        raise ConfigError("no host in the URL", key=SMTP_URL_ENV)
    default_port = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}[scheme]
    port = port or default_port
    security: Literal["plain", "starttls", "ssl"] = (
        "ssl"
        if scheme == "smtps"
        else "starttls"
        if scheme == "smtp+starttls" or port == 587
        else "plain"
    )
    username = unquote(parts.username) if parts.username else None
    if security == "plain" and username and not _is_loopback(parts.hostname):
        raise ConfigError(
            "refusing to send a password over unencrypted SMTP: use smtp+starttls:// or smtps://",
            key=SMTP_URL_ENV,
        )
    register_secret(password)  # redacted by value in errors and logs
    return SmtpConfig(
        host=parts.hostname, port=port, security=security, username=username, password=password
    )


def smtp_config_from_env(env: Mapping[str, str]) -> SmtpConfig:
    url = env.get(SMTP_URL_ENV)
    if not url:
        raise ConfigError(
            "set it to smtp+starttls://user@host:587 (or smtps://, smtp://)", key=SMTP_URL_ENV
        )
    return parse_smtp_url(url, env.get(SMTP_PASSWORD_ENV) or None)


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Deliver or raise DeliveryRefused / SmtpUnavailable."""


class SmtpTransport:
    """One SMTP connection reused across messages, reopened after errors."""

    def __init__(
        self,
        config: SmtpConfig,
        *,
        retries: int = 4,
        backoff: float = 2.0,
        backoff_max: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.config = config
        self.retries = retries
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.sleep = sleep
        self.ssl_context = ssl_context
        self._connection: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()

    def _open(self) -> smtplib.SMTP:
        cfg = self.config
        connection: smtplib.SMTP
        if cfg.security == "ssl":
            connection = smtplib.SMTP_SSL(
                cfg.host, cfg.port, timeout=cfg.timeout, context=self._context()
            )
        else:
            connection = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
        try:
            connection.ehlo()
            if cfg.security == "starttls":
                connection.starttls(context=self._context())
                connection.ehlo()
            if cfg.username:
                connection.login(cfg.username, cfg.password or "")
        except BaseException:
            connection.close()
            raise
        return connection

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                self._connection.close()
            self._connection = None

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def send(self, message: EmailMessage) -> None:
        for attempt in range(self.retries + 1):
            try:
                if self._connection is None:
                    self._connection = self._open()
                self._connection.send_message(message)
                return
            except (
                smtplib.SMTPAuthenticationError,
                smtplib.SMTPSenderRefused,
                smtplib.SMTPNotSupportedError,
            ) as exc:
                self._drop()
                raise SmtpUnavailable(f"SMTP server refused us: {_describe(exc)}") from exc
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                if not all(400 <= code < 500 for code in codes):
                    raise DeliveryRefused(f"recipient refused: {_describe(exc)}") from exc
                error: Exception = exc
            except smtplib.SMTPResponseException as exc:
                if not 400 <= exc.smtp_code < 500:
                    self._drop()
                    raise DeliveryRefused(f"message refused: {_describe(exc)}") from exc
                error = exc
            except OSError as exc:  # SMTPServerDisconnected, refused/reset connections, timeouts
                error = exc
            self._drop()
            if attempt == self.retries:
                raise SmtpUnavailable(f"gave up after {attempt + 1} tries: {_describe(error)}")
            delay = min(self.backoff * 2**attempt, self.backoff_max)
            log.warning(
                "SMTP send failed (%s); retry %d/%d in %.1fs",
                _describe(error),
                attempt + 1,
                self.retries,
                delay,
            )
            self.sleep(delay)


def _describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{code} {reply.decode(errors='replace')}" for code, reply in exc.recipients.values()
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        message = exc.smtp_error
        text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
        return f"{exc.smtp_code} {text}"
    return f"{type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------- delivery


@dataclass(slots=True)
class SendReport:
    week: str
    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    # left "sending" by a run that stopped mid-send: possibly delivered, not resent
    unconfirmed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # email, reason
    written: list[Path] = field(default_factory=list)  # dry run files
    held: str | None = None  # why nothing was sent (every source failed that week)


def _active(ledger: DeliveryLedger, subscribers: Sequence[Subscriber] | None) -> list[Subscriber]:
    if subscribers is not None:
        return [s for s in subscribers if s.unsubscribed_at is None]
    return ledger.active_subscribers()


def send_digest(
    engine: Engine,
    digest: DigestView,
    mail: MailSettings,
    transport: Transport,
    *,
    subscribers: Sequence[Subscriber] | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> SendReport:
    """Send this week's digest to every active subscriber who does not have it yet.

    Raises SmtpUnavailable when the server cannot be used (the rest stay pending for the
    next run); any other exception (a crash) leaves the ledger consistent, too.
    """
    ledger = DeliveryLedger(engine)
    prepared = prepare_digest(digest, mail)
    report = SendReport(week=digest.week)
    for subscriber in _active(ledger, subscribers):
        if subscriber.id is None:
            continue
        message_id = message_id_for(mail, digest.week, subscriber.email)
        delivery_id = ledger.claim(digest.week, subscriber.id, message_id)
        if delivery_id is None:
            if ledger.status(digest.week, subscriber.id) == "unconfirmed":
                report.unconfirmed.append(subscriber.email)
                log.warning(
                    "subscriber %s: a previous run stopped while sending to them; possibly "
                    "delivered, not resent",
                    subscriber.id,
                )
            else:
                report.already_sent.append(subscriber.email)
            continue
        message = compose_message(prepared, mail, subscriber.email, subscriber.name, clock())
        try:
            transport.send(message)
        except DeliveryRefused as exc:
            ledger.mark_failed(delivery_id, str(exc), permanent=True)
            report.failed.append((subscriber.email, str(exc)))
            log.warning("not delivered to subscriber %s: %s", subscriber.id, exc)
            continue
        except SmtpUnavailable as exc:
            ledger.mark_failed(delivery_id, str(exc), permanent=False)
            raise
        ledger.mark_sent(delivery_id, clock())
        report.sent.append(subscriber.email)
    log.info(
        "digest %s: %d sent, %d already had it, %d refused",
        digest.week,
        len(report.sent),
        len(report.already_sent),
        len(report.failed),
    )
    return report


def _eml_name(email: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._-]", "_", email) + ".eml"


def write_dry_run(
    engine: Engine,
    digest: DigestView,
    mail: MailSettings,
    out_dir: Path,
    *,
    subscribers: Sequence[Subscriber] | None = None,
    date: datetime | None = None,
) -> SendReport:
    """Write the .eml each subscriber would get now; send nothing, mark nothing."""
    ledger = DeliveryLedger(engine)
    prepared = prepare_digest(digest, mail)
    report = SendReport(week=digest.week)
    folder = out_dir / digest.week
    for subscriber in _active(ledger, subscribers):
        if subscriber.id is None:
            continue
        if ledger.is_sent(digest.week, subscriber.id):
            report.already_sent.append(subscriber.email)
            continue
        message = compose_message(
            prepared, mail, subscriber.email, subscriber.name, date or digest.built_at
        )
        target = folder / _eml_name(subscriber.email)
        write_atomically(target, message.as_bytes())
        report.written.append(target)
    return report
