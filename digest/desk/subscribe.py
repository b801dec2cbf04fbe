"""Subscribers who sign themselves up: double opt-in, the consent log, preferences,
suppression of bounced and complaining addresses, and what the sender honours.

The flow: the public form stores a `Signup` (not a subscriber) and mails a confirm link
carrying a signed, timestamped token (itsdangerous, salt "subscribe-confirm"), valid for
CONFIRM_MAX_AGE and usable once. Confirming makes (or re-activates) the `subscriber` row
and stores the preferences. Each step lands in the consent log with the time, the
client's address and user agent, and the exact text shown. A suppressed address (hard
bounce, complaint) gets no confirmation mail and is never made active again here.

No tracking, ever: the confirmation mail is plain text, has no images, and its one link
points straight at the confirm page (no redirector, no per-open id).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func
from sqlmodel import Session, col, select

from digest.desk import audit
from digest.desk.tables import ConsentEvent, Signup, SubscriberPreference, Suppression
from digest.model import Subscriber, utcnow
from digest.publish.mail.compose import MAIL_POLICY
from digest.store.deliveries import (
    InvalidEmail,
    add_subscriber,
    normalize_email,
    remove_subscriber,
)
from digest.views import StudyView, design_of

CONFIRM_MAX_AGE = timedelta(hours=48)
MAX_PENDING_PER_EMAIL = 3  # confirmation mails to one address per CONFIRM_MAX_AGE
# strongest first; a minimum tier admits itself and every tier before it
TIER_ORDER = ("synthesis", "trial", "comparative", "descriptive")
MIN_TIERS: dict[str, str] = {
    "any": "Everything, including protocols, registrations and lab studies",
    "descriptive": "Studies in people (reviews, case reports and stronger)",
    "comparative": "Comparative studies, trials and syntheses",
    "trial": "Randomized trials and syntheses",
    "synthesis": "Systematic reviews, meta-analyses and guidelines only",
}
FREQUENCIES = ("weekly", "monthly")
CONSENT_TEXT = (
    "I want to receive {title} by email ({frequency}). I can unsubscribe at any time with "
    "one click from any issue. My address is used for this newsletter only; no opens or "
    "clicks are tracked."
)


@dataclass(frozen=True, slots=True)
class Preferences:
    """A subscriber's choices. Empty `conditions` means every condition."""

    conditions: frozenset[str] = frozenset()
    min_tier: str = "any"
    frequency: str = "weekly"

    def to_json(self) -> dict[str, Any]:
        return {
            "conditions": sorted(self.conditions),
            "min_tier": self.min_tier,
            "frequency": self.frequency,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Preferences:
        tier = data.get("min_tier", "any")
        frequency = data.get("frequency", "weekly")
        return cls(
            conditions=frozenset(str(c) for c in data.get("conditions") or ()),
            min_tier=tier if tier in MIN_TIERS else "any",
            frequency=frequency if frequency in FREQUENCIES else "weekly",
        )


def wants(preferences: Preferences, study: StudyView) -> bool:
    """Does this subscriber want this study in their email? (pure)

    - conditions: any of the study's conditions is one they chose (or they chose none);
      a study with no condition tagged goes only to those who chose none;
    - design: the study's tier is at least `min_tier` (TIER_ORDER, strongest first;
      "any" takes every tier, including planned, preclinical and commentary);
    - a retracted study they would have wanted by condition is always wanted, whatever
      its design: a correction must reach the people who may have read the original.
    """
    conditions = [tag.slug for tag in study.conditions]
    return wants_design(preferences, conditions, study.design, retracted=study.retracted)


def wants_design(
    preferences: Preferences, conditions: Iterable[str], design: str, *, retracted: bool = False
) -> bool:
    """`wants` on a study's condition slugs and design (pure): also asks whether a copy
    sent before a notice carried the study (`retracted=False`, as it then was)."""
    chosen = preferences.conditions
    if chosen and not any(slug in chosen for slug in conditions):
        return False
    if retracted or preferences.min_tier == "any":
        return True
    tier = design_of(design).tier
    if tier not in TIER_ORDER:
        return False
    return TIER_ORDER.index(tier) <= TIER_ORDER.index(preferences.min_tier)


# --------------------------------------------------------------------------- reading


def is_suppressed(session: Session, email: str) -> bool:
    return session.exec(select(Suppression).where(Suppression.email == email)).first() is not None


def active_emails(session: Session) -> list[str]:
    """Confirmed, not unsubscribed, not suppressed: the only addresses to mail."""
    suppressed = select(Suppression.email)
    query = (
        select(Subscriber.email)
        .where(col(Subscriber.unsubscribed_at).is_(None))
        .where(col(Subscriber.email).not_in(suppressed))
        .order_by(col(Subscriber.email))
    )
    return list(session.exec(query).all())


def subscriber_preferences(session: Session) -> dict[str, Preferences]:
    """Preferences of every active subscriber by email; those who never chose (added on
    the command line, or before the desk existed) get the defaults: everything, weekly."""
    stored = {
        row.email: Preferences(frozenset(row.conditions), row.min_tier, row.frequency)
        for row in session.exec(select(SubscriberPreference)).all()
    }
    return {email: stored.get(email, Preferences()) for email in active_emails(session)}


def consent_history(session: Session, email: str) -> list[ConsentEvent]:
    query = select(ConsentEvent).where(ConsentEvent.email == email)
    return list(session.exec(query.order_by(col(ConsentEvent.at), col(ConsentEvent.id))).all())


# --------------------------------------------------------------------------- writing


def _log(
    session: Session,
    email: str,
    event: str,
    method: str,
    now: datetime,
    text: str | None = None,
    address: str | None = None,
    user_agent: str | None = None,
) -> None:
    session.add(
        ConsentEvent(
            email=email,
            at=now,
            event=event,
            method=method,
            consent_text=text,
            address=address,
            user_agent=(user_agent or "")[:400] or None,
        )
    )


def consent_text(title: str, frequency: str) -> str:
    return CONSENT_TEXT.format(title=title, frequency=frequency)


class ConfirmTokens:
    def __init__(self, secret: bytes, max_age: timedelta = CONFIRM_MAX_AGE) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="subscribe-confirm")
        self.max_age = max_age

    def make(self, nonce: str) -> str:
        return self._serializer.dumps({"n": nonce})

    def read(self, token: str) -> tuple[str, str | None]:
        """("ok", nonce), ("expired", None) or ("invalid", None)."""
        if not token or len(token) > 1024:
            return "invalid", None
        try:
            data = self._serializer.loads(token, max_age=int(self.max_age.total_seconds()))
        except SignatureExpired:
            return "expired", None
        except BadSignature:
            return "invalid", None
        nonce = data.get("n") if isinstance(data, dict) else None
        return ("ok", nonce) if isinstance(nonce, str) else ("invalid", None)


