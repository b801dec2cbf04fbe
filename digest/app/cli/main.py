"""`digest`: parse, set up logging, run one command. The one place that turns
DigestError into a message and exit code.

Exit codes: 0 ok, 1 a source or step failed (others still ran), 2 bad usage or config.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO, cast

from digest.app.cli.exits import EXIT_FAILED, EXIT_USAGE, UsageError
from digest.app.cli.parsers import build_parser
from digest.errors import ConfigError, DigestError
from digest.logs import setup_logging

# Like parsers, this module stays light: a command's handler module (and with it
# SQLAlchemy, lxml, APScheduler ...) is imported only once its arguments parse, so
# `digest --help` and usage errors take milliseconds, not seconds.
if TYPE_CHECKING:
    from digest.app.cli.context import Context


def resolve_handler(spec: str) -> Callable[[Context], int]:
    """The handler function for a "module:function" spec set by `parsers`."""
    module_name, _, func_name = spec.partition(":")
    return cast(
        "Callable[[Context], int]", getattr(importlib.import_module(module_name), func_name)
    )


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
    verbose = args.verbose
    if args.command == "schedule" and not getattr(args, "list", False):
        verbose = max(verbose, 1)  # the scheduler's one line per job is its heartbeat
    setup_logging(args.log_format, verbose)
    try:
        return _run(args, out, err)
    except (ConfigError, UsageError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_USAGE
    except DigestError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return 130


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    handler = resolve_handler(args.handler)
    # deferred like the handler (and loaded with it anyway): settings, engine, SQLAlchemy
    from digest.app.cli.context import Context

    return int(handler(Context(args, out, err)))
