"""The `digest` command. The one place that turns DigestError into a message and exit code.

Exit codes: 0 ok, 1 a source or step failed (others still ran), 2 bad usage or config.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from digest import __version__
from digest.errors import ConfigError, DigestError

log = logging.getLogger("digest")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(DigestError):
    """Bad command-line usage (exit code 2)."""


# ------------------------------------------------------------------ shared helpers


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _parse_week(text: str) -> str:
    from digest.weeks import parse_week

    try:
        parse_week(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return text


class Context:
    """Lazily loaded settings and engine for one command invocation."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.args = args
        self.out = out
        self.err = err
        self._settings: Any = None
        self._engine: Any = None

    @property
    def config_path(self) -> Path:
        """--config, else $DIGEST_CONFIG, else sources.yaml (what jobs re-read later)."""
        from digest.config import DEFAULT_CONFIG_PATH

        return Path(self.args.config or os.environ.get("DIGEST_CONFIG", DEFAULT_CONFIG_PATH))

    @property
    def settings(self) -> Any:
        if self._settings is None:
            from digest.config import load_settings

            settings = load_settings(self.config_path)
            if self.args.db:
                settings = settings.model_copy(update={"database_url": self.args.db})
            self._settings = settings
        return self._settings

    def engine(self, *, check: bool = True) -> Any:
        if self._engine is None:
            from digest.store.db import check_current, make_engine

            self._engine = make_engine(self.settings.database_url)
            if check:
                check_current(self._engine)
        return self._engine

    def progress(self, message: str) -> None:
        if self.err.isatty() or self.args.verbose:
            print(message, file=self.err, flush=True)


# ------------------------------------------------------------------ commands


def cmd_init(ctx: Context) -> int:
    from digest.store.db import migrate

    engine = ctx.engine(check=False)
    migrate(engine)
    print(f"database ready: {_safe_url(ctx.settings.database_url)}", file=ctx.out)
    return EXIT_OK


def cmd_fetch(ctx: Context) -> int:
    from digest.pipeline import fetch_sources, make_http

    results = fetch_sources(
        ctx.settings,
        ctx.engine(),
        make_http(ctx.settings),
        names=ctx.args.source or (),
        since=ctx.args.since,
        progress=ctx.progress,
    )
    print_fetch_table(results, ctx.out)
    for result in results:
        if result.error:
            print(f"error: {result.error}", file=ctx.err)
    return EXIT_FAILED if any(r.failed for r in results) else EXIT_OK


def print_fetch_table(results: Sequence[Any], out: TextIO) -> None:
    rows = [("source", "outcome", "fetched", "new", "updated", "unchanged", "seconds")]
    for r in results:
        s = r.summary
        rows.append(
            (
                r.name,
                r.outcome,
                str(s.fetched),
                str(s.new),
                str(s.updated),
                str(s.unchanged),
                f"{r.seconds:.1f}",
            )
        )
    _print_table(rows, out)


def _print_table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip(), file=out)


def cmd_parse(ctx: Context) -> int:
    from digest.sources import get_parser

    parser = get_parser(ctx.args.kind)
    path: Path = ctx.args.file
    try:
        payload = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    result = parser(payload)
    for record in result.records:
        print(record.to_json(), file=ctx.out)
    for warning in result.warnings:
        print(f"warning: {warning}", file=ctx.err)
    for deleted in result.deleted_ids:
        print(f"deleted: {deleted}", file=ctx.err)
    return EXIT_OK


def cmd_status(ctx: Context) -> int:
    from sqlmodel import Session

    from digest.status import render_status, source_statuses
    from digest.store.digests import database_counts
    from digest.store.locks import current_holder

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
    return EXIT_FAILED if any(s.alarm for s in statuses) else EXIT_OK


def cmd_build(ctx: Context) -> int:
    from digest.weekly import build_week

    paths = build_week(ctx.settings, ctx.engine(), week=ctx.args.week, out_dir=ctx.args.out)
    for path in paths:
        print(f"wrote {path}", file=ctx.out)
    return EXIT_OK


