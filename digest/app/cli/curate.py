"""Handlers of subscribers, duplicates, reclassify: the editor's corrections."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from sqlmodel import Session

from digest.app import operations
from digest.app.cli.context import Context
from digest.app.cli.exits import EXIT_OK, UsageError
from digest.store import deliveries
from digest.store.duplicates import decide, list_candidates


def cmd_duplicates(ctx: Context) -> int:
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
    summary = operations.run_refresh(ctx.settings, engine)
    print(f"#{ctx.args.id}: {action}; {summary.studies} studies now", file=ctx.out)
    return EXIT_OK


def cmd_reclassify(ctx: Context) -> int:
    summary = operations.run_reclassify(ctx.settings, ctx.engine())
    print(f"reclassified {summary.reclassified} of {summary.studies} studies", file=ctx.out)
    return EXIT_OK


def cmd_studies_rebuild(ctx: Context) -> int:
    summary = operations.run_rebuild(ctx.settings, ctx.engine())
    print(
        f"rebuilt {summary.studies} studies ({summary.created} new, "
        f"{summary.merged_away} merged away, {summary.reclassified} reclassified)",
        file=ctx.out,
    )
    return EXIT_OK


def cmd_subscribers(ctx: Context) -> int:
    args = ctx.args
    with Session(ctx.engine()) as session:
        if args.action == "add":
            _add(session, args, ctx.out)
        elif args.action == "remove":
            _remove(session, args, ctx.out)
        elif args.action == "import":
            _import(session, args, ctx.out, ctx.err)
        else:
            for row in deliveries.list_subscribers(session, include_unsubscribed=args.all):
                state = "unsubscribed" if row.unsubscribed_at else "active"
                print(f"{row.email}\t{row.name or ''}\t{state}", file=ctx.out)
        session.commit()
    return EXIT_OK


def _add(session: Session, args: argparse.Namespace, out: TextIO) -> None:
    if not args.value:
        raise UsageError("digest subscribers add EMAIL [--name NAME]")
    row, outcome = deliveries.add_subscriber(session, args.value, args.name)
    print(f"{row.email}: {outcome}", file=out)


def _remove(session: Session, args: argparse.Namespace, out: TextIO) -> None:
    if not args.value:
        raise UsageError("digest subscribers remove EMAIL")
    if args.erase:  # forget the address and its delivery history entirely
        erased = deliveries.erase_subscriber(session, args.value)
        print(f"{args.value}: {'erased' if erased else 'not found'}", file=out)
    else:
        removed = deliveries.remove_subscriber(session, args.value)
        state = "unsubscribed" if removed else "was not subscribed"
        print(f"{args.value}: {state}", file=out)


def _import(session: Session, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
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
        file=out,
    )
    for line, value, reason in report.invalid:
        print(f"line {line}: {value!r}: {reason}", file=err)
