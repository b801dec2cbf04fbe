"""Subscribers and the delivery ledger.

Subscriber functions work in the caller's transaction and do not commit (the CLI commits
once per command). Ledger functions DO commit, each state change on its own: a delivery
is claimed as `sending` (committed) before its message goes to the SMTP server and marked
`sent` (committed) right after the server accepted it. A row a rerun finds still
`sending` may have been delivered: it becomes `unconfirmed` and is reported, never sent
blindly a second time (at most once); every other row not `sent` is sent. `DeliveryLedger` wraps
them for the sender and the unsubscribe endpoint, one short session per step, so those
modules never open a session themselves.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, delete, select

from digest.errors import DigestError, StoreError
from digest.model import Delivery, Subscriber, utcnow
from digest.store import db

MAX_EMAIL_LENGTH = 254
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class InvalidEmail(DigestError):
    """An address we will not put in a To: header."""


# --------------------------------------------------------------------------- addresses


def normalize_email(value: str) -> str:
    """A plain ASCII addr-spec, domain lower-cased; anything header-unsafe is refused.

    Display names, comments, quoted local parts, IP literals and internationalized
    addresses are refused on purpose: they are rare on a clinic's list and each one is a
    way to smuggle a second recipient or a header line into a message.
    """
    address = value.strip()
    if not address or len(address) > MAX_EMAIL_LENGTH or address.count("@") != 1:
        raise InvalidEmail(f"not an email address: {value!r}")
    local, domain = address.split("@")
    domain = domain.lower().rstrip(".")
    labels = domain.split(".")
    if len(local) > 64 or not _LOCAL.match(local):
        raise InvalidEmail(f"unsupported characters before @ in {value!r}")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InvalidEmail(f"not a valid domain in {value!r}")
    if labels[-1].isdigit():
        raise InvalidEmail(f"not a valid domain in {value!r}")
    return f"{local.lower()}@{domain}"


# --------------------------------------------------------------------------- subscribers


def find_subscriber(session: Session, email: str) -> Subscriber | None:
    return session.exec(select(Subscriber).where(Subscriber.email == email)).first()


def add_subscriber(
    session: Session, email: str, name: str | None = None, now: datetime | None = None
) -> tuple[Subscriber, str]:
    """Add or re-activate a subscriber. Returns it and "added", "reactivated" or "unchanged"."""
    address = normalize_email(email)
    clean_name = " ".join(name.split()) if name else None
    row = find_subscriber(session, address)
    if row is None:
        row = Subscriber(email=address, name=clean_name, subscribed_at=now or utcnow())
        session.add(row)
        session.flush()
        return row, "added"
    outcome = "unchanged"
    if row.unsubscribed_at is not None:
        row.unsubscribed_at = None
        row.subscribed_at = now or utcnow()
        outcome = "reactivated"
    if clean_name and clean_name != row.name:
        row.name = clean_name
    session.add(row)
    session.flush()
    return row, outcome


def remove_subscriber(session: Session, email: str, now: datetime | None = None) -> bool:
    """Unsubscribe (the row and its delivery history stay). True if it was active."""
    row = find_subscriber(session, normalize_email(email))
    if row is None or row.unsubscribed_at is not None:
        return False
    row.unsubscribed_at = now or utcnow()
    session.add(row)
    session.flush()
    return True


def erase_subscriber(session: Session, email: str) -> bool:
    """Forget a subscriber entirely, with their delivery rows (a data-erasure request)."""
    row = find_subscriber(session, normalize_email(email))
    if row is None:
        return False
    session.exec(delete(Delivery).where(col(Delivery.subscriber_id) == row.id))
    session.delete(row)
    session.flush()
    return True


def list_subscribers(session: Session, include_unsubscribed: bool = False) -> list[Subscriber]:
    query = select(Subscriber).order_by(col(Subscriber.id))
    if not include_unsubscribed:
        query = query.where(col(Subscriber.unsubscribed_at).is_(None))
    return list(session.exec(query).all())


@dataclass(slots=True)
class ImportReport:
    added: int = 0
    reactivated: int = 0
    unchanged: int = 0
    invalid: list[tuple[int, str, str]] = field(default_factory=list)  # line, value, reason


def import_subscribers_csv(
    session: Session, text: str, now: datetime | None = None
) -> ImportReport:
    """Import a CSV: a header naming `email` (and optionally `name`), or addresses in the
    first column. Bad lines are reported, the rest imported."""
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))  # Excel writes a BOM
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    has_header = "email" in header
    email_at = header.index("email") if has_header else 0
    name_at = header.index("name") if has_header and "name" in header else None
    report = ImportReport()
    for line, row in enumerate(rows[1:] if has_header else rows, start=2 if has_header else 1):
        if not row or not any(cell.strip() for cell in row):
            continue
        value = row[email_at].strip() if email_at < len(row) else ""
        name = row[name_at].strip() if name_at is not None and name_at < len(row) else None
        try:
            _, outcome = add_subscriber(session, value, name or None, now=now)
        except InvalidEmail as exc:
            report.invalid.append((line, value, str(exc)))
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


# --------------------------------------------------------------------------- the ledger


def get_delivery(session: Session, week: str, subscriber_id: int) -> Delivery | None:
    return session.exec(
        select(Delivery).where(Delivery.week == week, Delivery.subscriber_id == subscriber_id)
    ).first()


SENDABLE = ("pending", "failed")  # statuses a sender may claim


def claim_delivery(
    session: Session, week: str, subscriber_id: int, message_id: str
) -> Delivery | None:
    """The ledger row for (week, subscriber), now `sending` with one more attempt counted
    (committed before the message goes to the SMTP server), or None when that subscriber
    has this week's digest (`sent`) or may have it (`unconfirmed`).

    A row found `sending` was left by a run that stopped between handing the message to
    the server and recording the answer (killed, crashed, the database locked): the
    message may have been delivered. It is reconciled to `unconfirmed` and NOT resent:
    at most once, never twice; the sender reports it so a person can check (and requeue
    it with `requeue_unconfirmed` if it really never arrived)."""
    row = get_delivery(session, week, subscriber_id)
    if row is None:
        session.add(Delivery(week=week, subscriber_id=subscriber_id, message_id=message_id))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another sender created it first; use theirs
        row = get_delivery(session, week, subscriber_id)
    if row is None or row.status not in SENDABLE:
        if row is not None and row.status == "sending":
            session.connection().execute(
                update(Delivery)
                .where(col(Delivery.id) == row.id, col(Delivery.status) == "sending")
                .values(
                    status="unconfirmed",
                    last_error="a previous run stopped while sending: possibly delivered, "
                    "not resent",
                )
            )
            session.commit()
        return None
    claimed = session.connection().execute(
        update(Delivery)
        .where(col(Delivery.id) == row.id, col(Delivery.status).in_(SENDABLE))
        .values(status="sending", attempts=col(Delivery.attempts) + 1, message_id=message_id)
    )
    session.commit()
    if claimed.rowcount != 1:
        return None
    session.refresh(row)
    return row


def mark_sent(session: Session, delivery_id: int, now: datetime | None = None) -> None:
    """The SMTP server accepted the message: record it at once, in its own commit."""
    session.connection().execute(
        update(Delivery)
        .where(col(Delivery.id) == delivery_id)
        .values(status="sent", sent_at=now or utcnow(), last_error=None)
    )
    session.commit()


def mark_failed(session: Session, delivery_id: int, error: str, *, permanent: bool) -> None:
    """Record why a send did not happen; `failed` rows are retried on the next run too."""
    session.connection().execute(
        update(Delivery)
        .where(col(Delivery.id) == delivery_id, col(Delivery.status) != "sent")
        .values(status="failed" if permanent else "pending", last_error=error[:1000])
    )
    session.commit()


def requeue_unconfirmed(session: Session, week: str) -> int:
    """Make this week's `unconfirmed` deliveries sendable again (after a person checked
    they never arrived). Returns how many."""
    result = session.connection().execute(
        update(Delivery)
        .where(col(Delivery.week) == week, col(Delivery.status) == "unconfirmed")
        .values(status="pending")
    )
    session.commit()
    return int(result.rowcount or 0)


def deliveries_for_week(session: Session, week: str) -> list[Delivery]:
    query = select(Delivery).where(Delivery.week == week).order_by(col(Delivery.subscriber_id))
    return list(session.exec(query).all())


@contextmanager
def _bounded_lock_wait(step: str) -> Iterator[None]:
    """A database lock held longer than the busy timeout is a clear StoreError."""
    try:
        yield
    except OperationalError as exc:
        if "locked" not in str(exc.orig).lower() and "busy" not in str(exc.orig).lower():
            raise
        raise StoreError(
            f"the database stayed locked for more than {db.SQLITE_BUSY_SECONDS:g} s while "
            f"{step}; nothing else was sent. Run `digest send` again when the other writer "
            "has finished: a delivery left in flight is reported, not sent twice"
        ) from exc


class DeliveryLedger:
    """The ledger as the sender and the unsubscribe endpoint use it: one session per step."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def status(self, week: str, subscriber_id: int) -> str | None:
        with Session(self.engine) as session:
            row = get_delivery(session, week, subscriber_id)
            return row.status if row is not None else None

    def active_subscribers(self) -> list[Subscriber]:
        with Session(self.engine) as session:
            return list_subscribers(session)

    def is_sent(self, week: str, subscriber_id: int) -> bool:
        with Session(self.engine) as session:
            row = get_delivery(session, week, subscriber_id)
            return row is not None and row.status == "sent"

    def claim(self, week: str, subscriber_id: int, message_id: str) -> int | None:
        """The claimed delivery's id, or None if the subscriber already has this week's."""
        step = f"claiming the delivery to subscriber {subscriber_id}"
        with _bounded_lock_wait(step), Session(self.engine) as session:
            row = claim_delivery(session, week, subscriber_id, message_id)
            return row.id if row is not None else None

    def mark_sent(self, delivery_id: int, now: datetime | None = None) -> None:
        step = f"recording delivery {delivery_id} as sent (the server accepted it)"
        with _bounded_lock_wait(step), Session(self.engine) as session:
            mark_sent(session, delivery_id, now)

    def mark_failed(self, delivery_id: int, error: str, *, permanent: bool) -> None:
        step = f"recording why delivery {delivery_id} failed"
        with _bounded_lock_wait(step), Session(self.engine) as session:
            mark_failed(session, delivery_id, error, permanent=permanent)

    def unsubscribe(self, email: str, now: datetime | None = None) -> bool:
        """Unsubscribe an address now (committed). False if unknown or already out."""
        with Session(self.engine) as session:
            try:
                changed = remove_subscriber(session, email, now)
            except InvalidEmail:
                return False
            session.commit()
            return changed
