"""Europe PMC REST search responses -> RecordData (JSON lite and core; XML lite).

Titles and abstracts arrive as HTML-escaped JATS/HTML (``m&lt;sup&gt;6&lt;/sup&gt;A``):
they are unescaped once and turned into plain text. Core abstracts mark their sections
with ``<h4>Label</h4>``; those become "LABEL: text" paragraphs like PubMed's.

The field linking a preprint to its published version is unverified (SOURCES.md §5):
`commentCorrectionList` entries are kept raw under extra["comment_corrections"] and any
entry whose type speaks of a preprint or a published version is lifted out as a link.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from lxml import etree

from digest.errors import ParseError
from digest.facts import (
    find_dois,
    find_nct_ids,
    normalize_doi,
    normalize_pmcid,
    normalize_pmid,
    normalize_ppr,
    relation_kind_for,
)
from digest.model import ParseResult, RecordData, Relation
from digest.sources.text import html_to_text, load_json, records_skipping_bad

SOURCE = "europepmc"
ARTICLE_URL = "https://europepmc.org/article/{src}/{id}"
_HEADING = re.compile(r"<h[1-6][^>]*>(.*?)</h[1-6]\s*>", re.IGNORECASE | re.DOTALL)


# --------------------------------------------------------------------------- loading


def _load_json(payload: bytes) -> dict[str, Any]:
    if payload.lstrip()[:1] == b"<":
        raise ParseError("expected Europe PMC JSON, got HTML/XML", source=SOURCE)
    try:
        document = load_json(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"malformed Europe PMC JSON: {exc}", source=SOURCE) from exc
    if not isinstance(document, dict):
        raise ParseError("Europe PMC JSON is not an object", source=SOURCE)
    if "resultList" not in document:
        message = document.get("errMsg") or "no 'resultList' (not a search response)"
        raise ParseError(f"Europe PMC: {message}", source=SOURCE)
    return document


def _results_of(document: dict[str, Any]) -> list[Any]:
    results = _as_list(_as_dict(document.get("resultList")).get("result"))
    if document.get("resultList") is not None and not isinstance(document["resultList"], dict):
        raise ParseError("Europe PMC 'resultList' is not an object", source=SOURCE)
    return results


def europepmc_page_info(payload: bytes) -> tuple[str | None, int]:
    """(nextCursorMark, hitCount). The cursor is None on the last page: when it is absent,
    when the page is empty, or when it equals the cursor that was asked for."""
    document = _load_json(payload)
    results = _results_of(document)
    hits = document.get("hitCount")
    cursor = document.get("nextCursorMark")
    asked = unquote(str(_as_dict(document.get("request")).get("cursorMark") or ""))
    if not isinstance(cursor, str) or not cursor or not results or cursor == asked:
        cursor = None
    return cursor, int(hits) if isinstance(hits, int | str) and str(hits).isdigit() else 0


def parse_europepmc_json(payload: bytes) -> ParseResult:
    """A REST /search JSON page (resultType=lite or core)."""
    return _parse_results(_results_of(_load_json(payload)))


def parse_europepmc_xml(payload: bytes) -> ParseResult:
    """A REST /search XML page (format=xml): each <result> is read as the JSON object."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(payload, parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"malformed Europe PMC XML: {exc}", source=SOURCE) from exc
    if etree.QName(root).localname != "responseWrapper":
        raise ParseError(f"expected <responseWrapper>, got <{root.tag}>", source=SOURCE)
    results = root.findall("resultList/result")
    return _parse_results([_element_to_object(r) for r in results])


