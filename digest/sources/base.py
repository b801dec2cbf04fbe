"""The source interface: a fetcher turns (config, cursor) into raw pages and a new cursor;
a parser turns one raw page (bytes + its context) into records.

Fetchers do network I/O through `digest.http.Http` only and never touch the database.
They return what the server sent, each page with the small JSON `context` its kind's
parser needs (a feed's configured name, a watched page's selectors...); `digest.ingest`
parses every page with the kind's `parse`, the same function `digest parse` and a
replay of the `payload` table use. A fetcher that needs parsed values to decide its next
request (ids to fetch, the next cursor) may call the pure parser itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from digest.errors import ParseError, redact
from digest.model import ParseResult, RecordData
from digest.sources.base_config import SourceBase

if TYPE_CHECKING:
    from digest.http.client import Http
    from digest.http.response import Response

Context = dict[str, Any]
_T = TypeVar("_T")


@dataclass(slots=True)
class FetchedPage:
    """One response body as received, with what its parser needs to know (`context`)."""

    url: str
    content: bytes
    content_type: str
    context: Context = field(default_factory=dict)


@dataclass(slots=True)
class FetchOutcome:
    """Everything one source run fetched; parsed and stored all-or-nothing by ingest."""

    pages: list[FetchedPage] = field(default_factory=list)
    cursor: dict[str, Any] = field(default_factory=dict)
    not_modified: bool = False
    warnings: list[str] = field(default_factory=list)


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
    """Pure: one raw page and its context -> records. `context` is what the fetcher stored
    with the page (None or {} when parsing a file by hand with `digest parse`)."""

    def __call__(
        self,
        payload: bytes,
        context: Mapping[str, Any] | None = None,
        content_type: str | None = None,
    ) -> ParseResult: ...


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
    - `demo_api_path`: where its real API lives below the replay server's root;
    - `label`: the source in a reader's words ("ClinicalTrials.gov (trial registry)").
    """

    record_sources: tuple[str, ...]
    precedence: int = 3
    registry: bool = False
    own_identifiers: Callable[[RecordData], set[tuple[str, str]]] = _no_own_ids
    describe_change: ChangeDescriber | None = None
    page_design: bool = False
    demo_api_path: str | None = None
    label: str = ""


@dataclass(frozen=True, slots=True)
class SourceKind:
    """A registry entry, declared in `sources/<kind>/kind.py`: its config model (a
    `sources.yaml` entry), how to fetch it, how to parse a saved page of it, and what its
    records mean to the rest of the pipeline (`traits`)."""

    kind: str
    config: type[SourceBase]
    fetch: Fetcher
    parse: PayloadParser
    description: str
    traits: SourceTraits = SourceTraits(record_sources=())


@dataclass(frozen=True, slots=True)
class ImportFormat:
    """A parse-only format (a clinic's library, a bulk registry dump): `digest import` and
    `digest parse` read it; no fetcher produces it. `suffixes` and `sniff` let
    `digest import` recognise a file without --format."""

    name: str
    parse: Callable[[bytes], ParseResult]
    suffixes: tuple[str, ...] = ()
    sniff: Callable[[bytes], bool] | None = None
    # Formats of bulk files (PubMed XML) read a file of any size in batches, in flat
    # memory: (path, batch size) -> per batch, a standalone payload that `parse` reads
    # back to the same result, and that result.
    stream: Callable[[Path, int], Iterator[tuple[bytes, ParseResult]]] | None = None


def page_from(response: Response, context: Context | None = None) -> FetchedPage:
    return FetchedPage(
        url=redact(response.url),
        content=response.content,
        content_type=response.content_type,
        context=dict(context or {}),
    )


def base_url_of(config: SourceBase, default: str) -> str:
    """The configured base URL override (a mirror or the replay server) or the real one."""
    return (config.base_url or default).rstrip("/")


def window_start(ctx: FetchContext, cursor_day: str | None, backfill_days: int) -> date:
    """The first day a date-windowed fetch asks for: `--since`, else the day the cursor
    stored, else `backfill_days` before today."""
    if ctx.since is not None:
        return ctx.since
    if cursor_day:
        return date.fromisoformat(cursor_day)
    return ctx.today - timedelta(days=backfill_days)


def parse_or_explain(
    name: str, url: str, parse: Callable[..., _T], *args: Any, what: str = ""
) -> _T:
    """`parse(*args)`; a ParseError names the source and the URL the payload came from."""
    try:
        return parse(*args)
    except ParseError as exc:
        message = f"{what}: {exc}" if what else str(exc)
        raise ParseError(message, source=name, url=url) from exc
