"""Per source: fetch -> parse -> store (one transaction) -> then dedupe + classify studies.

A failing source is recorded in the run log with its error; the other sources still run,
its cursor does not move and nothing it fetched is stored.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest import limits
from digest.changes import describe_change
from digest.config import Settings, SourceConfig
from digest.errors import ConfigError, DigestError, StoreError, redact
from digest.http import Http
from digest.model import ParseResult, utcnow
from digest.record_schema import validated_records
from digest.sources import get_kind
from digest.sources.base import FetchContext, FetchedPage, FetchOutcome, SourceKind
from digest.store import records as record_store
from digest.store import studies as study_store
from digest.store.fetchlock import acquire_fetch_lock
from digest.store.locks import Lock, LockHeldError, acquire_scheduler_lock

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
        run_id = record_store.start_run(
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
        result.warnings = list(outcome.warnings)
        for page in outcome.pages:
            result.warnings.extend(page.parsed.warnings)
        with Session(engine) as session:
            if outcome.not_modified:
                result.outcome = "not-modified"
            else:
                result.summary = record_store.save_outcome(
                    session,
                    source_name=config.name,
                    kind=config.kind,
                    outcome=outcome,
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
        record_store.finish_run(
            session, run_id, outcome=result.outcome, summary=result.summary, error=result.error
        )
    result.seconds = time.monotonic() - started
    _log_run(result)
    return result


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


def reclassify_all(settings: Settings, engine: Engine) -> study_store.RefreshSummary:
    """Forget every classification and recompute it (after a rules or topic-model change;
    a changed topic model is also noticed on its own through the rules fingerprint)."""
    with Session(engine) as session:
        study_store.forget_classifications(session)
        session.commit()
    return refresh_studies(settings, engine)


def refresh_studies(settings: Settings, engine: Engine) -> study_store.RefreshSummary:
    """Recluster and classify, in one transaction; a failure leaves the studies as they were.

    One refresh at a time per database (two concurrent `digest fetch` runs would otherwise
    write the same new studies and collide): a second one waits for the first, bounded."""
    try:
        with _refresh_lock(engine), Session(engine) as session:
            summary = study_store.refresh_studies(session, settings.topics)
            session.commit()
    except DigestError:
        raise
    except Exception as exc:
        log.error("refresh failed: %s", redact("".join(traceback.format_exception(exc))))
        raise StoreError(
            redact(
                f"deduplicating and classifying studies failed: "
                f"{type(exc).__name__}: {exc}; the records are stored and the "
                "next fetch tries again"
            )
        ) from exc
    return summary


REFRESH_LOCK_WAIT = 300.0  # seconds a refresh waits for another process's refresh


def _refresh_lock(engine: Engine, wait: float | None = None) -> Lock:
    deadline = time.monotonic() + (REFRESH_LOCK_WAIT if wait is None else wait)
    while True:
        try:
            return acquire_scheduler_lock(engine, name="refresh")
        except LockHeldError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def known_ids(engine: Engine, source: str, source_ids: Sequence[str]) -> set[str]:
    """Which of these ids of a source are already stored (lets a fetcher skip them)."""
    with Session(engine) as session:
        return record_store.stored_ids(session, source, source_ids)


BACKLOG_IMPORT = "import"  # Record.fetched_by of imports that are not news
ANNOUNCED_IMPORT = "import-announced"
IMPORT_FORMATS = ("jsonl", "ris", "bibtex", "medline", "clinicaltrials-legacy")


def detect_import_format(name: str, head: bytes) -> str:
    """Guess a library file's format from its name, then from its first bytes."""
    lowered = name.lower()
    by_suffix = {
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".ris": "ris",
        ".bib": "bibtex",
        ".nbib": "medline",
        ".medline": "medline",
    }
    for suffix, fmt in by_suffix.items():
        if lowered.endswith(suffix):
            return fmt
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"{"):
        return "jsonl"
    if text.startswith(b"TY  -"):
        return "ris"
    if text.startswith(b"@"):
        return "bibtex"
    if text.startswith(b"PMID-") or b"\nPMID-" in text[:200]:
        return "medline"
    if b"<clinical_study" in head:
        return "clinicaltrials-legacy"
    raise ConfigError(
        f"cannot tell the format of {name}; pass --format ({', '.join(IMPORT_FORMATS)})",
        key="--format",
    )


def parse_import(payload: bytes, fmt: str) -> ParseResult:
    from digest.parsers import library
    from digest.sources import get_parser

    readers = {
        "jsonl": library.parse_jsonl,
        "ris": library.parse_ris,
        "bibtex": library.parse_bibtex,
    }
    if fmt in readers:
        return readers[fmt](payload)
    return get_parser(fmt)(payload)


def import_files(
    settings: Settings,
    engine: Engine,
    paths: Sequence[Path],
    fmt: str | None = None,
    now: datetime | None = None,
    announce: bool = False,
) -> list[tuple[Path, record_store.SaveSummary]]:
    """Import library files through the same store and dedupe path as fetched records.

    Each file is parsed completely before anything is stored, and stored in one
    transaction: a bad file imports nothing. Imported works are a clinic's back catalogue
    and stay out of the weekly digest, unless `announce` says they are news.
    """
    now = now or utcnow()
    done = []
    for path in paths:
        try:
            size = path.stat().st_size
            if size > limits.MAX_IMPORT_FILE_BYTES:
                raise ConfigError(
                    f"{path} is {size:,} bytes, over the {limits.MAX_IMPORT_FILE_BYTES:,}-byte "
                    "import limit: split it into smaller files"
                )
            payload = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
        file_format = fmt or detect_import_format(path.name, payload[:4096])
        try:
            parsed = parse_import(payload, file_format)
        except DigestError as exc:
            raise type(exc)(f"{path.name}: {exc}") from exc
        # whatever the format, only records that satisfy the record schema are stored
        parsed.records, invalid = validated_records(parsed.records)
        warnings = [*parsed.warnings, *invalid]
        for warning in warnings:
            log.info("%s: %s", path.name, warning)
        outcome = FetchOutcome(
            pages=[
                FetchedPage(
                    url=path.resolve().as_uri(),
                    content=payload,
                    content_type=file_format,
                    parsed=parsed,
                )
            ],
            cursor={"last_file": path.name},
        )
        with Session(engine) as session:
            summary = record_store.save_outcome(
                session,
                source_name=ANNOUNCED_IMPORT if announce else BACKLOG_IMPORT,
                kind="import",
                outcome=outcome,
                describe_change=describe_change,
                now=now,
            )
            session.commit()
        summary.warnings = warnings
        done.append((path, summary))
    refresh_studies(settings, engine)
    return done
