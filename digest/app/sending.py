"""The weekly send with the staff desk: approval and deadline, the clinic's takes, each
subscriber's preferences, monthly issues, the reminder to staff, the issue frozen as sent.

The order of a send of week W:
1. An issue already frozen (digest.desk.sent) is resent as it is: a rerun never mails a
   different issue to the rest of the list.
2. Otherwise the desk decides: with `review: required` it waits for the sign-off or the
   deadline, then takes only approved items (nothing approved: held, "not approved by
   deadline"); with `optional` everything but held and left-out items. The notes and
   labels of the items that go are put on them (`with_takes`).
3. The generic copy is frozen (JSON and "as sent" page) before the first message goes.
4. Weekly subscribers each get their own copy (`for_subscriber`); a subscriber for whom
   the preferences leave nothing of a non-empty issue gets no mail that week.
5. Monthly subscribers get, with the first send of a week of a later month, the previous
   month's sent weekly issues in one (frozen too), once (the ledger key "2026-M11").
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.config import Settings
from digest.desk.personal import (
    for_subscriber,
    month_issue,
    month_key,
    month_of_week,
    nothing_for_them,
)
from digest.desk.review import (
    deadline_of,
    hold_reason,
    record_reminder,
    reminder_due,
    reminder_message,
)
from digest.desk.sent import delivered_issues, freeze, sent_issues, sent_view
from digest.desk.subscribe import Preferences, is_suppressed, subscriber_preferences
from digest.desk.takes import with_takes
from digest.desk.triage import desk_decisions, next_order, week_approval
from digest.issue.assemble import assemble_week
from digest.issue.context import only_items
from digest.model import Subscriber, utcnow
from digest.publish.mail.as_sent import as_sent_page
from digest.publish.mail.compose import prepare_digest
from digest.publish.mail.send import SendReport, send_digest, write_dry_run
from digest.publish.mail.settings import MailSettings, mail_settings_from_config
from digest.publish.mail.smtp import SmtpTransport, Transport, smtp_config_from_env
from digest.store import deliveries
from digest.store import digests as q
from digest.store.locks import acquire_scheduler_lock
from digest.views import DigestView, digest_from_json
from digest.weeks import parse_week

log = logging.getLogger("digest.app.weekly")


def ranked_week(
    settings: Settings, engine: Engine, week: str, now: datetime | None = None
) -> DigestView:
    """The week's digest built in the desk's order (decisions feed the next ranking)."""
    with Session(engine) as session:
        order = next_order(session, week)
    return assemble_week(settings, engine, week, now, order=order)


def _audience(engine: Engine) -> tuple[list[Subscriber], dict[str, Preferences]]:
    with Session(engine) as session:
        # bounced and complained-about addresses (`digest bounces import`) are never mailed
        subscribers = [
            s for s in deliveries.list_subscribers(session) if not is_suppressed(session, s.email)
        ]
        return subscribers, subscriber_preferences(session)


def _view_for(
    issue: DigestView, preferences: Mapping[str, Preferences]
) -> Callable[[Subscriber], DigestView | None]:
    copies: dict[Preferences, DigestView] = {}

    def view_for(subscriber: Subscriber) -> DigestView | None:
        chosen = preferences.get(subscriber.email, Preferences())
        if chosen not in copies:
            copies[chosen] = for_subscriber(issue, chosen)
        personal = copies[chosen]
        return None if nothing_for_them(issue, personal) else personal

    return view_for


def _frequency(preferences: Mapping[str, Preferences], email: str) -> str:
    return preferences.get(email, Preferences()).frequency


def _freeze(engine: Engine, issue: DigestView, mail: MailSettings, now: datetime) -> None:
    prepared = prepare_digest(issue, mail)
    page = as_sent_page(prepared, now, mail.site.base_url)
    with Session(engine) as session:
        freeze(session, issue, prepared.subject, page, now)


def issue_of_week(
    settings: Settings, engine: Engine, week: str, now: datetime
) -> tuple[DigestView, str | None, bool]:
    """(the issue to mail, why it must wait or is held, whether it is already frozen)."""
    with Session(engine) as session:
        frozen = sent_view(session, week)
        if frozen is not None:
            return frozen, None, True
        stored = q.stored_digest(session, week)
    view = digest_from_json(stored.content) if stored else ranked_week(settings, engine, week)
    with Session(engine) as session:
        deadline = deadline_of(settings, week)
        approval = week_approval(session, week, settings.digest.review, deadline, now)
        decisions = desk_decisions(session, week)
    held = hold_reason(approval, len(view.corrections))
    return with_takes(only_items(view, approval.include), decisions), held, False


def send_week(
    settings: Settings,
    engine: Engine,
    week: str,
    dry_run: Path | None = None,
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
    transport: Transport | None = None,
) -> SendReport:
    """`digest send`: the week's issue to every weekly subscriber who does not have it
    yet (each their own copy), and a due monthly issue to the monthly ones; with
    dry_run, .eml files instead. `transport` defaults to SMTP from the environment."""
    env = dict(os.environ) if env is None else env
    now = now or utcnow()
    mail = mail_settings_from_config(settings, env)
    issue, held, _frozen = issue_of_week(settings, engine, week, now)
    subscribers, preferences = _audience(engine)
    weekly = [s for s in subscribers if _frequency(preferences, s.email) == "weekly"]
    if dry_run is not None:
        view_for = _view_for(issue, preferences)
        return write_dry_run(engine, issue, mail, dry_run, subscribers=weekly, view_for=view_for)
    if held is not None:
        log.warning("send of %s held: %s", week, held)
        report = SendReport(week=week, held=held)
        report.reminded = remind_staff(settings, engine, week, mail, env, now, transport)
        return report
    # One sender at a time per database (a CLI `digest send` beside the scheduler's weekly
    # run would otherwise both claim the same pending deliveries).
    with acquire_scheduler_lock(engine, name="send"):
        if issue.hold_send:
            # a failed week is never mailed as a quiet one; a later successful run sends it
            reason = (
                "no source could be searched this week"
                if not issue.no_fetch_recorded
                else ("no fetch ran this week")
            )
            log.warning("send of %s held: %s", week, reason)
            return SendReport(week=week, held=reason)
        with _transport(transport, env) as smtp:
            _freeze(engine, issue, mail, now)
            report = send_digest(
                engine,
                issue,
                mail,
                smtp,
                subscribers=weekly,
                view_for=_view_for(issue, preferences),
                clock=lambda: now,
            )
            monthly = [s for s in subscribers if _frequency(preferences, s.email) == "monthly"]
            month = _due_month(engine, week)
            if month is not None and monthly:
                report.monthly.append(
                    _send_month(engine, month, settings, mail, smtp, monthly, preferences, now)
                )
    return report


class _Borrowed:
    """A caller's transport in a `with`, left open for the caller to close."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def __enter__(self) -> Transport:
        return self.transport

    def __exit__(self, *_exc: object) -> None:
        return None


