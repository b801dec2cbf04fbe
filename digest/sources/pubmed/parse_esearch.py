"""ESearch XML (`eSearchResult`) -> hit count, one page of PMIDs, history keys, warnings.

Only XML: every fetcher asks for retmode=xml.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from digest.errors import ParseError
from digest.sources.pubmed.xmltext import SAFE_XML, peek_root_tag, text_of


@dataclass(slots=True)
class ESearchResult:
    """What an ESearch answer said: the hit count, one page of PMIDs, history keys, warnings."""

    count: int
    retmax: int | None = None
    retstart: int | None = None
    ids: list[str] = field(default_factory=list)
    webenv: str | None = None
    query_key: str | None = None
    query_translation: str | None = None
    warnings: list[str] = field(default_factory=list)
    field_not_found: list[str] = field(default_factory=list)


# ErrorList / WarningList children and how to say them.
_ESEARCH_NOTICES = {
    "PhraseNotFound": "phrase not found",
    "FieldNotFound": "field not found",
    "PhraseIgnored": "phrase ignored",
    "QuotedPhraseNotFound": "quoted phrase not found",
    "OutputMessage": "message",
}


def parse_esearch(payload: bytes) -> ESearchResult:
    """An ESearch answer (`eSearchResult` XML); an <ERROR> body raises ParseError."""
    root_tag = peek_root_tag(payload)
    if root_tag not in ("eSearchResult", "ERROR"):
        raise ParseError(f"expected <eSearchResult>, got <{root_tag}>")
    try:
        root = etree.fromstring(payload, etree.XMLParser(**SAFE_XML))
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"truncated or malformed XML: {exc}") from exc
    error = root if root_tag == "ERROR" else root.find("ERROR")
    if error is not None:
        raise ParseError(f"E-utilities error: {text_of(error) or 'no message'}")
    count = _int_or_none(root.findtext("Count"))
    if count is None:
        raise ParseError("eSearchResult without a <Count>")
    result = ESearchResult(
        count=count,
        retmax=_int_or_none(root.findtext("RetMax")),
        retstart=_int_or_none(root.findtext("RetStart")),
        ids=[text for text in map(text_of, root.iterfind("IdList/Id")) if text],
        webenv=text_of(root.find("WebEnv")),
        query_key=text_of(root.find("QueryKey")),
        query_translation=text_of(root.find("QueryTranslation")),
    )
    for notice in (*root.iterfind("ErrorList/*"), *root.iterfind("WarningList/*")):
        _add_notice(result, notice.tag, text_of(notice))
    return result


def _add_notice(result: ESearchResult, tag: str, value: str | None) -> None:
    if not value:
        return
    if tag == "FieldNotFound":
        result.field_not_found.append(value)
    if tag == "OutputMessage":
        result.warnings.append(value)
    else:
        result.warnings.append(f"{_ESEARCH_NOTICES.get(tag, tag)}: {value}")


def _int_or_none(raw: object) -> int | None:
    if raw is None:
        return None
    text = str(raw).strip()
    return int(text) if text.isdigit() else None
