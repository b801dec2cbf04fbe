"""The staff desk's tables (migration 0004): staff, sign-in attempts, the audit log,
triage decisions and week sign-offs, sign-ups, the consent log, preferences, suppressions.

Subscribers themselves stay in `subscriber` (digest.model): a sign-up becomes a row there
only once its address is confirmed, so the sender's active list never holds an
unconfirmed address. A suppression (hard bounce, complaint) also unsubscribes the row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from digest.model import utcnow


class StaffAccount(SQLModel, table=True):
    __tablename__ = "desk_staff"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True)
    password_hash: str  # argon2id, PHC string
    created_at: datetime = Field(default_factory=utcnow)
    # bumped when the password changes or the account is removed: old sessions die
    generation: int = 1
    disabled_at: datetime | None = None
    email: str | None = None  # where the review reminder goes (migration 0006)


class LoginAttempt(SQLModel, table=True):
    """Failed sign-ins, for rate limiting by address and by account."""

    __tablename__ = "desk_login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    address: str = Field(index=True)
    username: str = Field(index=True)


class AuditEntry(SQLModel, table=True):
    """Every decision made on the desk: who, when, what."""

    __tablename__ = "desk_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str  # a staff username, "cli", "subscriber" or "bounces"
    action: str  # e.g. decision, label, approve-week, sign-in, staff-add
    week: str | None = Field(default=None, index=True)
    slug: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class TriageDecision(SQLModel, table=True):
    """One staff decision on one candidate of one week (the latest wins; the audit log
    keeps every earlier one)."""

    __tablename__ = "desk_decision"
    __table_args__ = (UniqueConstraint("week", "slug", name="uq_desk_decision"),)

    id: int | None = Field(default=None, primary_key=True)
    week: str = Field(index=True)
    slug: str = Field(index=True)
    status: str = "undecided"  # approved | held | left-out | undecided
    reason: str | None = None  # why held or left out
    relevance: int | None = None  # 1..7
    newsworthiness: int | None = None  # 1..7
    note: str | None = None  # "our take": plain text, the clinic's own words
    label_condition: str | None = None  # "changes the picture for <condition>"
    label_reason: str | None = None
    design: str | None = None  # the study's design and conditions when decided,
    conditions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    decided_by: str | None = None
    decided_at: datetime = Field(default_factory=utcnow)


class WeekSignOff(SQLModel, table=True):
    """A staff member approved the week as a whole."""

    __tablename__ = "desk_week"

    id: int | None = Field(default=None, primary_key=True)
    week: str = Field(unique=True, index=True)
    approved_by: str
    approved_at: datetime = Field(default_factory=utcnow)


class Signup(SQLModel, table=True):
    """A subscription request waiting for its confirm link (double opt-in)."""

    __tablename__ = "desk_signup"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True)
    nonce: str = Field(unique=True)  # signed into the confirm token; single use
    created_at: datetime = Field(default_factory=utcnow)
    confirmed_at: datetime | None = None
    preferences: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )


class ConsentEvent(SQLModel, table=True):
    """When and how someone agreed (or withdrew), and the exact text they were shown."""

    __tablename__ = "desk_consent"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True)
    at: datetime = Field(default_factory=utcnow)
    event: str  # requested | confirmed | unsubscribed | suppressed | preferences
    method: str  # web-form | confirm-link | one-click | unsubscribe-page | bounce | complaint
    consent_text: str | None = None
    address: str | None = None  # the client's IP address (proof of consent, GDPR 7(1))
    user_agent: str | None = None


class SubscriberPreference(SQLModel, table=True):
    __tablename__ = "desk_preference"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True)
    conditions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    min_tier: str = "any"
    frequency: str = "weekly"  # weekly | monthly
    updated_at: datetime = Field(default_factory=utcnow)


class Suppression(SQLModel, table=True):
    """An address we never mail again: a hard bounce or a complaint."""

    __tablename__ = "desk_suppression"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True)
    reason: str  # hard-bounce | complaint
    detail: str | None = None  # the DSN status and diagnostic, or the feedback type
    at: datetime = Field(default_factory=utcnow)


class SentIssue(SQLModel, table=True):
    """An issue as subscribers received it, written once at its first send and never
    changed (migration 0006): the generic subscriber's copy (everything, no personal
    link) as JSON for reruns and the site, and the "as sent" page's bytes."""

    __tablename__ = "desk_sent_issue"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, index=True)  # "2026-W47" (weekly) or "2026-M11" (monthly)
    kind: str = "weekly"  # weekly | monthly
    sent_at: datetime = Field(default_factory=utcnow)
    subject: str
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    page: str  # the "as sent" HTML page, exactly as first written


DESK_TABLES = (
    StaffAccount,
    LoginAttempt,
    AuditEntry,
    TriageDecision,
    WeekSignOff,
    Signup,
    ConsentEvent,
    SubscriberPreference,
    Suppression,
    SentIssue,
)