def _transport(transport: Transport | None, env: Mapping[str, str]) -> _Borrowed | SmtpTransport:
    return (
        _Borrowed(transport) if transport is not None else SmtpTransport(smtp_config_from_env(env))
    )


# --------------------------------------------------------------------------- monthly


def _previous_month(month: str) -> str:
    year, number = (int(part) for part in month.split("-"))
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def _due_month(engine: Engine, week: str) -> str | None:
    """The month whose issue goes with this week's send: the month before this week's
    month, when some weekly issue of it was sent."""
    parse_week(week)
    month = _previous_month(month_of_week(week))
    with Session(engine) as session:
        weeks = [r.key for r in sent_issues(session) if r.kind == "weekly"]
    return month if any(month_of_week(w) == month for w in weeks) else None


def monthly_issue(engine: Engine, month: str, title: str) -> DigestView | None:
    """The month's issue: frozen if it went already, else made from its sent weeks."""
    with Session(engine) as session:
        frozen = sent_view(session, month_key(month))
        if frozen is not None:
            return frozen
        weeks = [
            digest_from_json(r.content)
            for r in delivered_issues(session)  # what reached someone, not merely frozen
            if r.kind == "weekly" and month_of_week(r.key) == month
        ]
    return month_issue(month, weeks, title) if weeks else None


def _send_month(
    engine: Engine,
    month: str,
    settings: Settings,
    mail: MailSettings,
    transport: Transport,
    subscribers: list[Subscriber],
    preferences: Mapping[str, Preferences],
    now: datetime,
) -> SendReport:
    issue = monthly_issue(engine, month, settings.digest.title)
    if issue is None:
        return SendReport(week=month_key(month), held="no weekly issue was sent that month")
    _freeze(engine, issue, mail, now)
    return send_digest(
        engine,
        issue,
        mail,
        transport,
        subscribers=subscribers,
        view_for=_view_for(issue, preferences),
        clock=lambda: now,
    )


# --------------------------------------------------------------------------- reminder


def remind_staff(
    settings: Settings,
    engine: Engine,
    week: str,
    mail: MailSettings,
    env: Mapping[str, str],
    now: datetime,
    transport: Transport | None = None,
) -> list[str]:
    """Email the staff once, `review_reminder_hours` before the deadline, while the
    week waits for approval. Returns the addresses reminded (empty: not due)."""
    with Session(engine) as session:
        approval = week_approval(
            session, week, settings.digest.review, deadline_of(settings, week), now
        )
        plan = reminder_due(session, settings, week, approval, now)
        stored = q.stored_digest(session, week)
    if plan is None:
        return []
    candidates = len(digest_from_json(stored.content).studies()) if stored else 0
    message = reminder_message(
        plan,
        from_address=mail.from_address,
        title=settings.digest.title,
        desk_url=settings.digest.site_url,
        approved=len(approval.approved_slugs),
        candidates=candidates,
        timezone=settings.timezone,
        now=now,
    )
    with _transport(transport, env) as smtp:
        smtp.send(message)
    with Session(engine) as session:
        record_reminder(session, plan, now)
        session.commit()
    log.info("reminded %d staff to review %s", len(plan.to), week)
    return list(plan.to)
