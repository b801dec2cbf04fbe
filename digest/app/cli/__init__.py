"""The `digest` command (entry point `digest.app.cli:main`).

* `main`: parse, set up logging, dispatch, turn DigestError into a message and exit code.
* `parsers`: every command's arguments (light: imports nothing heavy, so `--help` is quick).
* `context`: the per-invocation Context (settings, engine), exit codes, UsageError.
* one module of handlers per command group: `data` (init, fetch, parse, import, export),
  `issue` (build, site, send, run), `curate` (subscribers, duplicates, reclassify),
  `service` (status, schedule, serve, screenshots, demo). Jobs go through
  `digest.app.operations`, the entry points the scheduler uses too.
"""

from digest.app.cli.main import main
from digest.app.cli.parsers import build_parser

__all__ = ["build_parser", "main"]
