"""The registry of source kinds: adding a source is one module and one line here.

`IMPORT_FORMATS` are parse-only formats (a clinic's library, bulk registry dumps) that
`digest parse` and `digest import` read but no fetcher produces.
"""

from __future__ import annotations

import functools
from typing import Any

from digest.errors import ConfigError
from digest.model import ParseResult
from digest.sources.base import PayloadParser, SourceKind, SourceTraits

# Records no fetcher produced: a clinic's imported library, and unknown sources.
IMPORT_TRAITS = SourceTraits(record_sources=("import",), precedence=5)
_DEFAULT_TRAITS = SourceTraits(record_sources=(), precedence=3)


def _registry() -> dict[str, SourceKind]:
    from digest.sources import changes
    from digest.sources.clinicaltrials import fetch as clinicaltrials
    from digest.sources.clinicaltrials.ids import registration_identifiers
    from digest.sources.europepmc import fetch as europepmc
    from digest.sources.europepmc.ids import europepmc_identifiers
    from digest.sources.nccih.ids import nccih_identifiers
    from digest.sources.pubmed import fetch as pubmed
    from digest.sources.pubmed.ids import pubmed_identifiers
    from digest.sources.rss import fetch as feeds

    kinds = [
        SourceKind(
            "pubmed",
            pubmed.fetch_pubmed,
            pubmed.parse_pubmed_payload,
            "PubMed via E-utilities (esearch + efetch XML)",
            SourceTraits(
                record_sources=("pubmed",),
                precedence=0,  # curated: the best field values
                own_identifiers=pubmed_identifiers,
                describe_change=changes.describe_notices,
                demo_api_path="/entrez/eutils",
            ),
        ),
        SourceKind(
            "clinicaltrials",
            clinicaltrials.fetch_clinicaltrials,
            clinicaltrials.parse_clinicaltrials_payload,
            "ClinicalTrials.gov API v2 studies (JSON)",
            SourceTraits(
                record_sources=("clinicaltrials",),
                precedence=4,
                registry=True,
                own_identifiers=registration_identifiers,
                describe_change=changes.describe_registration_change,
                demo_api_path="/api/v2",
            ),
        ),
        SourceKind(
            "europepmc",
            europepmc.fetch_europepmc,
            europepmc.parse_europepmc_payload,
            "Europe PMC REST search (core JSON, preprints included)",
            SourceTraits(
                record_sources=("europepmc",),
                precedence=2,  # mirrors PubMed with less detail
                own_identifiers=europepmc_identifiers,
                describe_change=changes.describe_notices,
                demo_api_path="/europepmc/webservices/rest",
            ),
        ),
        SourceKind(
            "pubmed_rss",
            feeds.fetch_pubmed_rss,
            feeds.parse_pubmed_rss_payload,
            "a PubMed 'Create RSS' feed",
            SourceTraits(record_sources=("pubmed_rss",), precedence=1),
        ),
        SourceKind(
            "rss",
            feeds.fetch_rss,
            feeds.parse_rss_payload,
            "any RSS/Atom feed",
            SourceTraits(record_sources=("rss",), precedence=1),  # a journal's own feed
        ),
        SourceKind(
            "nccih",
            feeds.fetch_nccih,
            feeds.parse_nccih_payload,
            "NCCIH news feed and health-topic page watcher",
            SourceTraits(
                record_sources=("nccih", "nccih-news"),
                precedence=3,
                own_identifiers=nccih_identifiers,
                describe_change=changes.describe_page_change,
                page_design=True,
            ),
        ),
    ]
    return {k.kind: k for k in kinds}


def _import_formats() -> dict[str, PayloadParser]:
    def legacy(payload: bytes, content_type: str | None = None) -> ParseResult:
        from digest.sources.clinicaltrials.parse import parse_ctgov_legacy_xml

        return parse_ctgov_legacy_xml(payload)

    def medline(payload: bytes, content_type: str | None = None) -> ParseResult:
        from digest.sources.pubmed.medline import parse_medline

        return parse_medline(payload)

    return {"clinicaltrials-legacy": legacy, "medline": medline}


def get_kind(kind: str) -> SourceKind:
    registry = _registry()
    if kind not in registry:
        raise ConfigError(
            f"unknown source kind {kind!r} (known: {', '.join(sorted(registry))})", key="kind"
        )
    return registry[kind]


def get_parser(kind: str) -> PayloadParser:
    """The parser of a source kind or an import format, for `digest parse`."""
    formats = _import_formats()
    if kind in formats:
        return formats[kind]
    registry = _registry()
    if kind in registry:
        return registry[kind].parse
    known = ", ".join(sorted([*registry, *formats]))
    raise ConfigError(f"unknown kind {kind!r} (known: {known})", key="kind")


def all_kinds() -> dict[str, SourceKind]:
    return _registry()


def describe_change(old: dict[str, Any], new: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(summary, diff) for a changed stored record, in its kind's words; None when nothing
    a reader sees changed."""
    from digest.sources.changes import describe_notices

    describer = traits_of(str(new.get("source") or "")).describe_change or describe_notices
    return describer(old, new)


def traits_of(record_source: str) -> SourceTraits:
    """The traits of the kind whose parser emits records with this `source` value."""
    return _traits_by_record_source().get(record_source, _DEFAULT_TRAITS)


@functools.cache
def _traits_by_record_source() -> dict[str, SourceTraits]:
    found = {source: IMPORT_TRAITS for source in IMPORT_TRAITS.record_sources}
    for kind in _registry().values():
        for source in kind.traits.record_sources:
            found[source] = kind.traits
    return found
