"""Issues as sent: written once, at the first send, and never changed afterwards.

The row holds the generic subscriber's copy (every item, no personal link) as JSON and
the "as sent" page's bytes. A rerun of the send reads the issue back from here, so a
subscriber mailed later in the week (after a crash, say) gets exactly what the others
got, whatever was decided or rebuilt since; the site writes the page as stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from digest.desk.tables import SentIssue
from digest.model import Delivery, utcnow
from digest.views import DigestView, digest_from_json, digest_to_json


def sent_issue(session: Session, key: str) -> SentIssue | None:
    return session.exec(select(SentIssue).where(SentIssue.key == key)).first()


def sent_view(session: Session, key: str) -> DigestView | None:
    row = sent_issue(session, key)
    return digest_from_json(row.content) if row else None


def sent_issues(session: Session) -> list[SentIssue]:
    """Every issue as sent, newest first (weekly keys sort by week, monthly by month)."""
    return list(session.exec(select(SentIssue).order_by(col(SentIssue.sent_at).desc())).all())


def delivered_issues(session: Session) -> list[SentIssue]:
    """The issues as sent that reached somebody: frozen just before the first message, an
    issue whose every delivery failed is not yet "as sent" and gets no public page."""
    reached = set(
        session.exec(
            select(Delivery.week).where(col(Delivery.status).in_(("sent", "unconfirmed")))
        ).all()
    )
    return [row for row in sent_issues(session) if row.key in reached]


def freeze(
    session: Session,
    issue: DigestView,
    subject: str,
    page: str,
    now: datetime | None = None,
) -> SentIssue:
    """Store the issue as sent unless it already is; the first one stays. Commits."""
    existing = sent_issue(session, issue.week)
    if existing is not None:
        return existing
    row = SentIssue(
        key=issue.week,
        kind="monthly" if issue.month else "weekly",
        sent_at=now or utcnow(),
        subject=subject,
        content=digest_to_json(issue),
        page=page,
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # another sender froze it first: theirs is the record
        session.rollback()
        return sent_issue(session, issue.week) or row
    session.refresh(row)
    return row
