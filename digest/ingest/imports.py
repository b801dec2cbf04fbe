"""Importing library files (RIS, BibTeX, JSON Lines, MEDLINE, legacy CT.gov XML) through
the same store and dedupe path as fetched records. The formats are declared once, in the
registry (`digest.sources.IMPORT_FORMATS`), which `digest parse` reads too.
"""

from __future__ import annotations

import logging
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
from digest.store import records as record_store
from digest.store.records import ParsedPage

BACKLOG_IMPORT = "import"  # Record.fetched_by of imports that are not news
ANNOUNCED_IMPORT = "import-announced"
IMPORT_KIND = "import"  # SourceState.kind of both

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
        page = ParsedPage(
            url=path.resolve().as_uri(),
            content=payload,
            content_type=file_format,
            parsed=parsed,
            context={"format": file_format},
        )
        with Session(engine) as session:
            summary = record_store.save_outcome(
                session,
                source_name=ANNOUNCED_IMPORT if announce else BACKLOG_IMPORT,
                kind=IMPORT_KIND,
                pages=[page],
                cursor={"last_file": path.name},
                describe_change=describe_change,
                now=now,
            )
            session.commit()
        summary.warnings = warnings
        done.append((path, summary))
    refresh_studies(settings, engine)
    return done