def _element_to_object(element: Any) -> Any:
    """XML element -> the JSON shape: leaf -> text, repeated children -> list."""
    children = [c for c in element if isinstance(c.tag, str)]
    if not children:
        return element.text or ""
    obj: dict[str, Any] = {}
    for child in children:
        name = etree.QName(child).localname
        value = _element_to_object(child)
        if name in obj:
            previous = obj[name]
            obj[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            obj[name] = value
    return obj


def _parse_results(results: list[Any]) -> ParseResult:
    return records_skipping_bad(results, result_to_record, "result", SOURCE)


# --------------------------------------------------------------------------- fields


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _yes(value: Any) -> bool:
    return str(value).strip().upper() == "Y"


def markup_to_text(value: Any) -> str:
    """Escaped JATS/HTML -> plain text (entities decoded once, then tags dropped)."""
    text = _str(value)
    return html_to_text(html.unescape(text)) if text else ""


def abstract_to_text(value: Any) -> str | None:
    """Core abstractText -> plain text; <h4>Label</h4> sections become 'LABEL: text'."""
    text = _str(value)
    if not text:
        return None
    parts = _HEADING.split(html.unescape(text))
    paragraphs = [html_to_text(parts[0])] if parts[0].strip() else []
    for label_markup, body in zip(parts[1::2], parts[2::2], strict=True):
        label = html_to_text(label_markup).rstrip(":").strip().upper()
        content = html_to_text(body)
        if content:
            paragraphs.append(f"{label}: {content}" if label else content)
    return "\n\n".join(p for p in paragraphs if p) or None


def _authors(item: dict[str, Any]) -> list[str]:
    listed = _as_list(_as_dict(item.get("authorList")).get("author"))
    names = []
    for author in map(_as_dict, listed):
        last, initials = _str(author.get("lastName")), _str(author.get("initials"))
        name = (
            _str(author.get("collectiveName"))
            or _str(author.get("fullName"))
            or (f"{last} {initials}" if last and initials else last)
        )
        if name:
            names.append(name)
    if names:
        return names
    author_string = (_str(item.get("authorString")) or "").rstrip(".")
    return [n.strip() for n in author_string.split(",") if n.strip()]


def _journal(item: dict[str, Any]) -> str | None:
    journal_info = _as_dict(item.get("journalInfo"))
    return (
        _str(item.get("journalTitle"))
        or _str(_as_dict(journal_info.get("journal")).get("title"))
        # a preprint's server (medRxiv, Research Square, ...) stands where a journal would
        or _str(_as_dict(item.get("bookOrReportDetails")).get("publisher"))
    )


def _publication_types(item: dict[str, Any]) -> list[str]:
    listed = _as_list(_as_dict(item.get("pubTypeList")).get("pubType"))
    if listed:
        return [t for t in (_str(v) for v in listed) if t]
    return [t.strip() for t in (_str(item.get("pubType")) or "").split(";") if t.strip()]


def _mesh_terms(item: dict[str, Any]) -> list[str]:
    headings = _as_list(_as_dict(item.get("meshHeadingList")).get("meshHeading"))
    return [t for t in (_str(_as_dict(h).get("descriptorName")) for h in headings) if t]


def _keywords(item: dict[str, Any]) -> list[str]:
    words = _as_list(_as_dict(item.get("keywordList")).get("keyword"))
    return [w for w in (_str(v) for v in words) if w]


def _comment_corrections(item: dict[str, Any]) -> list[dict[str, Any]]:
    entries = _as_list(_as_dict(item.get("commentCorrectionList")).get("commentCorrection"))
    return [dict(e) for e in entries if isinstance(e, dict)]


def _version_links(
    corrections: list[dict[str, Any]], is_preprint: bool
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(published_version, preprint) lifted from comment/correction entries, if any."""
    published, preprint = None, None
    for entry in corrections:
        kind = str(entry.get("type") or "").lower()
        link = {"source": entry.get("source"), "id": entry.get("id"), "type": entry.get("type")}
        if is_preprint and ("publish" in kind or "preprint of" in kind or "version" in kind):
            published = published or link
        elif not is_preprint and "preprint" in kind:
            preprint = preprint or link
    return published, preprint


def _volume_issue_pages(item: dict[str, Any]) -> dict[str, str | None]:
    journal_info = _as_dict(item.get("journalInfo"))
    return {
        "volume": _str(item.get("journalVolume")) or _str(journal_info.get("volume")),
        "issue": _str(item.get("issue")) or _str(journal_info.get("issue")),
        "pages": _str(item.get("pageInfo")),
    }


def _entry_relation(entry: dict[str, Any], kind: str) -> Relation:
    """A comment/correction entry ({source: MED|PMC|PPR|..., id, reference}) as a Relation."""
    src, raw_id = str(entry.get("source") or "").upper(), str(entry.get("id") or "").strip()
    dois = find_dois(" ".join(str(entry.get(k) or "") for k in ("reference", "doi")))
    return Relation(
        kind,
        pmid=normalize_pmid(raw_id) if src in ("", "MED") else None,
        pmcid=normalize_pmcid(raw_id) if src == "PMC" else None,
        ppr=normalize_ppr(raw_id) if src == "PPR" else None,
        doi=dois[0] if dois else None,
        note=_str(entry.get("reference")),
    )


def relations_of(
    corrections: list[dict[str, Any]],
    published_version: dict[str, Any] | None,
    preprint: dict[str, Any] | None,
) -> list[Relation]:
    relations = [
        _entry_relation(entry, kind)
        for entry in corrections
        if (kind := relation_kind_for(str(entry.get("type") or "")))
    ]
    if published_version:
        relations.append(_entry_relation(published_version, "preprint-of"))
    if preprint:
        relations.append(_entry_relation(preprint, "has-preprint"))
    return relations


def result_to_record(item: Any) -> RecordData:
    """One search result object -> RecordData."""
    if not isinstance(item, dict):
        raise ParseError("result is not an object", source=SOURCE)
    src, epmc_id = _str(item.get("source")), _str(item.get("id"))
    if not src or not epmc_id:
        raise ParseError("result without 'source' and 'id'", source=SOURCE)
    pub_types = _publication_types(item)
    is_preprint = src == "PPR" or any(t.lower() == "preprint" for t in pub_types)
    corrections = _comment_corrections(item)
    published_version, preprint = _version_links(corrections, is_preprint)
    title = markup_to_text(item.get("title"))
    abstract = abstract_to_text(item.get("abstractText"))
    cited_by = _str(item.get("citedByCount"))
    extra: dict[str, Any] = {
        "epmc_source": src,
        "epmc_id": epmc_id,
        "is_open_access": _yes(item.get("isOpenAccess")),
        "in_pmc": _yes(item.get("inPMC")),
        "cited_by": int(cited_by) if cited_by and cited_by.isdigit() else None,
        "is_preprint": is_preprint,
        "version": _str(item.get("versionNumber")),
        "first_index_date": _str(item.get("firstIndexDate")),
        "pub_year": _str(item.get("pubYear")),
        "keywords": _keywords(item),
        **_volume_issue_pages(item),
        "comment_corrections": corrections,
        "published_version": published_version,
        "preprint": preprint,
    }
    return RecordData(
        source=SOURCE,
        source_id=f"{src}:{epmc_id}",
        pmid=normalize_pmid(_str(item.get("pmid"))),
        doi=normalize_doi(_str(item.get("doi"))),
        pmcid=normalize_pmcid(_str(item.get("pmcid"))),
        nct_ids=find_nct_ids(f"{title}\n{abstract or ''}"),
        title=title,
        abstract=abstract,
        journal=_journal(item),
        published=_str(item.get("firstPublicationDate")),
        authors=_authors(item),
        publication_types=pub_types,
        mesh_terms=_mesh_terms(item),
        language=_str(item.get("language")),
        url=ARTICLE_URL.format(src=src, id=epmc_id),
        relations=relations_of(corrections, published_version, preprint),
        extra=extra,
    )


def parse_europepmc(
    payload: bytes, context: Mapping[str, Any] | None = None, content_type: str | None = None
) -> ParseResult:
    """The europepmc kind's parser: one stored core-JSON search page (no context needed)."""
    return parse_europepmc_json(payload)
