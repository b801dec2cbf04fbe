"""Importing library files (RIS, BibTeX, JSON Lines, MEDLINE, legacy CT.gov XML, PubMed
XML) through the same store and dedupe path as fetched records. The formats are declared
once, in the registry (`digest.sources.IMPORT_FORMATS`), which `digest parse` reads too.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest import limits
from digest.config import Settings
from digest.errors import ConfigError, DigestError
from digest.ingest.refresh import refresh_studies
from digest.model import ParseResult, utcnow
from digest.record_schema import validated_records
from digest.sources import IMPORT_FORMATS, describe_change
from digest.sources.base import ImportFormat
from digest.store import records as record_store
from digest.store.records import ParsedPage, SaveSummary

BACKLOG_IMPORT = "import"  # Record.fetched_by of imports that are not news
ANNOUNCED_IMPORT = "import-announced"
IMPORT_KIND = "import"  # SourceState.kind of both
# Records a bulk format (PubMed XML) stores per flush: memory holds one batch, whatever
# the file's size.
IMPORT_BATCH_SIZE = 1000

_GZIP_MAGIC = b"\x1f\x8b"

log = logging.getLogger(__name__)


def detect_import_format(name: str, head: bytes) -> str:
    """Guess a library file's format from its name, then from its first bytes."""
    lowered = name.lower()
    for fmt in IMPORT_FORMATS.values():
        if lowered.endswith(fmt.suffixes):
            return fmt.name
    for fmt in IMPORT_FORMATS.values():
        if fmt.sniff is not None and fmt.sniff(head):
            return fmt.name
    raise ConfigError(
        f"cannot tell the format of {name}; pass --format ({', '.join(IMPORT_FORMATS)})",
        key="--format",
    )


def parse_import(payload: bytes, fmt: str) -> ParseResult:
    if fmt not in IMPORT_FORMATS:
        known = ", ".join(IMPORT_FORMATS)
        raise ConfigError(f"unknown import format {fmt!r} (known: {known})", key="--format")
    return IMPORT_FORMATS[fmt].parse(payload)


def import_files(
    settings: Settings,
    engine: Engine,
    paths: Sequence[Path],
    fmt: str | None = None,
    now: datetime | None = None,
    announce: bool = False,
) -> list[tuple[Path, record_store.SaveSummary]]:
    """Import library files through the same store and dedupe path as fetched records.

    Each file is stored in one transaction: a bad file imports nothing. A library file is
    parsed completely before anything is stored; a bulk file (PubMed XML, any size, plain
    or .gz) is read and stored in batches of IMPORT_BATCH_SIZE records, each batch's
    articles kept as their own payload, so memory stays flat. Imported works are a
    clinic's back catalogue and stay out of the weekly digest, unless `announce` says
    they are news.
    """
    now = now or utcnow()
    source_name = ANNOUNCED_IMPORT if announce else BACKLOG_IMPORT
    done = []
    for path in paths:
        file_format = fmt or detect_import_format(path.name, _head_of(path))
        if file_format in IMPORT_FORMATS and IMPORT_FORMATS[file_format].stream is not None:
            summary = _import_in_batches(
                engine, path, IMPORT_FORMATS[file_format], source_name, now
            )
        else:
            summary = _import_whole(engine, path, file_format, source_name, now)
        done.append((path, summary))
    refresh_studies(settings, engine)
    return done


def _head_of(path: Path) -> bytes:
    """The first 4 kB of a file, decompressed when it is gzipped (format detection)."""
    try:
        with path.open("rb") as raw:
            head = raw.read(4096)
            if not head.startswith(_GZIP_MAGIC):
                return head
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw) as unzipped:
                return unzipped.read(4096)
    except (EOFError, zlib.error, gzip.BadGzipFile):
        return head
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc


def _import_whole(
    engine: Engine, path: Path, file_format: str, source_name: str, now: datetime
) -> SaveSummary:
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
    try:
        parsed = parse_import(payload, file_format)
    except DigestError as exc:
        raise type(exc)(f"{path.name}: {exc}") from exc
    page, warnings = _page(path, payload, parsed, file_format, path.resolve().as_uri())
    with Session(engine) as session:
        summary = _save(session, page, path, source_name, now)
        session.commit()
    summary.warnings = warnings
    return summary


def _import_in_batches(
    engine: Engine, path: Path, fmt: ImportFormat, source_name: str, now: datetime
) -> SaveSummary:
    """Store a bulk file batch by batch in one transaction: flushed (and forgotten by the
    session) after each batch, committed after the last, rolled back if any part fails."""
    assert fmt.stream is not None
    total = SaveSummary()
    with Session(engine) as session:
        try:
            for number, (payload, parsed) in enumerate(fmt.stream(path, IMPORT_BATCH_SIZE), 1):
                url = f"{path.resolve().as_uri()}#batch={number}"
                page, warnings = _page(path, payload, parsed, fmt.name, url)
                page.context["batch"] = number
                summary = _save(session, page, path, source_name, now)
                session.flush()
                session.expunge_all()  # flushed: the rows of earlier batches are not kept
                _add_to(total, summary)
                total.warnings.extend(warnings)
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
        except DigestError as exc:
            raise type(exc)(f"{path.name}: {exc}") from exc
        session.commit()
    return total


def _page(
    path: Path, payload: bytes, parsed: ParseResult, file_format: str, url: str
) -> tuple[ParsedPage, list[str]]:
    # whatever the format, only records that satisfy the record schema are stored
    parsed.records, invalid = validated_records(parsed.records)
    warnings = [*parsed.warnings, *invalid]
    for warning in warnings:
        log.info("%s: %s", path.name, warning)
    page = ParsedPage(
        url=url,
        content=payload,
        content_type=file_format,
        parsed=parsed,
        context={"format": file_format},
    )
    return page, warnings


def _save(
    session: Session, page: ParsedPage, path: Path, source_name: str, now: datetime
) -> SaveSummary:
    return record_store.save_outcome(
        session,
        source_name=source_name,
        kind=IMPORT_KIND,
        pages=[page],
        cursor={"last_file": path.name},
        describe_change=describe_change,
        now=now,
    )


def _add_to(total: SaveSummary, batch: SaveSummary) -> None:
    total.fetched += batch.fetched
    total.new += batch.new
    total.updated += batch.updated
    total.unchanged += batch.unchanged
    total.deleted += batch.deleted
    total.changed_record_ids.extend(batch.changed_record_ids)
