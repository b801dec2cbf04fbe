"""The `digest` command. The one place that turns DigestError into a message and exit code.

Exit codes: 0 ok, 1 a source or step failed (others still ran), 2 bad usage or config.
"""

from __future__ import annotations

import argparse
import logging
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
    def settings(self) -> Any:
        if self._settings is None:
            from digest.config import load_settings

            settings = load_settings(self.args.config)
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

    results = fetch_sources(ctx.settings, ctx.engine(), make_http(ctx.settings),
                            names=ctx.args.source or (), since=ctx.args.since,
                            progress=ctx.progress)
    print_fetch_table(results, ctx.out)
    for result in results:
        if result.error:
            print(f"error: {result.error}", file=ctx.err)
    return EXIT_FAILED if any(r.failed for r in results) else EXIT_OK


def print_fetch_table(results: Sequence[Any], out: TextIO) -> None:
    rows = [("source", "outcome", "fetched", "new", "updated", "unchanged", "seconds")]
    for r in results:
        s = r.summary
        rows.append((r.name, r.outcome, str(s.fetched), str(s.new), str(s.updated),
                     str(s.unchanged), f"{r.seconds:.1f}"))
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
    from digest.status import render_status, source_statuses

    statuses = source_statuses(ctx.settings, ctx.engine(), failing_runs=ctx.args.fail_after)
    render_status(statuses, ctx.out)
    return EXIT_FAILED if any(s.alarm for s in statuses) else EXIT_OK


def cmd_build(ctx: Context) -> int:
    from digest.weekly import build_week

    paths = build_week(ctx.settings, ctx.engine(), week=ctx.args.week, out_dir=ctx.args.out)
    for path in paths:
        print(f"wrote {path}", file=ctx.out)
    return EXIT_OK


def cmd_import(ctx: Context) -> int:
    from digest.pipeline import import_files

    done = import_files(ctx.settings, ctx.engine(), ctx.args.files, fmt=ctx.args.format)
    for path, summary in done:
        print(f"{path}: {summary.fetched} record(s): {summary.new} new, {summary.updated} "
              f"updated, {summary.unchanged} unchanged", file=ctx.out)
    return EXIT_OK


def cmd_export(ctx: Context) -> int:
    from digest.export import render, study_exports

    text = render(study_exports(ctx.settings, ctx.engine(), week=ctx.args.week),
                  ctx.args.format)
    if ctx.args.output:
        ctx.args.output.write_text(text, encoding="utf-8")
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
            print(f"#{row.id}  score {row.score:.3f}  {row.reason}"
                  + (f"  [{row.decision}]" if row.decision else ""), file=ctx.out)
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


def cmd_demo(ctx: Context) -> int:
    from digest.demo import run_demo

    return run_demo(ctx.args.config, ctx.args.out, out=ctx.out, progress=ctx.progress)


# ------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digest",
        description="An honest weekly evidence digest of acupuncture-for-pain research.",
        epilog="Exit codes: 0 ok, 1 a source or step failed (others still ran), "
        "2 bad usage or config.",
    )
    parser.add_argument("--version", action="version", version=f"digest {__version__}")
    parser.add_argument("--config", type=Path, default=Path("sources.yaml"),
                        help="configuration file (default: sources.yaml)")
    parser.add_argument("--db", help="database URL (overrides the config and "
                        "DIGEST_DATABASE_URL)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more output (-vv for debug)")
    parser.add_argument("--log-format", choices=["text", "json"], default="text",
                        help="log lines as text or one JSON object a line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func: Callable[[Context], int], help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(func=func)
        return command

    add("init", cmd_init, "create or migrate the database (Alembic migrations)")

    fetch = add("fetch", cmd_fetch, "run fetchers and store what is new")
    fetch.add_argument("--source", action="append", metavar="NAME",
                       help="only this source (repeatable; runs it even if disabled)")
    fetch.add_argument("--since", type=_parse_date, metavar="DATE",
                       help="fetch from this date instead of the stored cursor")

    parse = add("parse", cmd_parse, "parse a saved payload and print records as JSON Lines")
    parse.add_argument("kind", help="source kind: pubmed, clinicaltrials, europepmc, "
                       "pubmed_rss, rss, nccih, clinicaltrials-legacy, medline")
    parse.add_argument("file", type=Path)

    status = add("status", cmd_status, "sources, last runs, outcomes, errors, next runs")
    status.add_argument("--fail-after", type=int, default=3, metavar="N",
                        help="exit 1 when a source failed its last N runs (default 3)")

    build = add("build", cmd_build, "build one week's digest in every format")
    build.add_argument("--week", type=_parse_week, metavar="YYYY-Www",
                       help="ISO week (default: the last complete week)")
    build.add_argument("--out", type=Path, help="output folder (default: digest.output_dir)")

    imp = add("import", cmd_import, "import a library (JSON Lines, RIS, BibTeX, MEDLINE/.nbib, "
              "ClinicalTrials.gov legacy XML) through the same dedupe path")
    imp.add_argument("files", type=Path, nargs="+", metavar="FILE")
    imp.add_argument("--format", choices=["jsonl", "ris", "bibtex", "medline",
                                          "clinicaltrials-legacy"],
                     help="the files' format (default: guessed from name and content)")

    export = add("export", cmd_export, "studies out, with their identifiers and records")
    export.add_argument("--format", choices=["jsonl", "csv", "ris", "bibtex", "csl-json"],
                        default="jsonl")
    export.add_argument("--week", type=_parse_week, metavar="YYYY-Www",
                        help="only studies first seen in this ISO week")
    export.add_argument("--output", "-o", type=Path, help="write to a file, not stdout")

    dupes = add("duplicates", cmd_duplicates,
                "possible duplicates held apart: list them, merge or keep them apart")
    dupes.add_argument("action", choices=["list", "merge", "keep-apart"], nargs="?",
                       default="list")
    dupes.add_argument("id", type=int, nargs="?", help="candidate id from the list")
    dupes.add_argument("--all", action="store_true", help="list decided pairs too")

    add("reclassify", cmd_reclassify,
        "recompute design, topics, size, key finding and badges of every study")

    demo = add("demo", cmd_demo, "offline end-to-end run on the bundled recordings")
    demo.add_argument("--out", type=Path, default=Path("demo-out"),
                      help="where to write the database, digest and site (default: demo-out)")
    return parser


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed usage
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    from digest.logs import setup_logging

    setup_logging(args.log_format, args.verbose)
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
