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
from digest.model import ParseResult


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


@dataclass(frozen=True, slots=True)
class SourceKind:
    """A registry entry: how to fetch a source kind and how to parse a saved payload of it."""

    kind: str
    fetch: Fetcher
    parse: PayloadParser
    description: str


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
