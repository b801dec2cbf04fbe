"""Composing the digest email: rendered once, then one multipart message per subscriber."""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime

from digest.publish.mail.settings import (
    MailSettings,
    list_unsubscribe_header,
    message_id_for,
    unsubscribe_link,
)
from digest.render.email_html import render_digest_email_html
from digest.render.sanitize import one_line
from digest.render.text import render_digest_text
from digest.sources.text import clean_text
from digest.views import DigestView

# --------------------------------------------------------------------------- composing


# Long header lines must not be folded into RFC 2047 encoded words: a List-Unsubscribe
# URI broken that way is unusable. 998 is RFC 5322's hard line limit.
MAIL_POLICY = default_policy.clone(max_line_length=998)
_PLACEHOLDER = "https://unsubscribe.invalid/DIGEST-UNSUBSCRIBE-PLACEHOLDER"
UNSUBSCRIBE_PLACEHOLDER = _PLACEHOLDER  # the as-sent page swaps it for a note


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
