"""Handlers of init, config check, fetch, parse, import, export: records in, studies out."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from digest.app import operations
from digest.app.cli.context import Context, safe_url
from digest.app.cli.exits import EXIT_FAILED, EXIT_OK, UsageError
from digest.app.export import render, study_exports
from digest.app.firstrun import effective_settings_text, write_starter_config
from digest.app.report import print_fetch_table
from digest.sources import get_parser
from digest.store.db import migrate


def cmd_init(ctx: Context) -> int:
    """Write the starter config when there is none (asked first, or --yes), then create or
    migrate the database."""
    path = ctx.config_path
    if not path.exists():
        if not (ctx.args.yes or _confirm(ctx, f"{path} does not exist. Write the starter")):
            raise UsageError(
                f"no config at {path}: run `digest init --yes` to write the shipped starter "
                "(acupuncture for pain), or pass --config FILE / set DIGEST_CONFIG"
            )
        write_starter_config(path)
        print(f"wrote {path}: the starter config; set contact_email before fetching", file=ctx.out)
    migrate(ctx.engine(create=True))
    print(f"database ready: {safe_url(ctx.settings.database_url)}", file=ctx.out)
    return EXIT_OK


def _confirm(ctx: Context, question: str) -> bool:
    """Ask on a terminal; never block a script or a CI job waiting for an answer."""
    if not sys.stdin.isatty():
        return False
    print(f"{question} (acupuncture for pain) there? [y/N] ", end="", file=ctx.err, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def cmd_config_check(ctx: Context) -> int:
    """Validate the config and print the settings it gives, secrets masked."""
    ctx.out.write(effective_settings_text(ctx.settings, os.environ))
    print(f"{ctx.config_path}: valid", file=ctx.err)
    return EXIT_OK


def cmd_fetch(ctx: Context) -> int:
    results = operations.run_fetch(
        ctx.settings,
        ctx.engine(),
        ctx.args.source or (),
        since=ctx.args.since,
        progress=ctx.progress,
    )
    print_fetch_table(results, ctx.out)
    for result in results:
        if result.error:
            print(f"error: {result.error}", file=ctx.err)
    return EXIT_FAILED if any(r.failed for r in results) else EXIT_OK


def cmd_parse(ctx: Context) -> int:
    parser = get_parser(ctx.args.kind)
    path: Path = ctx.args.file
    try:
        payload = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    result = parser(payload, ctx.args.context)
    for record in result.records:
        print(record.to_json(), file=ctx.out)
    for warning in result.warnings:
        print(f"warning: {warning}", file=ctx.err)
    for deleted in result.deleted_ids:
        print(f"deleted: {deleted}", file=ctx.err)
    return EXIT_OK


def cmd_import(ctx: Context) -> int:
    done = operations.run_import(
        ctx.settings, ctx.engine(), ctx.args.files, fmt=ctx.args.format, announce=ctx.args.announce
    )
    for path, summary in done:
        print(
            f"{path}: {summary.fetched} record(s): {summary.new} new, {summary.updated} "
            f"updated, {summary.unchanged} unchanged",
            file=ctx.out,
        )
        for warning in summary.warnings:
            print(f"warning: {path.name}: {warning}", file=ctx.err)
    return EXIT_OK


def cmd_export(ctx: Context) -> int:
    text = render(study_exports(ctx.settings, ctx.engine(), week=ctx.args.week), ctx.args.format)
    if ctx.args.output:
        try:
            ctx.args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {ctx.args.output}: {exc.strerror}") from exc
        print(f"wrote {ctx.args.output}", file=ctx.err)
    else:
        ctx.out.write(text)
    return EXIT_OK
