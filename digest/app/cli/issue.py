"""Handlers of build, site, send, run: the weekly issue and where it goes."""

from __future__ import annotations

from pathlib import Path

from digest.app import operations
from digest.app.cli.context import Context
from digest.app.cli.exits import EXIT_FAILED, EXIT_OK
from digest.app.report import print_fetch_table
from digest.model import utcnow
from digest.weeks import last_complete_week


def cmd_build(ctx: Context) -> int:
    paths = operations.run_build(
        ctx.settings, ctx.engine(), week=ctx.args.week, out_dir=ctx.args.out
    )
    for path in paths:
        print(f"wrote {path}", file=ctx.out)
    return EXIT_OK


def cmd_site(ctx: Context) -> int:
    out_dir = ctx.args.out or Path(ctx.settings.digest.output_dir) / "site"
    written = operations.run_site(ctx.settings, ctx.engine(), out_dir=out_dir, full=ctx.args.full)
    print(f"site in {out_dir}: {len(written)} file(s) written or changed", file=ctx.out)
    return EXIT_OK


def cmd_send(ctx: Context) -> int:
    week = ctx.args.week or last_complete_week(ctx.today())
    report = operations.run_send(ctx.settings, ctx.engine(), week, dry_run=ctx.args.dry_run)
    if ctx.args.dry_run:
        print(
            f"{week}: wrote {len(report.written)} .eml file(s) to {ctx.args.dry_run / week}",
            file=ctx.out,
        )
        return EXIT_OK
    if report.held:
        print(f"error: {week}: send held: {report.held}; nothing was mailed", file=ctx.err)
        return EXIT_FAILED
    print(
        f"{week}: sent to {len(report.sent)} subscriber(s), {len(report.already_sent)} "
        f"already had it, {len(report.failed)} refused",
        file=ctx.out,
    )
    for email in report.unconfirmed:
        print(
            f"warning: {email}: a previous run stopped while sending to them; possibly "
            "delivered, so not resent",
            file=ctx.err,
        )
    for email, why in report.failed:
        print(f"error: not delivered to {email}: {why}", file=ctx.err)
    return EXIT_FAILED if report.failed else EXIT_OK


def cmd_run(ctx: Context) -> int:
    result = operations.run_weekly(ctx.settings, ctx.engine(), utcnow(), week=ctx.args.week)
    print_fetch_table(result.fetch, ctx.out)
    print(
        f"{result.week}: {len(result.written)} file(s) written, {result.sent} email(s) sent",
        file=ctx.out,
    )
    for step in result.failed_steps:
        print(f"error: {step}", file=ctx.err)
    return EXIT_OK if result.ok else EXIT_FAILED
