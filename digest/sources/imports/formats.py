"""The import formats, declared once: `digest import` (detect, parse, save) and
`digest parse` both read them from the registry (`digest.sources.IMPORT_FORMATS`)."""

from __future__ import annotations

from digest.model import ParseResult
from digest.sources.base import ImportFormat
from digest.sources.clinicaltrials.parse_legacy import parse_ctgov_legacy_xml
from digest.sources.imports.library import parse_bibtex, parse_jsonl, parse_ris
from digest.sources.pubmed.medline import parse_medline


def _text_head(head: bytes) -> bytes:
    return head.lstrip(b"\xef\xbb\xbf").lstrip()


def _medline(payload: bytes) -> ParseResult:
    return parse_medline(payload)


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
)
