"""Per source: fetch (raw pages) -> parse (the kind's parser, page by page) -> store (one
transaction) -> then dedupe + classify studies.

A failing source is recorded in the run log with its error; the other sources still run,
its cursor does not move and nothing it fetched is stored. Library imports go through the
same store path (`ingest.imports`).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial

from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.config import Settings, SourceConfig
from digest.errors import ConfigError, DigestError, redact
from digest.http.client import Http

# re-exported: the CLI and the demo import these from here
from digest.ingest.imports import import_files
from digest.ingest.refresh import reclassify_all, refresh_studies
from digest.model import utcnow
from digest.sources import describe_change, get_kind
from digest.sources.base import FetchContext, FetchOutcome, SourceKind, parse_or_explain
from digest.store import records as record_store
from digest.store import runs
from digest.store.fetchlock import acquire_fetch_lock
from digest.store.lock_core import LockHeldError
from digest.store.records import ParsedPage

__all__ = [
    "SourceRunResult",
    "fetch_one",
    "fetch_sources",
    "import_files",
    "known_ids",
    "make_http",
    "parse_pages",
    "reclassify_all",
    "refresh_studies",
    "select_sources",
]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SourceRunResult:
    name: str
    kind: str
    outcome: str  # ok | not-modified | failed | skipped (another process was fetching it)
    summary: record_store.SaveSummary = field(default_factory=record_store.SaveSummary)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"


def make_http(settings: Settings, sleep: Callable[[float], None] = time.sleep) -> Http:
    return Http(
        settings.http,
        settings.contact_email,
        settings.tool_name,
        ncbi_api_key=settings.ncbi_api_key,
        sleep=sleep,
    )


def select_sources(settings: Settings, names: Sequence[str] = ()) -> list[SourceConfig]:
    if names:
        return [settings.source(name) for name in names]  # explicit names run even if disabled
    return [source for source in settings.sources if source.enabled]


def fetch_one(
    engine: Engine,
    http: Http,
    config: SourceConfig,
    *,
    since: date | None = None,
    now: datetime | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> SourceRunResult:
    """Fetch and store one source; never raises for a source failure."""
    started = time.monotonic()
    now = now or utcnow()
    kind = get_kind(config.kind)
    result = SourceRunResult(name=config.name, kind=config.kind, outcome="failed")
    try:  # one fetch of a source at a time, whatever the process (digest.store.fetchlock)
        lock = acquire_fetch_lock(engine, config.name)
    except LockHeldError as exc:
        result.outcome, result.error = "skipped", f"[{config.name}] skipped: {exc}"
        _log_run(result)
        return result
    with lock:
        return _fetch_locked(engine, http, config, kind, result, since, now, progress, started)


def _fetch_locked(
    engine: Engine,
    http: Http,
    config: SourceConfig,
    kind: SourceKind,
    result: SourceRunResult,
    since: date | None,
    now: datetime,
    progress: Callable[[str], None],
    started: float,
) -> SourceRunResult:
    # short transactions: none is held open while the network is slow
    with Session(engine) as session:
        # we hold the source's lock: any run still "running" belongs to a process now gone
        run_id = runs.start_run(
            session, config.name, config.kind, started_at=now, close_running=True
        )
        cursor = record_store.load_cursor(session, config.name)
    try:
        ctx = FetchContext(
            http=http,
            today=now.date(),
            now=now,
            since=since,
            progress=progress,
            known_ids=partial(known_ids, engine),
        )
        with http.source_run(config.name, redirect_hosts=config.allow_redirects_to):
            outcome = kind.fetch(ctx, config, cursor)
        pages = parse_pages(kind, config.name, outcome)
        result.warnings = list(outcome.warnings)
        for page in pages:
            result.warnings.extend(page.parsed.warnings)
        with Session(engine) as session:
            if outcome.not_modified:
                result.outcome = "not-modified"
            else:
                result.summary = record_store.save_outcome(
                    session,
                    source_name=config.name,
                    kind=config.kind,
                    pages=pages,
                    cursor=outcome.cursor,
                    describe_change=describe_change,
                    now=now,
                )
                result.outcome = "ok"
            session.commit()  # records, payloads and the new cursor together, or nothing
    except DigestError as exc:
        named = getattr(exc, "source", None) == config.name
        result.error = str(exc) if named else f"[{config.name}] {exc}"
    except Exception as exc:  # a bug in one source must not stop the others
        result.error = redact(f"internal error: {type(exc).__name__}: {exc}")
        log.error("%s: %s", config.name, redact("".join(traceback.format_exception(exc))))
    with Session(engine) as session:
        runs.finish_run(
            session, run_id, outcome=result.outcome, summary=result.summary, error=result.error
        )
    result.seconds = time.monotonic() - started
    _log_run(result)
    return result


def parse_pages(kind: SourceKind, name: str, outcome: FetchOutcome) -> list[ParsedPage]:
    """Every fetched page parsed by its kind's parser with the page's context: the same
    call `digest parse` and a replay of the stored payloads make."""
    return [
        ParsedPage(
            url=page.url,
            content=page.content,
            content_type=page.content_type,
            context=page.context,
            parsed=parse_or_explain(
                name,
                page.url,
                kind.parse,
                page.content,
                page.context,
                page.content_type,
            ),
        )
        for page in outcome.pages
    ]


def _log_run(result: SourceRunResult) -> None:
    log.info(
        "fetch source=%s outcome=%s seconds=%.2f fetched=%d new=%d updated=%d unchanged=%d%s",
        result.name,
        result.outcome,
        result.seconds,
        result.summary.fetched,
        result.summary.new,
        result.summary.updated,
        result.summary.unchanged,
        f" error={result.error!r}" if result.error else "",
        extra={
            "source": result.name,
            "outcome": result.outcome,
            "seconds": round(result.seconds, 3),
            "fetched": result.summary.fetched,
            "new": result.summary.new,
            "updated": result.summary.updated,
            "error": result.error,
        },
    )


def fetch_sources(
    settings: Settings,
    engine: Engine,
    http: Http,
    *,
    names: Sequence[str] = (),
    since: date | None = None,
    now: datetime | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> list[SourceRunResult]:
    """Run the selected sources one after another, then refresh studies once."""
    configs = select_sources(settings, names)
    if not configs:
        raise ConfigError("no enabled sources to fetch", key="sources")
    results = [
        fetch_one(engine, http, config, since=since, now=now, progress=progress)
        for config in configs
    ]
    # Refresh after any stored run (also one that changed nothing: a refresh that failed
    # last time must get its next chance); a failure here is a failed step, not a crash.
    if any(r.outcome == "ok" for r in results):
        progress("deduplicating and classifying studies")
        refresh_studies(settings, engine)
    return results


def known_ids(engine: Engine, source: str, source_ids: Sequence[str]) -> set[str]:
    """Which of these ids of a source are already stored (lets a fetcher skip them)."""
    with Session(engine) as session:
        return record_store.stored_ids(session, source, source_ids)
