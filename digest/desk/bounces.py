"""`digest bounces import`: read delivery-status notifications and complaints, suppress.

Reads RFC 3464 DSNs (multipart/report; report-type=delivery-status): for each
per-recipient block with `Action: failed` and a 5.x.x `Status`, the Final-Recipient
(or Original-Recipient) is a hard bounce. 4.x.x (delayed, transient) is ignored.
Reads RFC 5965 feedback reports (report-type=feedback-report, the ARF format of
complaint loops): the complaining address is the Original-Rcpt-To field, else the To of
the returned message. Either way the address is suppressed (digest.desk.subscribe).

Sources: a Maildir (a folder with cur/ new/ tmp/), an mbox file (stdlib `mailbox`), or
an IMAP folder: PATH `imap` reads the URL from DIGEST_BOUNCES_IMAP_URL
(imaps://user@host[:port]/Folder; imap:// uses STARTTLS, plain only to loopback) and the
password from DIGEST_BOUNCES_IMAP_PASSWORD.
Messages are only read, never deleted or moved.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import imaplib
import ipaddress
import mailbox
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from digest.errors import ConfigError, register_secret

IMAP_URL_ENV = "DIGEST_BOUNCES_IMAP_URL"
IMAP_PASSWORD_ENV = "DIGEST_BOUNCES_IMAP_PASSWORD"


@dataclass(frozen=True, slots=True)
class Bounce:
    email: str
    kind: str  # hard-bounce | complaint
    detail: str


@dataclass(slots=True)
class BounceReport:
    messages: int = 0
    found: list[Bounce] = field(default_factory=list)
    ignored: int = 0  # not a DSN/ARF, or only transient failures


def _address(value: str | None) -> str | None:
    """'rfc822; a@b.example' -> 'a@b.example'."""
    if not value:
        return None
    _, _, address = value.partition(";") if ";" in value else ("", "", value)
    address = address.strip().strip("<>").strip()
    return address.lower() if "@" in address else None


def parse_report(message: Message) -> list[Bounce]:
    """The hard bounces or the complaint one message reports (empty if neither)."""
    if message.get_content_type() != "multipart/report":
        return []
    report_type = (message.get_param("report-type") or "").__str__().lower()
    if report_type == "delivery-status":
        return _dsn(message)
    if report_type == "feedback-report":
        return _arf(message)
    return []


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a message/* part (parsed, or left as text by some parsers)."""
    payload: Any = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    if isinstance(payload, str):
        text = payload.replace("\r\n", "\n")
        return [email.message_from_string(b) for b in text.split("\n\n") if b.strip()]
    return []


def _dsn(message: Message) -> list[Bounce]:
    found = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in _blocks(part)[1:]:  # the first block is per-message fields
            action = (block.get("Action") or "").strip().lower()
            status = (block.get("Status") or "").strip()
            recipient = _address(block.get("Final-Recipient")) or _address(
                block.get("Original-Recipient")
            )
            if action == "failed" and status.startswith("5") and recipient:
                diagnostic = " ".join((block.get("Diagnostic-Code") or "").split())
                found.append(Bounce(recipient, "hard-bounce", f"{status} {diagnostic}".strip()))
    return found


def _arf(message: Message) -> list[Bounce]:
    fields: Message | None = None
    returned: Message | None = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/feedback-report":
            fields = next(iter(_blocks(part)), None)
        elif kind in ("message/rfc822", "text/rfc822-headers") and returned is None:
            returned = next(iter(_blocks(part)), None)
    if fields is None:
        return []
    feedback = (fields.get("Feedback-Type") or "abuse").strip().lower()
    recipient = _address(fields.get("Original-Rcpt-To"))
    if recipient is None and returned is not None:
        recipient = _address(str(returned.get("To") or ""))
    return [Bounce(recipient, "complaint", f"feedback-type {feedback}")] if recipient else []


# --------------------------------------------------------------------------- sources


def _parse_bytes(data: bytes) -> Message:
    return email.message_from_bytes(data, policy=email.policy.compat32)


def messages_from(path: str, env: Mapping[str, str]) -> Iterator[Message]:
    """Every message of a Maildir, an mbox file, or (PATH 'imap') the IMAP folder."""
    if path == "imap" or path.startswith(("imap://", "imaps://")):
        yield from _imap_messages(path if path != "imap" else env.get(IMAP_URL_ENV, ""), env)
        return
    folder = Path(path)
    box: mailbox.Maildir | mailbox.mbox
    if folder.is_dir() and (folder / "cur").is_dir() and (folder / "new").is_dir():
        box = mailbox.Maildir(folder, create=False)
    elif folder.is_file():
        box = mailbox.mbox(folder, create=False)
    else:
        raise ConfigError(f"{path}: not a Maildir folder (cur/, new/) nor an mbox file")
    try:
        for key in sorted(box.keys(), key=str):
            yield _parse_bytes(box.get_bytes(key))
    finally:
        box.close()


def _imap_messages(url: str, env: Mapping[str, str]) -> Iterator[Message]:
    if not url:
        raise ConfigError("set it to imaps://user@host/Folder", key=IMAP_URL_ENV)
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise ConfigError("must look like imaps://user@host[:port]/Folder", key=IMAP_URL_ENV)
    if parts.password is not None:
        raise ConfigError(f"put the password in {IMAP_PASSWORD_ENV}", key=IMAP_URL_ENV)
    password = env.get(IMAP_PASSWORD_ENV, "")
    register_secret(password)
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    client: imaplib.IMAP4 = (
        imaplib.IMAP4_SSL(parts.hostname, parts.port or 993)
        if parts.scheme == "imaps"
        else imaplib.IMAP4(parts.hostname, parts.port or 143)
    )
    if parts.scheme == "imap" and not _is_loopback(parts.hostname):
        client.starttls()  # plain IMAP only to a server on this machine
    try:
        client.login(unquote(parts.username), password)
        client.select(f'"{folder}"', readonly=True)
        _, data = client.search(None, "ALL")
        for number in (data[0] or b"").split():
            _, fetched = client.fetch(number.decode(), "(BODY.PEEK[])")
            for item in fetched:
                if isinstance(item, tuple):
                    yield _parse_bytes(item[1])
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_bounces(path: str, env: Mapping[str, str]) -> BounceReport:
    report = BounceReport()
    for message in messages_from(path, env):
        report.messages += 1
        found = parse_report(message)
        if found:
            report.found.extend(found)
        else:
            report.ignored += 1
    return report