def cmd_import(ctx: Context) -> int:
    from digest.pipeline import import_files

    done = import_files(
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
    from digest.export import render, study_exports

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


def cmd_duplicates(ctx: Context) -> int:
    from sqlmodel import Session

    from digest.pipeline import refresh_studies
    from digest.store.duplicates import decide, list_candidates

    engine = ctx.engine()
    action = ctx.args.action
    if action == "list":
        with Session(engine) as session:
            rows = list_candidates(session, include_decided=ctx.args.all)
        if not rows:
            print("no possible duplicates waiting for a decision", file=ctx.out)
        for row in rows:
            print(
                f"#{row.id}  score {row.score:.3f}  {row.reason}"
                + (f"  [{row.decision}]" if row.decision else ""),
                file=ctx.out,
            )
            print(f"    A {row.a}\n    B {row.b}", file=ctx.out)
        return EXIT_OK
    if ctx.args.id is None:
        raise UsageError(f"digest duplicates {action} needs the candidate id (see list)")
    with Session(engine) as session:
        decide(session, ctx.args.id, action)
        session.commit()
    summary = refresh_studies(ctx.settings, engine)
    print(f"#{ctx.args.id}: {action}; {summary.studies} studies now", file=ctx.out)
    return EXIT_OK


def cmd_reclassify(ctx: Context) -> int:
    from digest.pipeline import reclassify_all

    summary = reclassify_all(ctx.settings, ctx.engine())
    print(f"reclassified {summary.reclassified} of {summary.studies} studies", file=ctx.out)
    return EXIT_OK


def cmd_site(ctx: Context) -> int:
    from digest.weekly import render_site

    out_dir = ctx.args.out or Path(ctx.settings.digest.output_dir) / "site"
    written = render_site(ctx.settings, ctx.engine(), out_dir=out_dir)
    print(f"site in {out_dir}: {len(written)} file(s) written or changed", file=ctx.out)
    return EXIT_OK


def cmd_send(ctx: Context) -> int:
    from digest.weekly import send_week
    from digest.weeks import last_complete_week

    week = ctx.args.week or last_complete_week(_today(ctx.settings))
    report = send_week(ctx.settings, ctx.engine(), week, dry_run=ctx.args.dry_run)
    if ctx.args.dry_run:
        print(
            f"{week}: wrote {len(report.written)} .eml file(s) to {ctx.args.dry_run / week}",
            file=ctx.out,
        )
        return EXIT_OK
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


def cmd_subscribers(ctx: Context) -> int:
    from sqlmodel import Session

    from digest.store import deliveries

    args = ctx.args
    with Session(ctx.engine()) as session:
        if args.action == "add":
            if not args.value:
                raise UsageError("digest subscribers add EMAIL [--name NAME]")
            row, outcome = deliveries.add_subscriber(session, args.value, args.name)
            print(f"{row.email}: {outcome}", file=ctx.out)
        elif args.action == "remove":
            if not args.value:
                raise UsageError("digest subscribers remove EMAIL")
            if args.erase:  # forget the address and its delivery history entirely
                erased = deliveries.erase_subscriber(session, args.value)
                print(f"{args.value}: {'erased' if erased else 'not found'}", file=ctx.out)
            else:
                removed = deliveries.remove_subscriber(session, args.value)
                state = "unsubscribed" if removed else "was not subscribed"
                print(f"{args.value}: {state}", file=ctx.out)
        elif args.action == "import":
            if not args.value:
                raise UsageError("digest subscribers import FILE.csv")
            try:
                text = Path(args.value).read_text(encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"cannot read {args.value}: {exc.strerror}") from exc
            except UnicodeDecodeError as exc:
                raise UsageError(f"{args.value} is not a UTF-8 CSV file") from exc
            if "\x00" in text:
                raise UsageError(f"{args.value} is not a CSV file (it holds NUL bytes)")
            report = deliveries.import_subscribers_csv(session, text)
            print(
                f"added {report.added}, reactivated {report.reactivated}, unchanged "
                f"{report.unchanged}, invalid {len(report.invalid)}",
                file=ctx.out,
            )
            for line, value, reason in report.invalid:
                print(f"line {line}: {value!r}: {reason}", file=ctx.err)
        else:
            for row in deliveries.list_subscribers(session, include_unsubscribed=args.all):
                state = "unsubscribed" if row.unsubscribed_at else "active"
                print(f"{row.email}\t{row.name or ''}\t{state}", file=ctx.out)
        session.commit()
    return EXIT_OK


def cmd_serve(ctx: Context) -> int:
    from digest.serve import serve

    site_dir = ctx.args.dir or Path(ctx.settings.digest.output_dir) / "site"
    if not (site_dir / "index.html").is_file():
        raise UsageError(f"{site_dir} has no index.html: run `digest site` first")
    unsubscribe = None
    if os.environ.get("DIGEST_SECRET"):
        from digest.publish.email import mail_settings_from_config
        from digest.publish.unsubscribe import make_unsubscribe_app

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


def cmd_run(ctx: Context) -> int:
    from digest.model import utcnow
    from digest.operations import run_weekly

    result = run_weekly(ctx.settings, ctx.engine(), utcnow(), week=ctx.args.week)
    print_fetch_table(result.fetch, ctx.out)
    print(
        f"{result.week}: {len(result.written)} file(s) written, {result.sent} email(s) sent",
        file=ctx.out,
    )
    for step in result.failed_steps:
        print(f"error: {step}", file=ctx.err)
    return EXIT_OK if result.ok else EXIT_FAILED


def cmd_schedule(ctx: Context) -> int:
    from digest.model import utcnow
    from digest.schedule import describe_jobs, format_job_list, run_scheduler

    if ctx.args.list:
        print(format_job_list(describe_jobs(ctx.settings, utcnow())), file=ctx.out)
        return EXIT_OK
    return run_scheduler(ctx.settings, ctx.engine(), ctx.config_path)


def cmd_screenshots(ctx: Context) -> int:
    from digest.publish.screenshots import take_screenshots

    emails = sorted(ctx.args.emails.rglob("*.eml")) if ctx.args.emails else []
    written = take_screenshots(ctx.args.site, ctx.args.out, eml=emails[0] if emails else None)
    for path in written:
        print(f"wrote {path}", file=ctx.out)
    return EXIT_OK


def _today(settings: Any) -> date:
    from zoneinfo import ZoneInfo

    from digest.model import utcnow

    return utcnow().astimezone(ZoneInfo(settings.timezone)).date()


def cmd_demo(ctx: Context) -> int:
    from digest.demo import run_demo

    return run_demo(ctx.config_path, ctx.args.out, out=ctx.out, progress=ctx.progress)


# ------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digest",
        description="An honest weekly evidence digest of acupuncture-for-pain research.",
        epilog="Exit codes: 0 ok, 1 a source or step failed (others still ran), "
        "2 bad usage or config.",
    )
    parser.add_argument("--version", action="version", version=f"digest {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="configuration file (default: $DIGEST_CONFIG, else sources.yaml)",
    )
    parser.add_argument("--db", help="database URL (overrides the config and DIGEST_DATABASE_URL)")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more output (-vv for debug)"
    )
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="log lines as text or one JSON object a line",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func: Callable[[Context], int], help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(func=func)
        return command

    add("init", cmd_init, "create or migrate the database (Alembic migrations)")

    fetch = add("fetch", cmd_fetch, "run fetchers and store what is new")
    fetch.add_argument(
        "--source",
        action="append",
        metavar="NAME",
        help="only this source (repeatable; runs it even if disabled)",
    )
    fetch.add_argument(
        "--since",
        type=_parse_date,
        metavar="DATE",
        help="fetch from this date instead of the stored cursor",
    )

    parse = add("parse", cmd_parse, "parse a saved payload and print records as JSON Lines")
    parse.add_argument(
        "kind",
        help="source kind: pubmed, clinicaltrials, europepmc, "
        "pubmed_rss, rss, nccih, clinicaltrials-legacy, medline",
    )
    parse.add_argument("file", type=Path)

    status = add("status", cmd_status, "sources, last runs, outcomes, errors, next runs")
    status.add_argument(
        "--fail-after",
        type=int,
        default=3,
        metavar="N",
        help="exit 1 when a source failed its last N runs (default 3)",
    )

    build = add("build", cmd_build, "build one week's digest in every format")
    build.add_argument(
        "--week",
        type=_parse_week,
        metavar="YYYY-Www",
        help="ISO week (default: the last complete week)",
    )
    build.add_argument("--out", type=Path, help="output folder (default: digest.output_dir)")

    imp = add(
        "import",
        cmd_import,
        "import a library (JSON Lines, RIS, BibTeX, MEDLINE/.nbib, "
        "ClinicalTrials.gov legacy XML) through the same dedupe path",
    )
    imp.add_argument("files", type=Path, nargs="+", metavar="FILE")
    imp.add_argument(
        "--format",
        choices=["jsonl", "ris", "bibtex", "medline", "clinicaltrials-legacy"],
        help="the files' format (default: guessed from name and content)",
    )
    imp.add_argument(
        "--announce",
        action="store_true",
        help="list the imported works in this week's digest (default: they are back "
        "catalogue: stored, deduplicated, on the site, but not announced as new)",
    )

    export = add("export", cmd_export, "studies out, with their identifiers and records")
    export.add_argument(
        "--format", choices=["jsonl", "csv", "ris", "bibtex", "csl-json"], default="jsonl"
    )
    export.add_argument(
        "--week",
        type=_parse_week,
        metavar="YYYY-Www",
        help="only studies first seen in this ISO week",
    )
    export.add_argument("--output", "-o", type=Path, help="write to a file, not stdout")

    dupes = add(
        "duplicates",
        cmd_duplicates,
        "possible duplicates held apart: list them, merge or keep them apart",
    )
    dupes.add_argument("action", choices=["list", "merge", "keep-apart"], nargs="?", default="list")
    dupes.add_argument("id", type=int, nargs="?", help="candidate id from the list")
    dupes.add_argument("--all", action="store_true", help="list decided pairs too")

    add(
        "reclassify",
        cmd_reclassify,
        "recompute design, topics, size, key finding and badges of every study",
    )

    site = add("site", cmd_site, "render the static web archive")
    site.add_argument("--out", type=Path, help="folder (default: <digest.output_dir>/site)")

    send = add("send", cmd_send, "email the week's digest to subscribers who do not have it")
    send.add_argument(
        "--week",
        type=_parse_week,
        metavar="YYYY-Www",
        help="ISO week (default: the last complete week)",
    )
    send.add_argument(
        "--dry-run",
        type=Path,
        metavar="DIR",
        help="write one .eml per subscriber into DIR instead of sending",
    )

    subs = add("subscribers", cmd_subscribers, "manage newsletter subscribers")
    subs.add_argument("action", choices=["add", "remove", "list", "import"])
    subs.add_argument("value", nargs="?", help="an email address, or a CSV file for import")
    subs.add_argument("--name", help="the subscriber's name (add)")
    subs.add_argument("--all", action="store_true", help="list unsubscribed addresses too")
    subs.add_argument(
        "--erase",
        action="store_true",
        help="remove: delete the address and its delivery history (on request)",
    )

    serve = add("serve", cmd_serve, "preview the site locally, with the unsubscribe endpoint")
    serve.add_argument("--dir", type=Path, help="site folder (default: <output_dir>/site)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)

    run = add("run", cmd_run, "the weekly job: fetch, build, site, send (as configured)")
    run.add_argument("--week", type=_parse_week, metavar="YYYY-Www")

    schedule = add(
        "schedule",
        cmd_schedule,
        "run the scheduler (cron triggers from sources.yaml); --list shows jobs and next run times",
    )
    schedule.add_argument("--list", action="store_true", help="list jobs and exit")

    shots = add(
        "screenshots",
        cmd_screenshots,
        "screenshots of the site (and an email) at 360 and 1280 px in headless Chromium",
    )
    shots.add_argument("--site", type=Path, required=True, help="a built site folder")
    shots.add_argument("--emails", type=Path, help="a folder of .eml files (first one shot)")
    shots.add_argument("--out", type=Path, required=True, help="where the PNG files go")

    demo = add("demo", cmd_demo, "offline end-to-end run on the bundled recordings")
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("demo-out"),
        help="where to write the database, digest and site (default: demo-out)",
    )
    return parser


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed usage
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    from digest.logs import setup_logging

    verbose = args.verbose
    if args.command == "schedule" and not getattr(args, "list", False):
        verbose = max(verbose, 1)  # the scheduler's one line per job is its heartbeat
    setup_logging(args.log_format, verbose)
    ctx = Context(args, out, err)
    try:
        return int(args.func(ctx))
    except (ConfigError, UsageError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_USAGE
    except DigestError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
