"""Stored payload -> the same records: re-parse the `payload` table with each payload's
stored context and its kind's parser (the one ingest and `digest parse` use).

Payloads stored before migration 0002 have no context; they re-parse as `digest parse`
would without `--context` (RSS guids unprefixed; NCCIH pages refused).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlmodel import Session

from digest.ingest.imports import IMPORT_KIND
from digest.model import ParseResult
from digest.sources import get_parser
from digest.store import records as record_store


@dataclass(slots=True)
class ReplayedPayload:
    sha256: str
    source_name: str
    kind: str
    url: str
    parsed: ParseResult


def replay_payloads(session: Session, source_name: str | None = None) -> Iterator[ReplayedPayload]:
    """Every stored payload (of one source) parsed again, oldest first."""
    kinds = record_store.source_kinds(session)
    for payload in record_store.stored_payloads(session, source_name):
        kind = kinds.get(payload.source, IMPORT_KIND)
        context = dict(payload.context or {})
        # an import stores its format in the context: that is the parser to use
        parser = get_parser(str(context.get("format")) if kind == IMPORT_KIND else kind)
        body = record_store.load_payload(payload)
        yield ReplayedPayload(
            sha256=payload.sha256,
            source_name=payload.source,
            kind=kind,
            url=payload.url,
            parsed=parser(body, context, payload.content_type),
        )
