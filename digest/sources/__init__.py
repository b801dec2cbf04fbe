"""The registry of source kinds: adding a source is one `sources/<kind>/` folder and one
line in `KINDS` below (see ADDING_A_SOURCE.md).

`IMPORT_FORMATS` are parse-only formats (a clinic's library, bulk registry dumps) that
`digest parse` and `digest import` read but no fetcher produces.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from digest.errors import ConfigError
from digest.model import ParseResult
from digest.sources.base import ImportFormat, PayloadParser, SourceKind, SourceTraits
from digest.sources.changes import describe_notices
from digest.sources.clinicaltrials.kind import KIND as CLINICALTRIALS
from digest.sources.crossref.kind import KIND as CROSSREF
from digest.sources.europepmc.kind import KIND as EUROPEPMC
from digest.sources.imports.formats import FORMATS
from digest.sources.nccih.kind import KIND as NCCIH
from digest.sources.pubmed.kind import KIND as PUBMED
from digest.sources.pubmed_rss.kind import KIND as PUBMED_RSS
from digest.sources.rss.kind import KIND as RSS

# The registry: each kind's KIND, imported above from sources/<kind>/kind.py.
KINDS: dict[str, SourceKind] = {
    kind.kind: kind
    for kind in (PUBMED, CLINICALTRIALS, EUROPEPMC, PUBMED_RSS, RSS, NCCIH, CROSSREF)
}
IMPORT_FORMATS: dict[str, ImportFormat] = {fmt.name: fmt for fmt in FORMATS}

# Records no fetcher produced: a clinic's imported library, and unknown sources.
IMPORT_TRAITS = SourceTraits(
    record_sources=("import",), label="an imported reference list", precedence=5
)
_DEFAULT_TRAITS = SourceTraits(record_sources=(), precedence=3)


def get_kind(kind: str) -> SourceKind:
    if kind not in KINDS:
        raise ConfigError(
            f"unknown source kind {kind!r} (known: {', '.join(sorted(KINDS))})", key="kind"
        )
    return KINDS[kind]


def get_parser(kind: str) -> PayloadParser:
    """The parser of a source kind or an import format, for `digest parse`: the same
    function ingest parses fetched pages with."""
    if kind in KINDS:
        return KINDS[kind].parse
    if kind in IMPORT_FORMATS:
        return _import_parser(IMPORT_FORMATS[kind])
    known = ", ".join(sorted([*KINDS, *IMPORT_FORMATS]))
    raise ConfigError(f"unknown kind {kind!r} (known: {known})", key="kind")


def _import_parser(fmt: ImportFormat) -> PayloadParser:
    def parse(
        payload: bytes, context: Mapping[str, Any] | None = None, content_type: str | None = None
    ) -> ParseResult:
        return fmt.parse(payload)

    return parse


def all_kinds() -> dict[str, SourceKind]:
    return dict(KINDS)


def describe_change(old: dict[str, Any], new: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(summary, diff) for a changed stored record, in its kind's words; None when nothing
    a reader sees changed."""
    describer = traits_of(str(new.get("source") or "")).describe_change or describe_notices
    return describer(old, new)


def traits_of(record_source: str) -> SourceTraits:
    """The traits of the kind whose parser emits records with this `source` value."""
    return _traits_by_record_source().get(record_source, _DEFAULT_TRAITS)


@functools.cache
def _traits_by_record_source() -> dict[str, SourceTraits]:
    found = {source: IMPORT_TRAITS for source in IMPORT_TRAITS.record_sources}
    for kind in KINDS.values():
        for source in kind.traits.record_sources:
            found[source] = kind.traits
    return found