def request_signup(
    session: Session,
    email: str,
    preferences: Preferences,
    shown_text: str,
    *,
    address: str | None = None,
    user_agent: str | None = None,
    now: datetime | None = None,
) -> Signup | None:
    """Store a sign-up and log the request. Returns the Signup to mail a confirm link
    for, or None when no mail must go (suppressed address, too many requests). Raises
    InvalidEmail for an address we will not mail. The caller commits."""
    now = now or utcnow()
    clean = normalize_email(email)
    if is_suppressed(session, clean):
        return None
    recent = session.exec(
        select(func.count())
        .select_from(Signup)
        .where(Signup.email == clean, col(Signup.created_at) >= now - CONFIRM_MAX_AGE)
    ).one()
    if int(recent) >= MAX_PENDING_PER_EMAIL:
        return None
    row = Signup(
        email=clean,
        nonce=secrets.token_urlsafe(24),
        created_at=now,
        preferences=preferences.to_json(),
    )
    session.add(row)
    _log(session, clean, "requested", "web-form", now, shown_text, address, user_agent)
    session.flush()
    return row


def confirm_signup(
    session: Session,
    nonce: str,
    *,
    address: str | None = None,
    user_agent: str | None = None,
    now: datetime | None = None,
) -> tuple[str, str | None]:
    """("confirmed" | "already" | "suppressed" | "unknown", email). The caller commits."""
    now = now or utcnow()
    row = session.exec(select(Signup).where(Signup.nonce == nonce)).first()
    if row is None:
        return "unknown", None
    if row.confirmed_at is not None:
        return "already", row.email
    if is_suppressed(session, row.email):
        return "suppressed", row.email
    row.confirmed_at = now
    session.add(row)
    add_subscriber(session, row.email, now=now)
    set_preferences(session, row.email, Preferences.from_json(row.preferences), now)
    requested = session.exec(
        select(ConsentEvent)
        .where(ConsentEvent.email == row.email, ConsentEvent.event == "requested")
        .order_by(col(ConsentEvent.at).desc())
    ).first()
    text = requested.consent_text if requested else None
    _log(session, row.email, "confirmed", "confirm-link", now, text, address, user_agent)
    session.flush()
    return "confirmed", row.email


