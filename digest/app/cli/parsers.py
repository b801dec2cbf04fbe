"""Every command's arguments, one `add_*` function per command group.

Light on purpose: this module imports only argparse and the stdlib-only `digest.weeks`,
so `digest --help` and argument errors do not load SQLAlchemy, lxml or APScheduler.
Each command names its handler as "module:function"; `main` imports that module once
the arguments are known (tests/test_cli.py checks every handler resolves).
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from digest import __version__
from digest.weeks import parse_week

if TYPE_CHECKING:  # argparse's subparsers type is private and generic only to type checkers
    _Sub: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


# The kinds and import formats of the registry, written out so that `digest --help` does not
# import the parsers; tests/test_cli.py checks this list against digest.sources.
PARSE_KINDS = (
    *("pubmed", "clinicaltrials", "europepmc", "pubmed_rss", "rss", "nccih", "crossref"),
    *("jsonl", "ris", "bibtex", "medline", "clinicaltrials-legacy", "pubmed-xml"),
)


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def parse_week_arg(text: str) -> str:
    try:
        parse_week(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return text


def _add(sub: _Sub, name: str, handler: str, help_text: str) -> argparse.ArgumentParser:
    command = sub.add_parser(name, help=help_text, description=help_text)
    command.set_defaults(handler=f"digest.app.cli.{handler}")
    return command


def _week_option(command: argparse.ArgumentParser, help_text: str) -> None:
    command.add_argument("--week", type=parse_week_arg, metavar="YYYY-Www", help=help_text)


def add_data_parsers(sub: _Sub) -> None:
    """init, fetch, parse, import, export: records in and studies out."""
    init = _add(
        sub,
        "init",
        "data:cmd_init",
        "write the starter sources.yaml if there is none, then create or migrate the database",
    )
    init.add_argument("--yes", action="store_true", help="write the starter config without asking")
    config = sub.add_parser(
        "config", help="check the configuration", description="check the configuration"
    )
    config_sub = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    _add(
        config_sub,
        "check",
        "data:cmd_config_check",
        "validate sources.yaml and print the effective settings, secrets masked",
    )

    fetch = _add(sub, "fetch", "data:cmd_fetch", "run fetchers and store what is new")
    fetch.add_argument(
        "--source",
        action="append",
        metavar="NAME",
        help="only this source (repeatable; runs it even if disabled)",
    )
    fetch.add_argument(
        "--since",
        type=parse_date,
        metavar="DATE",
        help="fetch from this date instead of the stored cursor",
    )

    parse = _add(
        sub, "parse", "data:cmd_parse", "parse a saved payload and print records as JSON Lines"
    )
    parse.add_argument("kind", help=f"a source kind or import format: {', '.join(PARSE_KINDS)}")
    parse.add_argument("file", type=Path)
    parse.add_argument(
        "--context",
        type=json.loads,
        default=None,
        metavar="JSON",
        help="what the parser needs besides the body, as stored with the payload, e.g. "
        '\'{"url": "https://www.nccih.nih.gov/health/...", "design": "review"}\'',
    )

    imp = _add(
        sub,
        "import",
        "data:cmd_import",
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

    export = _add(
        sub, "export", "data:cmd_export", "studies out, with their identifiers and records"
    )
    export.add_argument(
        "--format", choices=["jsonl", "csv", "ris", "bibtex", "csl-json"], default="jsonl"
    )
    _week_option(export, "only studies first seen in this ISO week")
    export.add_argument("--output", "-o", type=Path, help="write to a file, not stdout")


def add_issue_parsers(sub: _Sub) -> None:
    """build, site, send, run: the weekly issue and where it goes."""
    build = _add(sub, "build", "issue:cmd_build", "build one week's digest in every format")
    _week_option(build, "ISO week (default: the last complete week)")
    build.add_argument("--out", type=Path, help="output folder (default: digest.output_dir)")

    site = _add(sub, "site", "issue:cmd_site", "render the static web archive")
    site.add_argument("--out", type=Path, help="folder (default: <digest.output_dir>/site)")
    site.add_argument(
        "--full",
        action="store_true",
        help="render every page again, not only those whose inputs changed since the last "
        "build (the result is the same: a check, or a fresh start; a change of templates or "
        "code already renders every page)",
    )

    send = _add(
        sub,
        "send",
        "issue:cmd_send",
        "email the week's digest to subscribers who do not have it",
    )
    _week_option(send, "ISO week (default: the last complete week)")
    send.add_argument(
        "--dry-run",
        type=Path,
        metavar="DIR",
        help="write one .eml per subscriber into DIR instead of sending",
    )

    run = _add(
        sub, "run", "issue:cmd_run", "the weekly job: fetch, build, site, send (as configured)"
    )
    _week_option(run, "ISO week (default: the last complete week)")


def add_curate_parsers(sub: _Sub) -> None:
    """subscribers, duplicates, reclassify: the editor's corrections."""
    subs = _add(sub, "subscribers", "curate:cmd_subscribers", "manage newsletter subscribers")
    subs.add_argument("action", choices=["add", "remove", "list", "import"])
    subs.add_argument("value", nargs="?", help="an email address, or a CSV file for import")
    subs.add_argument("--name", help="the subscriber's name (add)")
    subs.add_argument("--all", action="store_true", help="list unsubscribed addresses too")
    subs.add_argument(
        "--erase",
        action="store_true",
        help="remove: delete the address and its delivery history (on request)",
    )

    dupes = _add(
        sub,
        "duplicates",
        "curate:cmd_duplicates",
        "possible duplicates held apart: list them, merge or keep them apart",
    )
    dupes.add_argument("action", choices=["list", "merge", "keep-apart"], nargs="?", default="list")
    dupes.add_argument("id", type=int, nargs="?", help="candidate id from the list")
    dupes.add_argument("--all", action="store_true", help="list decided pairs too")

    _add(
        sub,
        "reclassify",
        "curate:cmd_reclassify",
        "recompute design, topics, size, key finding and badges of every study",
    )

    studies = sub.add_parser("studies", help="the study archive", description="the study archive")
    studies_sub = studies.add_subparsers(
        dest="studies_command", metavar="SUBCOMMAND", required=True
    )
    _add(
        studies_sub,
        "rebuild",
        "curate:cmd_studies_rebuild",
        "recluster every record from scratch (each fetch only reclusters what it touched)",
    )

    claims = _add(
        sub,
        "check-claims",
        "claims:cmd_check_claims",
        "flag overclaims in a draft blog post against the chosen advertising policy",
    )
    claims.add_argument("source", help="a file (text, Markdown, HTML), a http(s) URL, or - (stdin)")
    claims.add_argument("--format", choices=["text", "json"], default="text")
    claims.add_argument(
        "--policy",
        choices=["uk-asa-cap", "au-ahpra", "none"],
        help="override sources.yaml's claims_policy",
    )


