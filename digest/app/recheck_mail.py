"""The correction email: when the re-check finds a notice about a study an issue carried,
a short message to each subscriber that issue reached, once.

"You cannot retract an email; you must send another one." Configured by
`recheck.email` (off, serious: retraction, withdrawal and expression of concern, or all:
also corrections, new versions and reversed retractions). Only those whose issue went
out before the notice was first seen are written to (a later issue already showed it),
and only those whose own copy carried the study (their preferences, as they stand now,
admit its conditions and design: a copy filtered to migraine never carried a back-pain
trial), nobody once an issue listing the correction in its "corrections since last issue" has
gone out, and never a suppressed or unsubscribed address. The ledger (`correction_delivery`, one row
per work and kind and subscriber) is `sending` before SMTP and `sent` after, so a rerun
mails nobody twice; a row a crash left `sending` becomes `unconfirmed`, not resent.
"""

from __future__ import annotations

import hashlib
import html
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.app.recheck_clock import issues_telling, section_kind
from digest.app.recheck_targets import carried_by_issue, recipients
from digest.config import Settings
from digest.desk.subscribe import is_suppressed, subscriber_preferences, wants_design
from digest.facts import SERIOUS, WORDING, notice_url
from digest.model import Study, Subscriber, utcnow
from digest.publish.mail.compose import MAIL_POLICY
from digest.publish.mail.settings import (
    MailSettings,
    list_unsubscribe_header,
    mail_settings_from_config,
    unsubscribe_link,
)
from digest.publish.mail.smtp import SendError, SmtpTransport, Transport, smtp_config_from_env
from digest.render.sanitize import one_line
from digest.sources.text import clean_text
from digest.store import recheck as rq
from digest.store.recheck_tables import StudyNotice

_SUBJECTS: dict[str, str] = {
    "retraction": "Retracted",
    "withdrawal": "Withdrawn",
    "expression-of-concern": "Expression of concern",
    "correction": "Corrected",
    "new-version": "New version",
    "reinstatement": "Retraction reversed",
}


def _wanted(kind: str, setting: str) -> bool:
    return setting == "all" or (setting == "serious" and kind in SERIOUS)


def correction_message(
    mail: MailSettings,
    study: Study,
    notice: StudyNotice,
    week: str,
    email: str,
    name: str | None,
    when: datetime,
) -> EmailMessage:
    """One subscriber's correction message (plain text and a little HTML)."""
    wording = WORDING[notice.kind]  # type: ignore[index]
    title = clean_text(one_line(study.title))
    page = f"{mail.site.base_url.rstrip('/')}/studies/{study.slug}/"
    link = notice_url(notice.notice_doi, notice.notice_pmid)
    dated = f" dated {notice.notice_date}" if notice.notice_date else " (undated)"
    who = notice.asserted_by.replace("+", " and ").replace("retraction-watch", "Retraction Watch")
    lines = [
        f"A study in the {week} issue of {mail.site.title}: {wording.label.lower()}.",
        "",
        title,
        "",
        wording.sentence,
        "",
        f"The notice{dated}, as recorded by {who}: {link or 'no link given'}",
        f"The study's page: {page}",
        "",
        "If you quoted this study on your website or gave it to a patient, please update that.",
        "",
        f"Unsubscribe: {unsubscribe_link(mail, email)}",
    ]
    key = hashlib.sha256(f"{mail.list_id}\n{notice.work}|{notice.kind}\n{email}".encode())
    domain = mail.from_address.rsplit("@", 1)[-1].strip(" >") or "digest.invalid"
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = f"{_SUBJECTS.get(notice.kind, 'Correction')}: {title}"[:200]
    message["From"] = mail.from_address
    message["To"] = Address(display_name=one_line(name), addr_spec=email)
    message["Date"] = format_datetime(when.astimezone(UTC))
    message["Message-ID"] = f"<correction.{key.hexdigest()[:32]}@{domain}>"
    message["List-Id"] = f"<{mail.list_id}>"
    message["List-Unsubscribe"] = list_unsubscribe_header(mail, email)
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    text = "\n".join(lines) + "\n"
    message.set_content(text)
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in lines if line)
    message.add_alternative(f"<!doctype html><html><body>{paragraphs}</body></html>", "html")
    return message


def send_corrections(
    settings: Settings,
    engine: Engine,
    *,
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
    transport: Transport | None = None,
) -> int:
    """Send every correction email due (see the module docstring); how many were sent."""
    setting = settings.recheck.email
    if setting == "off":
        return 0
    env = dict(os.environ) if env is None else env
    mail = mail_settings_from_config(settings, env)
    now = now or utcnow()
    with Session(engine) as session:
        notices = [n for rows in rq.notices_by_work(session).values() for n in rows]
        notices = [n for n in notices if _wanted(n.kind, setting)]
        studies = rq.studies_for_works(session, {n.work for n in notices})
        issues = carried_by_issue(session)
        told = issues_telling(session)
        preferences = subscriber_preferences(session)  # active, unsuppressed subscribers
        plan: list[tuple[StudyNotice, Study, Subscriber, str]] = []
        for notice in notices:
            study = studies.get(notice.work)
            if study is None or (study.slug, section_kind(notice.kind)) in told:
                continue  # an issue that reached them already listed the correction
            if notice.kind == "retraction" and not study.retracted:
                continue  # reversed (a reinstatement is dated after it): "retracted" is untrue
            seen = notice.first_seen_at
            seen = seen if seen.tzinfo else seen.replace(tzinfo=UTC)
            for subscriber_id, week in recipients(session, study.slug, seen, issues).items():
                subscriber = session.get(Subscriber, subscriber_id)
                if subscriber is None or subscriber.unsubscribed_at is not None:
                    continue
                if is_suppressed(session, subscriber.email):
                    continue
                chosen = preferences.get(subscriber.email)
                if chosen and not wants_design(chosen, study.conditions, study.design):
                    continue  # their copy left the study out: they never read it
                plan.append((notice, study, subscriber, week))
    if not plan:
        return 0
    sent = 0
    own = transport is None
    smtp: Transport = transport or SmtpTransport(smtp_config_from_env(env))
    try:
        for notice, study, subscriber, week in plan:
            correction = f"{notice.work}|{notice.kind}"
            message = correction_message(
                mail, study, notice, week, subscriber.email, subscriber.name, now
            )
            with Session(engine) as session:
                claim = rq.claim_correction(
                    session, correction, subscriber.id or 0, str(message["Message-ID"])
                )
            if claim is None:
                continue
            try:
                smtp.send(message)
            except SendError as exc:
                with Session(engine) as session:
                    rq.mark_correction(session, claim, "failed", str(exc)[:500])
                continue
            with Session(engine) as session:
                rq.mark_correction(session, claim, "sent")
                rq.mark_told(session, [notice], utcnow(), "email")
                session.commit()
            sent += 1
    finally:
        if own and isinstance(smtp, SmtpTransport):
            smtp.close()
    return sent
