"""The SMTP transport: STARTTLS, SMTPS or plain SMTP, with retries and backoff."""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import TracebackType
from typing import Literal, Protocol
from urllib.parse import unquote, urlsplit

from digest.errors import ConfigError, DigestError, register_secret
from digest.publish.mail.settings import is_loopback

log = logging.getLogger("digest.publish.email")  # the name these records always had


# --------------------------------------------------------------------------- SMTP


SMTP_URL_ENV = "DIGEST_SMTP_URL"
SMTP_PASSWORD_ENV = "DIGEST_SMTP_PASSWORD"


class SendError(DigestError):
    """A message could not be delivered."""


class DeliveryRefused(SendError):
    """The server permanently refused this message or recipient (5xx); others may go on."""


class SmtpUnavailable(SendError):
    """The server cannot be used (down after retries, auth or sender refused): stop the run."""


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
    if security == "plain" and username and not is_loopback(parts.hostname):
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
