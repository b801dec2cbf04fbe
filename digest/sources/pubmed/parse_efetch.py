"""EFetch `PubmedArticleSet` XML -> records, deleted PMIDs and warnings.

Pure: bytes in, data out. The XML parser never expands entities, never loads a DTD
and never touches the network, so a hostile or broken payload cannot reach outside or
blow up memory. The root is checked before anything else: an HTML page or an
E-utilities <ERROR> body is an error, never "0 records". EFetch pages (a few MB) are
parsed in one go; bigger payloads chunk by chunk (see parse_efetch), and files of any
size (bulk exports, PubMed baseline files, plain or gzipped) are read with `iter_efetch`,
which yields batches of records as it goes, in flat memory. The root's children come
from `pubmed.efetch_chunks`; articles are read by `pubmed.article`.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO

from lxml import etree

from digest.errors import ParseError
from digest.model import ParseResult, RecordData
from digest.sources.pubmed.article import article_record, book_record
from digest.sources.pubmed.efetch_chunks import (
    ROOT_TAG,
    TOP_LEVEL_TAGS,
    Readable,
    collector_paused,
    iter_top_level_in_chunks,
)
from digest.sources.pubmed.xmltext import SAFE_XML, Element, peek_root_tag, text_of

# Larger EFetch payloads are streamed (see parse_efetch); the parsed tree of a payload
# takes roughly ten times its size in memory.
STREAM_ABOVE_BYTES = 8 * 1024 * 1024


# Roots NCBI uses to wrap an <ERROR>, besides a bare <ERROR> root.
_ERROR_WRAPPERS = ("ERROR", "eFetchResult", "eSummaryResult")


def parse_efetch(
    payload: bytes, source: str = "pubmed", *, stream_above: int = STREAM_ABOVE_BYTES
) -> ParseResult:
    """Records, deleted PMIDs and warnings from an EFetch `PubmedArticleSet` payload.

    Payloads up to `stream_above` bytes (an EFetch page of a few hundred articles is a
    few MB) are parsed in one go by libxml2's memory parser, the fastest path. Larger
    ones are parsed a chunk of about 256 kB at a time, each chunk's tree freed once read, so
    the tree never holds more than a chunk (`iter_efetch` reads files of any size without
    holding the payload or the records either). All paths read articles with the same code.
    """
    _check_efetch_root(payload)
    result = ParseResult()
    try:
        with collector_paused():
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
        if element.tag in TOP_LEVEL_TAGS:
            _take_top_level(element, source, result)


def _parse_streaming(payload: bytes, source: str, result: ParseResult) -> None:
    stream = BytesIO(payload)
    for element in iter_top_level_in_chunks(stream.read(_HEAD_BYTES), stream):
        _take_top_level(element, source, result)


# ---------------------------------------------------------------- files of any size

DEFAULT_BATCH_SIZE = 1000

# How much of a stream is read to check its root (an EFetch DOCTYPE is one line), and the
# most of a non-PubmedArticleSet body read to find an E-utilities <ERROR> message in it.
_HEAD_BYTES = 64 * 1024
_ERROR_BODY_BYTES = 1024 * 1024

_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(slots=True)
class EfetchBatch:
    """Up to `batch_size` consecutive children of the root, read.

    `parsed` holds their records, deleted PMIDs and warnings. With `keep_xml`, `xml` is a
    standalone `PubmedArticleSet` of exactly these elements (the file's DOCTYPE, then each
    element as lxml re-serializes it: same tags, attributes, text and unexpanded entity
    references; the whitespace between elements is not kept), which `parse_efetch` reads
    back to the same `parsed`: what a bulk import stores as the batch's payload.
    """

    parsed: ParseResult = field(default_factory=ParseResult)
    xml: bytes | None = None
    size: int = 0  # root children read (articles, books, DeleteCitation lists)


def iter_efetch(
    source: str | os.PathLike[str] | Readable,
    source_name: str = "pubmed",
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    keep_xml: bool = False,
) -> Iterator[EfetchBatch]:
    """Batches of what an EFetch `PubmedArticleSet` file or binary stream says, as it is read.

    The same records, deletions and warnings as `parse_efetch` on the whole payload, in
    the same order, `batch_size` root children at a time; each article is freed once read,
    so memory stays flat on a file of any size (a path ending in .gz, or starting with the
    gzip magic, is decompressed as it is read). The root is checked first, as
    `parse_efetch` does. A malformed or truncated input raises ParseError where it breaks:
    every batch yielded before is complete and valid, the unfinished one is not yielded
    (a caller that must be all-or-nothing, like `digest import`, keeps them in one
    transaction and rolls back).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as raw:
            if raw.read(2) == _GZIP_MAGIC:
                raw.seek(0)
                with gzip.GzipFile(fileobj=raw) as unzipped:
                    yield from _iter_batches(unzipped, source_name, batch_size, keep_xml)
                    return
            raw.seek(0)
            yield from _iter_batches(raw, source_name, batch_size, keep_xml)
    else:
        yield from _iter_batches(source, source_name, batch_size, keep_xml)


def _iter_batches(
    stream: Readable, source: str, batch_size: int, keep_xml: bool
) -> Iterator[EfetchBatch]:
    try:
        head = stream.read(_HEAD_BYTES)
        if len(head) < _HEAD_BYTES or _peeked_root(head) != ROOT_TAG:
            # A short body, not an article set, or a long prolog: the checks on the whole
            # body (or its first MB) say what it is.
            head += stream.read(_ERROR_BODY_BYTES)
            _check_efetch_root(head)
        batch, pieces, doctype = EfetchBatch(), list[bytes](), None
        elements = iter_top_level_in_chunks(head, stream)
        while True:
            with collector_paused():
                for element in elements:
                    if keep_xml:
                        if doctype is None:
                            doctype = element.getroottree().docinfo.doctype or ""
                        pieces.append(etree.tostring(element, encoding="UTF-8", with_tail=False))
                    _take_top_level(element, source, batch.parsed)
                    batch.size += 1
                    if batch.size == batch_size:
                        break
            if not batch.size:
                return
            yield _finished(batch, pieces, doctype)  # the collector is on again here
            batch, pieces = EfetchBatch(), []
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"truncated or malformed XML: {exc}") from exc
    except (OSError, EOFError, zlib.error) as exc:  # a gzip stream cut short or corrupt
        raise ParseError(f"cannot read the EFetch stream: {exc}") from exc


def _peeked_root(head: bytes) -> str | None:
    try:
        return peek_root_tag(head)
    except ParseError:  # maybe only cut short: the caller reads on
        return None


def _finished(batch: EfetchBatch, pieces: list[bytes], doctype: str | None) -> EfetchBatch:
    if pieces:
        batch.xml = b"".join(
            [
                b'<?xml version="1.0" encoding="UTF-8"?>\n',
                doctype.encode() + b"\n" if doctype else b"",
                b"<PubmedArticleSet>\n",
                *(piece + b"\n" for piece in pieces),
                b"</PubmedArticleSet>\n",
            ]
        )
    return batch


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
