"""The send loop over the delivery ledger, and the dry run (.eml files, ledger untouched)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from digest.model import Subscriber, utcnow
from digest.publish.mail.compose import PreparedDigest, compose_message, prepare_digest
from digest.publish.mail.settings import MailSettings, message_id_for
from digest.publish.mail.smtp import DeliveryRefused, SmtpUnavailable, Transport
from digest.publish.site_writer import write_atomically
from digest.store.deliveries import DeliveryLedger
from digest.views import DigestView

log = logging.getLogger("digest.publish.email")  # the name these records always had


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
    # their preferences left nothing of a non-empty issue: not mailed (not a quiet week)
    nothing_wanted: list[str] = field(default_factory=list)
    monthly: list[SendReport] = field(default_factory=list)  # monthly issues sent alongside
    reminded: list[str] = field(default_factory=list)  # staff reminded to review


# Each subscriber's own copy of the issue (their preferences), or None: nothing for them.
ViewFor = Callable[[Subscriber], DigestView | None]


class _Prepared:
    """Each distinct copy rendered once, however many subscribers share it."""

    def __init__(self, digest: DigestView, mail: MailSettings, view_for: ViewFor | None) -> None:
        self.generic = prepare_digest(digest, mail)
        self.mail, self.view_for = mail, view_for
        self.cache: dict[int, tuple[DigestView, PreparedDigest]] = {}

    def for_(self, subscriber: Subscriber) -> PreparedDigest | None:
        if self.view_for is None:
            return self.generic
        view = self.view_for(subscriber)
        if view is None:
            return None
        if view is self.generic.digest:
            return self.generic
        if id(view) not in self.cache:
            self.cache[id(view)] = (view, prepare_digest(view, self.mail))
        return self.cache[id(view)][1]


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
    view_for: ViewFor | None = None,
) -> SendReport:
    """Send this week's digest to every active subscriber who does not have it yet.

    Raises SmtpUnavailable when the server cannot be used (the rest stay pending for the
    next run); any other exception (a crash) leaves the ledger consistent, too.
    """
    ledger = DeliveryLedger(engine)
    copies = _Prepared(digest, mail, view_for)
    report = SendReport(week=digest.week)
    for subscriber in _active(ledger, subscribers):
        if subscriber.id is None:
            continue
        prepared = copies.for_(subscriber)
        if prepared is None:
            report.nothing_wanted.append(subscriber.email)
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
    view_for: ViewFor | None = None,
) -> SendReport:
    """Write the .eml each subscriber would get now; send nothing, mark nothing."""
    ledger = DeliveryLedger(engine)
    copies = _Prepared(digest, mail, view_for)
    report = SendReport(week=digest.week)
    folder = out_dir / digest.week
    for subscriber in _active(ledger, subscribers):
        if subscriber.id is None:
            continue
        prepared = copies.for_(subscriber)
        if prepared is None:
            report.nothing_wanted.append(subscriber.email)
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
