"""The source interface: a fetcher turns (config, cursor) into parsed pages and a new cursor.

Fetchers do network I/O through `digest.http.Http` only and parse with the pure parsers in
`digest.parsers`. They never touch the database: the pipeline stores what they return, in
one transaction with the new cursor, so a failed source stores nothing and keeps its cursor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from digest.config import SourceConfig
from digest.errors import redact
from digest.http import Http, Response
from digest.model import ParseResult, RecordData


@dataclass(slots=True)
class FetchedPage:
    """One response body as received, with what it parsed to."""

    url: str
    content: bytes
    content_type: str
    parsed: ParseResult


@dataclass(slots=True)
class FetchOutcome:
    """Everything one source run produced; stored all-or-nothing by the pipeline."""

    pages: list[FetchedPage] = field(default_factory=list)
    cursor: dict[str, Any] = field(default_factory=dict)
    not_modified: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def records_count(self) -> int:
        return sum(len(page.parsed.records) for page in self.pages)


def _no_progress(_message: str) -> None:
    return None


def _nothing_known(_source: str, _ids: Sequence[str]) -> set[str]:
    return set()


@dataclass(slots=True)
class FetchContext:
    http: Http
    today: date
    now: datetime
    since: date | None = None  # `digest fetch --since`: overrides the cursor's start
    progress: Callable[[str], None] = _no_progress
    # which of a source's ids are already stored: lets a fetcher skip known items without
    # touching the database itself (the "stop_when" idea of github-to-sqlite)
    known_ids: Callable[[str, Sequence[str]], set[str]] = _nothing_known


class Fetcher(Protocol):
    def __call__(self, ctx: FetchContext, config: Any, cursor: dict[str, Any]) -> FetchOutcome: ...


class PayloadParser(Protocol):
    def __call__(self, payload: bytes, content_type: str | None = None) -> ParseResult: ...


def _no_own_ids(_record: RecordData) -> set[tuple[str, str]]:
    return set()


class ChangeDescriber(Protocol):
    """(summary, diff) of what changed between two stored versions of one record, or None
    when the kind has nothing to say beyond the generic field list."""

    def __call__(
        self, old: dict[str, Any], new: dict[str, Any]
    ) -> tuple[str, dict[str, Any]] | None: ...


@dataclass(frozen=True, slots=True)
class SourceTraits:
    """What the rest of the pipeline needs to know about the records of one kind, declared
    once here instead of in `if source == ...` branches across dedupe, classify and issue.

    - `record_sources`: the `RecordData.source` values its parser emits (NCCIH emits
      "nccih" pages and "nccih-news" items);
    - `precedence`: field precedence when merging records of one work (lower wins);
    - `registry`: its records are trial registrations (never merged with papers);
    - `own_identifiers`: merge-strength ids only this kind knows how to read from its
      records (Europe PMC's MED:/PMC:/PPR: ids, NCCIH's canonical page URL, ...);
    - `describe_change`: how a change of one of its records reads to a person;
    - `page_design`: its records carry the design of the page they are (NCCIH);
    - `demo_api_path`: where its real API lives below the replay server's root.
    """

    record_sources: tuple[str, ...]
    precedence: int = 3
    registry: bool = False
    own_identifiers: Callable[[RecordData], set[tuple[str, str]]] = _no_own_ids
    describe_change: ChangeDescriber | None = None
    page_design: bool = False
    demo_api_path: str | None = None


@dataclass(frozen=True, slots=True)
class SourceKind:
    """A registry entry: how to fetch a source kind, how to parse a saved payload of it,
    and what its records mean to the rest of the pipeline (`traits`)."""

    kind: str
    fetch: Fetcher
    parse: PayloadParser
    description: str
    traits: SourceTraits = SourceTraits(record_sources=())


def page_from(response: Response, parsed: ParseResult) -> FetchedPage:
    return FetchedPage(
        url=redact(response.url),
        content=response.content,
        content_type=response.content_type,
        parsed=parsed,
    )


def base_url_of(config: SourceConfig, default: str) -> str:
    """The configured base URL override (a mirror or the replay server) or the real one."""
    return (config.base_url or default).rstrip("/")
