"""The weekly steps that write files and send mail: build, site, send.

The issue layer gives views (no I/O beyond the store); these functions render them and
hand the result to the one writer (`digest.publish.site_writer`) or to SMTP.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.config import Settings
from digest.desk.subscribe import is_suppressed
from digest.desk.triage import week_approval
from digest.issue.assemble import assemble_week, site_view
from digest.issue.context import only_items
from digest.model import utcnow
from digest.publish.mail.send import SendReport, send_digest, write_dry_run
from digest.publish.mail.settings import mail_settings_from_config
from digest.publish.mail.smtp import SmtpTransport, smtp_config_from_env
from digest.publish.site_writer import write_files, write_site
from digest.render.email_html import render_digest_email_html
from digest.render.markdown import render_digest_markdown
from digest.render.site import build_site, site_settings_from_config
from digest.render.text import render_digest_text
from digest.store import deliveries
from digest.store import digests as q
from digest.store.locks import acquire_scheduler_lock
from digest.views import digest_from_json
from digest.weeks import last_complete_week

log = logging.getLogger(__name__)


def build_week(
    settings: Settings,
    engine: Engine,
    week: str | None = None,
    out_dir: Path | None = None,
    now: datetime | None = None,
) -> list[Path]:
    """`digest build`: the week's digest as Markdown, plain text and email HTML."""
    now = now or utcnow()
    week = week or last_complete_week(now.astimezone(ZoneInfo(settings.timezone)).date())
    view = assemble_week(settings, engine, week, now)
    site = site_settings_from_config(settings)
    unsubscribe = settings.email.unsubscribe_url or site.base_url
    folder = (out_dir or Path(settings.digest.output_dir)) / "digests" / week
    files = {
        "digest.md": render_digest_markdown(view, site).encode(),
        "digest.txt": render_digest_text(view, site, unsubscribe_url=unsubscribe).encode(),
        "email.html": render_digest_email_html(view, site, unsubscribe_url=unsubscribe).encode(),
    }
    return write_files(files, folder)


def render_site(settings: Settings, engine: Engine, out_dir: Path | None = None) -> list[Path]:
    """`digest site`: the static web archive, written reproducibly."""
    folder = out_dir or Path(settings.digest.output_dir) / "site"
    report = write_site(build_site(site_view(settings, engine)), folder)
    return [folder / name for name in report.written]


def send_week(
    settings: Settings,
    engine: Engine,
    week: str,
    dry_run: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> SendReport:
    """`digest send`: email the week's digest (built first if needed) to every subscriber
    who does not have it yet; with dry_run, write .eml files instead."""
    env = dict(os.environ) if env is None else env
    with Session(engine) as session:
        stored = q.stored_digest(session, week)
    view = digest_from_json(stored.content) if stored else assemble_week(settings, engine, week)
    mail = mail_settings_from_config(settings, env)
    with Session(engine) as session:
        approval = week_approval(session, week, review=settings.digest.review)
        # bounced and complained-about addresses (`digest bounces import`) are never mailed
        subscribers = [
            s for s in deliveries.list_subscribers(session) if not is_suppressed(session, s.email)
        ]
    if not approval.required or approval.ready:
        view = only_items(view, approval.include)
    if dry_run is not None:
        return write_dry_run(engine, view, mail, dry_run)
    if approval.required and not approval.ready:
        log.warning("send of %s held: review is required and staff have not approved it", week)
        return SendReport(week=week, held="waiting for staff to approve the week on the desk")
    # One sender at a time per database (a CLI `digest send` beside the scheduler's weekly
    # run would otherwise both claim the same pending deliveries).
    with acquire_scheduler_lock(engine, name="send"):
        if view.hold_send:
            # a failed week is never mailed as a quiet one; a later successful run sends it
            reason = (
                "no source could be searched this week"
                if not view.no_fetch_recorded
                else ("no fetch ran this week")
            )
            log.warning("send of %s held: %s", week, reason)
            return SendReport(week=week, held=reason)
        with SmtpTransport(smtp_config_from_env(env)) as transport:
            return send_digest(engine, view, mail, transport, subscribers=subscribers)
