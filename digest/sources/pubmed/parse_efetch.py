"""EFetch `PubmedArticleSet` XML -> records, deleted PMIDs and warnings.

Pure: bytes in, data out. The XML parser never expands entities, never loads a DTD
and never touches the network, so a hostile or broken payload cannot reach outside or
blow up memory. The root is checked before anything else: an HTML page or an
E-utilities <ERROR> body is an error, never "0 records". EFetch pages (a few MB) are
parsed in one go; bigger payloads are streamed article by article (see parse_efetch).
Articles are read by `pubmed.article`.
"""

from __future__ import annotations

from io import BytesIO

from lxml import etree

from digest.errors import ParseError
from digest.model import ParseResult, RecordData
from digest.sources.pubmed.article import article_record, book_record
from digest.sources.pubmed.xmltext import SAFE_XML, Element, peek_root_tag, text_of

# Larger EFetch payloads are streamed (see parse_efetch); the parsed tree of a payload
# takes roughly ten times its size in memory.
STREAM_ABOVE_BYTES = 8 * 1024 * 1024


ROOT_TAG = "PubmedArticleSet"


_TOP_LEVEL_TAGS = ("PubmedArticle", "PubmedBookArticle", "DeleteCitation", "ERROR")


# Roots NCBI uses to wrap an <ERROR>, besides a bare <ERROR> root.
_ERROR_WRAPPERS = ("ERROR", "eFetchResult", "eSummaryResult")


def parse_efetch(
    payload: bytes, source: str = "pubmed", *, stream_above: int = STREAM_ABOVE_BYTES
) -> ParseResult:
    """Records, deleted PMIDs and warnings from an EFetch `PubmedArticleSet` payload.

    Payloads up to `stream_above` bytes (an EFetch page of a few hundred articles is a
    few MB) are parsed in one go by libxml2's memory parser, the fastest path. Larger
    ones (bulk files, imports) are streamed with iterparse, each article freed once read,
    so memory stays flat. Both paths read articles with the same code.
    """
    _check_efetch_root(payload)
    result = ParseResult()
    try:
        if len(payload) > stream_above:
            _parse_streaming(payload, source, result)
        else:
            _parse_in_memory(payload, source, result)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"truncated or malformed XML: {exc}") from exc
    return result


def _parse_in_memory(payload: bytes, source: str, result: ParseResult) -> None:
    root = etree.fromstring(payload, etree.XMLParser(**SAFE_XML))
    for element in root:
        if element.tag in _TOP_LEVEL_TAGS:
            _take_top_level(element, source, result)


def _parse_streaming(payload: bytes, source: str, result: ParseResult) -> None:
    context = etree.iterparse(BytesIO(payload), events=("end",), tag=_TOP_LEVEL_TAGS, **SAFE_XML)
    for _event, element in context:
        parent = element.getparent()
        # Only children of the root are records; never clear anything nested.
        if parent is not None and parent.getparent() is None:
            _take_top_level(element, source, result)
            _drop(element)


def _take_top_level(element: Element, source: str, result: ParseResult) -> None:
    """Add what one child of the root says to `result`."""
    tag = element.tag
    if tag == "PubmedArticle":
        _append_record(result, article_record(element, source))
    elif tag == "PubmedBookArticle":
        _append_record(result, book_record(element, source))
    elif tag == "DeleteCitation":
        result.deleted_ids.extend(pmid.text.strip() for pmid in element.iter("PMID") if pmid.text)
    else:
        # An <ERROR> directly under the root: NCBI's way of failing with HTTP 200.
        raise ParseError(f"E-utilities error: {text_of(element) or 'no message'}")


def _append_record(result: ParseResult, record: RecordData | None) -> None:
    if record is None:
        result.warnings.append("skipped an article without a PMID")
    else:
        result.records.append(record)


def _drop(element: Element) -> None:
    """Free a finished article and everything before it; memory stays flat on big files."""
    element.clear(keep_tail=True)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _check_efetch_root(payload: bytes) -> None:
    """Fail early and clearly when the payload is not a PubmedArticleSet."""
    root_tag = peek_root_tag(payload)
    if root_tag == ROOT_TAG:
        return
    if root_tag in _ERROR_WRAPPERS:
        message = _find_error_message(payload)
        if message is not None:
            raise ParseError(f"E-utilities error: {message}")
    raise ParseError(f"expected <{ROOT_TAG}>, got <{root_tag}>")


def _find_error_message(payload: bytes) -> str | None:
    """The text of an <ERROR> at the root or just below it, if the payload parses."""
    try:
        root = etree.fromstring(payload, etree.XMLParser(**SAFE_XML))
    except etree.XMLSyntaxError:
        return None
    if root.tag == "ERROR":
        return text_of(root) or "no message"
    error = root.find("ERROR")
    return (text_of(error) or "no message") if error is not None else None


# Children are read in one pass per element (indexed by tag, or dispatched on it): lxml's
# find() costs about as much as walking a dozen children, and an article has ~50 fields.
