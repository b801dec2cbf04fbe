"""`digest.review: required`: the send deadline, the reminder to staff, and what the
send (and `digest status`) says about a week that is waiting or held.

The deadline is `digest.review_deadline` ("tue 12:00"): that weekday and local time in
the week AFTER the issue's week (the week is complete on Sunday night; the weekly run
builds it on Monday). `review_reminder_hours` before it, the staff accounts that have an
email address get one reminder (recorded in the audit log, so never twice). At the
deadline only what was approved goes; nothing approved means nothing goes, and the week
is reported "held: not approved by deadline", never as a quiet week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from digest.config import Settings
from digest.desk import audit
from digest.desk.tables import AuditEntry, StaffAccount
from digest.desk.triage import Approval
from digest.model import utcnow
from digest.publish.mail.compose import MAIL_POLICY
from digest.weeks import parse_week

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NOT_APPROVED_BY_DEADLINE = "not approved by deadline"
NOTHING_APPROVED = "staff approved no items"
REMINDER_ACTION = "review-reminder"


def send_deadline(week: str, spec: str, timezone: str) -> datetime:
    """The aware (UTC) instant the send of `week` goes ahead without a sign-off."""
    day, clock = spec.split()
    hours, minutes = (int(part) for part in clock.split(":"))
    monday, _ = parse_week(week)
    when = monday + timedelta(days=7 + WEEKDAYS.index(day))
    local = datetime.combine(when, time(hours, minutes), ZoneInfo(timezone))
    return local.astimezone(ZoneInfo("UTC"))


def deadline_of(settings: Settings, week: str) -> datetime | None:
    if settings.digest.review != "required":
        return None
    return send_deadline(week, settings.digest.review_deadline, settings.timezone)


def hold_reason(approval: Approval, corrections: int) -> str | None:
    """Why nothing may go now (None: the send may go). Pure."""
    if not approval.required:
        return None
    if not approval.ready:
        when = f" (deadline {approval.deadline:%Y-%m-%d %H:%M %Z})" if approval.deadline else ""
        return f"waiting for staff to approve the week on the desk{when}"
    if approval.approved_slugs or corrections:
        return None
    return NOTHING_APPROVED if approval.signed_off else NOT_APPROVED_BY_DEADLINE


# --------------------------------------------------------------------------- the reminder


@dataclass(frozen=True, slots=True)
class ReminderPlan:
    week: str
    deadline: datetime
    to: tuple[str, ...]


def reminder_due(
    session: Session, settings: Settings, week: str, approval: Approval, now: datetime | None = None
) -> ReminderPlan | None:
    """The reminder to send now for `week`, or None (not required, signed off, too early,
    past the deadline, already reminded, or no staff address)."""
    now = now or utcnow()
    deadline = deadline_of(settings, week)
    if deadline is None or approval.signed_off or now >= deadline:
        return None
    if now < deadline - timedelta(hours=settings.digest.review_reminder_hours):
        return None
    if reminded(session, week):
        return None
    query = select(StaffAccount.email).where(
        col(StaffAccount.disabled_at).is_(None), col(StaffAccount.email).is_not(None)
    )
    emails = tuple(sorted({e for e in session.exec(query).all() if e}))
    return ReminderPlan(week, deadline, emails) if emails else None


def reminded(session: Session, week: str) -> bool:
    query = select(AuditEntry.id).where(
        AuditEntry.action == REMINDER_ACTION, AuditEntry.week == week
    )
    return session.exec(query).first() is not None


def record_reminder(session: Session, plan: ReminderPlan, now: datetime | None = None) -> None:
    audit.record(session, "send", REMINDER_ACTION, week=plan.week, now=now, to=list(plan.to))


def reminder_message(
    plan: ReminderPlan,
    *,
    from_address: str,
    title: str,
    desk_url: str,
    approved: int,
    candidates: int,
    timezone: str,
    now: datetime,
) -> EmailMessage:
    """Plain text to the staff: what waits, until when, and where to approve it."""
    local = plan.deadline.astimezone(ZoneInfo(timezone))
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = from_address
    message["To"] = ", ".join(plan.to)
    message["Subject"] = f"{title}: {plan.week} waits for your review until {local:%a %d %b %H:%M}"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=from_address.rsplit("@", 1)[-1].rstrip(">"))
    message["Auto-Submitted"] = "auto-generated"
    lines = [
        f"The {plan.week} issue has not been approved on the desk yet.",
        f"{approved} of {candidates} candidate(s) are approved so far.",
        "",
        f"At the deadline, {local:%A %d %B %Y %H:%M %Z}, only the approved items go out;",
        "if none are approved, nothing goes and `digest status` says the week is held.",
        "",
        f"Review it here: {desk_url.rstrip('/')}/desk/weeks/{plan.week}",
    ]
    message.set_content("\n".join(lines) + "\n")
    return message
