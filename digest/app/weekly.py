"""The weekly steps that write files and send mail: build, site, send.

The issue layer gives views (no I/O beyond the store); these functions render them and
hand the result to the one writer (`digest.publish.site_writer`) or to SMTP.
"""

from __future__ import annotations

import itertools
import logging
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.app.sending import ranked_week, send_week
from digest.config import Settings
from digest.desk.sent import delivered_issues
from digest.desk.site_sent import as_sent_files, with_sent_issues
from digest.issue.assemble import site_view, with_current_status
from digest.model import utcnow
from digest.publish.site_fragments import fragment_store
from digest.publish.site_writer import pages_of_files, write_files, write_site
from digest.render.email_html import render_digest_email_html
from digest.render.markdown import render_digest_markdown
from digest.render.site import site_pages, site_settings_from_config
from digest.render.text import render_digest_text
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
    view = ranked_week(settings, engine, week, now)
    site = site_settings_from_config(settings)
    unsubscribe = settings.email.unsubscribe_url or site.base_url
    folder = (out_dir or Path(settings.digest.output_dir)) / "digests" / week
    files = {
        "digest.md": render_digest_markdown(view, site).encode(),
        "digest.txt": render_digest_text(view, site, unsubscribe_url=unsubscribe).encode(),
        "email.html": render_digest_email_html(view, site, unsubscribe_url=unsubscribe).encode(),
    }
    return write_files(files, folder)


def render_site(
    settings: Settings, engine: Engine, out_dir: Path | None = None, *, full: bool = False
) -> list[Path]:
    """`digest site`: the static web archive, written reproducibly; only pages whose
    inputs changed are rendered again (every page with full=True)."""
    folder = out_dir or Path(settings.digest.output_dir) / "site"
    with Session(engine) as session:
        sent = delivered_issues(session)
    # the issues as sent: their digest pages, the clinic's takes, /sent/<key>/, /latest/
    view = with_current_status(with_sent_issues(site_view(settings, engine), sent))
    with fragment_store(folder, fresh=full) as fragments:
        pages = itertools.chain(site_pages(view, fragments), pages_of_files(as_sent_files(sent)))
        report = write_site(pages, folder, full=full)
    log.info(
        "site: %d page(s) rendered, %d unchanged and not rendered; %d file(s) written, %d removed",
        report.rendered,
        report.skipped,
        len(report.written),
        len(report.removed),
    )
    return [folder / name for name in report.written]


__all__ = ["build_week", "render_site", "send_week"]
