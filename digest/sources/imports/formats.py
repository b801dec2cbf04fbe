"""The import formats, declared once: `digest import` (detect, parse, save) and
`digest parse` both read them from the registry (`digest.sources.IMPORT_FORMATS`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from digest.model import ParseResult
from digest.sources.base import ImportFormat
from digest.sources.clinicaltrials.parse_legacy import parse_ctgov_legacy_xml
from digest.sources.imports.library import SOURCE, parse_bibtex, parse_jsonl, parse_ris
from digest.sources.pubmed.medline import parse_medline
from digest.sources.pubmed.parse_efetch import iter_efetch, parse_efetch


def _text_head(head: bytes) -> bytes:
    return head.lstrip(b"\xef\xbb\xbf").lstrip()


def _medline(payload: bytes) -> ParseResult:
    return parse_medline(payload)


def _pubmed_xml(payload: bytes) -> ParseResult:
    return parse_efetch(payload, SOURCE)


def _pubmed_xml_batches(path: Path, batch_size: int) -> Iterator[tuple[bytes, ParseResult]]:
    """A PubMed XML file (an EFetch export, a baseline or update file, plain or .gz) in
    batches; each batch's payload is its own PubmedArticleSet (see iter_efetch)."""
    for batch in iter_efetch(path, SOURCE, batch_size=batch_size, keep_xml=True):
        yield batch.xml or b"", batch.parsed


FORMATS = (
    ImportFormat(
        "jsonl", parse_jsonl, (".jsonl", ".ndjson"), lambda h: _text_head(h).startswith(b"{")
    ),
    ImportFormat("ris", parse_ris, (".ris",), lambda h: _text_head(h).startswith(b"TY  -")),
    ImportFormat("bibtex", parse_bibtex, (".bib",), lambda h: _text_head(h).startswith(b"@")),
    ImportFormat(
        "medline",
        _medline,
        (".nbib", ".medline"),
        lambda h: _text_head(h).startswith(b"PMID-") or b"\nPMID-" in _text_head(h)[:200],
    ),
    ImportFormat(
        "clinicaltrials-legacy", parse_ctgov_legacy_xml, (), lambda h: b"<clinical_study" in h
    ),
    ImportFormat(
        "pubmed-xml",
        _pubmed_xml,
        (),  # .xml is every XML format's suffix: recognised by its root
        lambda h: b"<PubmedArticleSet" in h,
        stream=_pubmed_xml_batches,
    ),
)
