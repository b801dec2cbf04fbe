"""The registry of source kinds: adding a source is one module and one line here.

`IMPORT_FORMATS` are parse-only formats (a clinic's library, bulk registry dumps) that
`digest parse` and `digest import` read but no fetcher produces.
"""

from __future__ import annotations

from digest.errors import ConfigError
from digest.model import ParseResult
from digest.sources.base import PayloadParser, SourceKind


def _registry() -> dict[str, SourceKind]:
    from digest.sources import clinicaltrials, europepmc, feeds, pubmed

    kinds = [
        SourceKind(
            "pubmed",
            pubmed.fetch_pubmed,
            pubmed.parse_pubmed_payload,
            "PubMed via E-utilities (esearch + efetch XML)",
        ),
        SourceKind(
            "clinicaltrials",
            clinicaltrials.fetch_clinicaltrials,
            clinicaltrials.parse_clinicaltrials_payload,
            "ClinicalTrials.gov API v2 studies (JSON)",
        ),
        SourceKind(
            "europepmc",
            europepmc.fetch_europepmc,
            europepmc.parse_europepmc_payload,
            "Europe PMC REST search (core JSON, preprints included)",
        ),
        SourceKind(
            "pubmed_rss",
            feeds.fetch_pubmed_rss,
            feeds.parse_pubmed_rss_payload,
            "a PubMed 'Create RSS' feed",
        ),
        SourceKind("rss", feeds.fetch_rss, feeds.parse_rss_payload, "any RSS/Atom feed"),
        SourceKind(
            "nccih",
            feeds.fetch_nccih,
            feeds.parse_nccih_payload,
            "NCCIH news feed and health-topic page watcher",
        ),
    ]
    return {k.kind: k for k in kinds}


def _import_formats() -> dict[str, PayloadParser]:
    def legacy(payload: bytes, content_type: str | None = None) -> ParseResult:
        from digest.parsers.clinicaltrials import parse_ctgov_legacy_xml

        return parse_ctgov_legacy_xml(payload)

    def medline(payload: bytes, content_type: str | None = None) -> ParseResult:
        from digest.parsers.medline import parse_medline

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