def add_service_parsers(sub: _Sub) -> None:
    """status, schedule, serve, screenshots, demo: running and watching it."""
    status = _add(
        sub, "status", "service:cmd_status", "sources, last runs, outcomes, errors, next runs"
    )
    status.add_argument(
        "--fail-after",
        type=int,
        default=3,
        metavar="N",
        help="exit 1 when a source failed its last N runs (default 3)",
    )

    recheck = _add(
        sub,
        "recheck",
        "recheck:cmd_recheck",
        "re-check every study an issue carried (or noted, or on a condition page) against "
        "Crossref by DOI and PubMed and Europe PMC by PMID for retractions, concerns and "
        "corrections; banner, corrections section, correction email",
    )
    recheck.add_argument(
        "--doi",
        action="append",
        default=[],
        metavar="DOI",
        help="also check this DOI now, watched or not (repeatable)",
    )
    recheck.add_argument(
        "--no-site", action="store_true", help="do not re-render the site after a change"
    )

    schedule = _add(
        sub,
        "schedule",
        "service:cmd_schedule",
        "run the scheduler (cron triggers from sources.yaml); --list shows jobs and next run times",
    )
    schedule.add_argument("--list", action="store_true", help="list jobs and exit")

    serve = _add(
        sub,
        "serve",
        "service:cmd_serve",
        "preview the site locally, with the unsubscribe endpoint",
    )
    serve.add_argument("--dir", type=Path, help="site folder (default: <output_dir>/site)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)

    shots = _add(
        sub,
        "screenshots",
        "service:cmd_screenshots",
        "screenshots of the site (and an email) at 360 and 1280 px in headless Chromium",
    )
    shots.add_argument("--site", type=Path, required=True, help="a built site folder")
    shots.add_argument("--emails", type=Path, help="a folder of .eml files (first one shot)")
    shots.add_argument("--out", type=Path, required=True, help="where the PNG files go")

    demo = _add(sub, "demo", "service:cmd_demo", "offline end-to-end run on the bundled recordings")
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("demo-out"),
        help="where to write the database, digest and site (default: demo-out)",
    )


def _add_global_options(parser: argparse.ArgumentParser) -> None:
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


def add_desk_parsers(sub: _Sub) -> None:
    """staff, desk, bounces: the staff desk and the subscribers who sign themselves up."""
    staff = _add(sub, "staff", "staff:cmd_staff", "staff accounts of the desk: add, remove, list")
    staff.add_argument("action", choices=["add", "remove", "list"])
    staff.add_argument("username", nargs="?", help="the staff member's username (add, remove)")
    staff.add_argument(
        "--password-stdin",
        action="store_true",
        help="add: read the password from the first line of stdin instead of asking",
    )
    staff.add_argument(
        "--email", help="add: where the review reminder goes (digest.review: required)"
    )
    staff.add_argument("--all", action="store_true", help="list removed accounts too")
    desk = _add(
        sub,
        "desk",
        "staff:cmd_desk",
        "run the staff desk (triage, subscribe, confirm, unsubscribe) on uvicorn",
    )
    desk.add_argument("--host", default="127.0.0.1")
    desk.add_argument("--port", type=int, default=8081)
    desk.add_argument(
        "--public-url", help="the https address people reach the desk at (default: digest.site_url)"
    )
    desk.add_argument(
        "--forwarded-allow-ips",
        metavar="IPS",
        help="trust X-Forwarded-For from these proxy addresses (e.g. 127.0.0.1)",
    )
    desk.add_argument(
        "--labels-per-week",
        type=int,
        default=1,
        metavar="N",
        help="at most N 'changes the picture' labels a week (default 1)",
    )
    desk.add_argument("--session-hours", type=float, default=8.0, help="sign-in lasts this long")
    desk.add_argument(
        "--postal-address",
        help="the postal address line of the page footer (default: email.postal_address)",
    )
    bounces = _add(
        sub,
        "bounces",
        "staff:cmd_bounces",
        "suppress hard bounces and complaints read from delivery-status notifications",
    )
    bounces.add_argument("action", choices=["import"])
    bounces.add_argument(
        "path", help="a Maildir folder, an mbox file, or `imap` ($DIGEST_BOUNCES_IMAP_URL)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digest",
        description="An honest weekly evidence digest of acupuncture-for-pain research.",
        epilog="Exit codes: 0 ok, 1 a source or step failed (others still ran), "
        "2 bad usage or config.",
    )
    _add_global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_data_parsers(sub)
    add_issue_parsers(sub)
    add_curate_parsers(sub)
    add_service_parsers(sub)
    add_desk_parsers(sub)
    return parser