def set_preferences(
    session: Session, email: str, preferences: Preferences, now: datetime | None = None
) -> None:
    row = session.exec(
        select(SubscriberPreference).where(SubscriberPreference.email == email)
    ).first() or SubscriberPreference(email=email)
    row.conditions = sorted(preferences.conditions)
    row.min_tier, row.frequency = preferences.min_tier, preferences.frequency
    row.updated_at = now or utcnow()
    session.add(row)


def unsubscribe(
    session: Session,
    email: str,
    method: str,
    *,
    address: str | None = None,
    user_agent: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Unsubscribe at once and log it. True if the address was active. Caller commits."""
    now = now or utcnow()
    was_active = remove_subscriber(session, email, now)
    _log(session, email, "unsubscribed", method, now, None, address, user_agent)
    return was_active


def suppress(
    session: Session, email: str, reason: str, detail: str | None, now: datetime | None = None
) -> bool:
    """Never mail this address again (hard bounce or complaint). True if newly
    suppressed. Unsubscribes the subscriber row too. The caller commits."""
    now = now or utcnow()
    try:
        clean = normalize_email(email)
    except InvalidEmail:
        clean = email.strip().lower()
    if is_suppressed(session, clean):
        return False
    session.add(Suppression(email=clean, reason=reason, detail=(detail or "")[:500], at=now))
    if "@" in clean:
        with contextlib.suppress(InvalidEmail):
            remove_subscriber(session, clean, now)
    method = "complaint" if reason == "complaint" else "bounce"
    _log(session, clean, "suppressed", method, now, detail)
    audit.record(session, "bounces", "suppress", now=now, email=clean, reason=reason)
    session.flush()
    return True


# --------------------------------------------------------------------------- the mail


def confirmation_message(
    *,
    to: str,
    from_address: str,
    site_title: str,
    confirm_url: str,
    shown_text: str,
    postal_address: str | None,
    now: datetime,
) -> EmailMessage:
    """Plain text only: no images, no tracking, the link is the confirm page itself."""
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = from_address
    message["To"] = to
    message["Subject"] = f"Please confirm your subscription to {site_title}"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=from_address.rsplit("@", 1)[-1].rstrip(">"))
    message["Auto-Submitted"] = "auto-generated"
    hours = int(CONFIRM_MAX_AGE.total_seconds() // 3600)
    lines = [
        "Hello,",
        "",
        f"someone (we hope you) asked to receive {site_title} at this address.",
        "To confirm, open this link and press the Confirm button:",
        "",
        confirm_url,
        "",
        f"The link works once and expires in {hours} hours. If you did not ask, ignore this",
        "message: nothing more will be sent.",
        "",
        "What you agreed to:",
        shown_text,
    ]
    if postal_address:
        lines += ["", "--", f"{site_title}, {postal_address}"]
    message.set_content("\n".join(lines) + "\n")
    return message
