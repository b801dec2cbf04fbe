"""Handlers of status, schedule, serve, screenshots, demo: running and watching it."""

from __future__ import annotations

import os
from pathlib import Path

from sqlmodel import Session

from digest.app.cli.context import Context
from digest.app.cli.exits import EXIT_FAILED, EXIT_OK, UsageError
from digest.app.demo import run_demo
from digest.app.firstrun import STARTER_CONFIG
from digest.app.recheck_clock import recheck_alarm, render_clock
from digest.app.schedule.jobs import (
    RECHECK_JOB_ID,
    describe_jobs,
    format_job_list,
    next_fire_times,
)
from digest.app.schedule.service import run_scheduler
from digest.app.screenshots import take_screenshots
from digest.app.serve import serve
from digest.app.status import held_weeks, render_status, review_holds, source_statuses
from digest.model import utcnow
from digest.publish.mail.settings import mail_settings_from_config
from digest.publish.unsubscribe import make_unsubscribe_app
from digest.store.digests import database_counts
from digest.store.locks import current_holder


def cmd_status(ctx: Context) -> int:
    engine = ctx.engine()
    statuses = source_statuses(ctx.settings, engine, failing_runs=ctx.args.fail_after)
    render_status(statuses, ctx.out)
    with Session(engine) as session:
        counts = ", ".join(f"{n:,} {what}" for what, n in database_counts(session).items())
    holder = current_holder(engine)
    print(f"\ndatabase: {counts}", file=ctx.out)
    print(
        f"scheduler: {'running, ' + holder.describe() if holder else 'not running'}", file=ctx.out
    )
    held = held_weeks(engine)
    for week in held:  # a failed week is never mailed as a quiet one
        print(f"weekly send: {week} held (no source could be searched that week)", file=ctx.out)
    for week, why in review_holds(ctx.settings, engine):
        verb = "waiting" if why.startswith("waiting") else "held"
        shown = why.removeprefix("waiting for ") if verb == "waiting" else why
        print(f"weekly send: {week} {verb}: {shown}", file=ctx.out)
    nexts = next_fire_times(ctx.settings, utcnow())
    render_clock(engine, nexts.get(RECHECK_JOB_ID), ctx.out)
    recheck_failing = ctx.settings.recheck.enabled and recheck_alarm(engine, ctx.args.fail_after)
    if recheck_failing:
        print(f"re-check: ALARM: failed its last {ctx.args.fail_after} runs", file=ctx.out)
    return EXIT_FAILED if recheck_failing or any(s.alarm for s in statuses) else EXIT_OK


def cmd_schedule(ctx: Context) -> int:
    if ctx.args.list:
        print(format_job_list(describe_jobs(ctx.settings, utcnow())), file=ctx.out)
        return EXIT_OK
    return run_scheduler(ctx.settings, ctx.engine(), ctx.config_path)


def cmd_serve(ctx: Context) -> int:
    site_dir = ctx.args.dir or Path(ctx.settings.digest.output_dir) / "site"
    if not (site_dir / "index.html").is_file():
        raise UsageError(f"{site_dir} has no index.html: run `digest site` first")
    unsubscribe = None
    if os.environ.get("DIGEST_SECRET"):
        mail = mail_settings_from_config(ctx.settings, os.environ)
        unsubscribe = make_unsubscribe_app(ctx.engine(), mail)
    else:
        print(
            "DIGEST_SECRET is not set: serving the site only (no unsubscribe endpoint)",
            file=ctx.err,
        )
    try:
        serve(
            site_dir,
            ctx.args.host,
            ctx.args.port,
            unsubscribe,
            ctx.settings.email.unsubscribe_url,
            ready=lambda url: print(
                f"serving {site_dir} on {url} (Ctrl-C to stop)", file=ctx.out, flush=True
            ),
        )
    except OSError as exc:  # the port is taken, or the address is not this host's
        raise UsageError(
            f"cannot listen on {ctx.args.host}:{ctx.args.port}: {exc.strerror or exc}"
        ) from exc
    return EXIT_OK


def cmd_screenshots(ctx: Context) -> int:
    emails = sorted(ctx.args.emails.rglob("*.eml")) if ctx.args.emails else []
    written = take_screenshots(ctx.args.site, ctx.args.out, eml=emails[0] if emails else None)
    for path in written:
        print(f"wrote {path}", file=ctx.out)
    return EXIT_OK


def cmd_demo(ctx: Context) -> int:
    config = ctx.config_path
    if not config.exists() and not ctx.config_was_named:
        # a fresh install in an empty folder: the demo runs on the shipped topic model
        config = Path(str(STARTER_CONFIG))
    return run_demo(config, ctx.args.out, out=ctx.out, progress=ctx.progress)
