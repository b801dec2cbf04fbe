"""EFetch `PubmedArticleSet` XML -> records, deleted PMIDs and warnings.

Pure: bytes in, data out. The XML parser never expands entities, never loads a DTD
and never touches the network, so a hostile or broken payload cannot reach outside or
blow up memory. The root is checked before anything else: an HTML page or an
E-utilities <ERROR> body is an error, never "0 records". EFetch pages (a few MB) are
parsed in one go; bigger payloads are streamed article by article (see parse_efetch),
and files of any size (bulk exports, PubMed baseline files, plain or gzipped) are read
with `iter_efetch`, which yields batches of records as it goes in flat memory.
Articles are read by `pubmed.article`.
"""

from __future__ import annotations

import gc
import gzip
import os
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BytesIO
from typing import Protocol

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
    ones are parsed a chunk of about 256 kB at a time, each chunk's tree freed once read, so
    the tree never holds more than a chunk (`iter_efetch` reads files of any size without
    holding the payload or the records either). All paths read articles with the same code.
    """
    _check_efetch_root(payload)
    result = ParseResult()
    try:
        with _collector_paused():
            if len(payload) > stream_above:
                _parse_streaming(payload, source, result)
            else:
                _parse_in_memory(payload, source, result)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"truncated or malformed XML: {exc}") from exc
    return result


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while articles are read, back on after (also on error).

    Reading allocates some 300 dicts, lists and strings an article, none of them in a
    cycle, so every collection the allocations trigger finds nothing, yet each older-
    generation one walks every object of the process: with digest loaded (some 90,000)
    that was 15% of the parse. Process-wide, as gc is; only switched back on by the one
    who switched it off, and never across a `yield` (the caller's code runs with it on).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _parse_in_memory(payload: bytes, source: str, result: ParseResult) -> None:
    root = etree.fromstring(payload, etree.XMLParser(**SAFE_XML))
    for element in root:
        if element.tag in _TOP_LEVEL_TAGS:
            _take_top_level(element, source, result)


def _parse_streaming(payload: bytes, source: str, result: ParseResult) -> None:
    stream = BytesIO(payload)
    for element in _iter_top_level_in_chunks(stream.read(_HEAD_BYTES), stream):
        _take_top_level(element, source, result)


def _iter_top_level(stream: Readable) -> Iterator[Element]:
    """Each record-level child of the root, freed (with all before it) once the caller
    is done with it: memory holds one article at a time, whatever the file's size."""
    context = etree.iterparse(stream, events=("end",), tag=_TOP_LEVEL_TAGS, **SAFE_XML)
    for _event, element in context:
        parent = element.getparent()
        # Only children of the root are records; never clear anything nested.
        if parent is not None and parent.getparent() is None:
            yield element
            _drop(element)


# ---------------------------------------------------------------- files of any size

# Big inputs are cut into chunks of about this size, each ending after a record's end tag,
# and each chunk is parsed as a document of its own: libxml2's one-shot parser builds and
# frees a chunk's tree in about 60% of the CPU time iterparse takes for the same elements.
_CHUNK_BYTES = 256 * 1024

_ROOT_START = re.compile(rb"<PubmedArticleSet[\s>/]")

_RECORD_END_TAGS = (b"</PubmedArticle>", b"</PubmedBookArticle>", b"</DeleteCitation>")

_ROOT_END = b"</PubmedArticleSet>"

_LONGEST_END_TAG = max(map(len, _RECORD_END_TAGS))

# A chunk that grows this many times _CHUNK_BYTES without a record end in it is not cut.
_MAX_CHUNKS_WITHOUT_A_CUT = 8


def _iter_top_level_in_chunks(head: bytes, stream: Readable) -> Iterator[Element]:
    """What `_iter_top_level` yields, from chunks parsed one by one (faster).

    A chunk is the text between two record end tags, wrapped in the file's own prolog and
    root start tag. An end tag's bytes can only be cut elsewhere (inside a comment, a CDATA
    section or a nested element), and such a chunk does not parse on its own: from the
    first chunk that does not, the rest of the file is read by iterparse, exactly.
    """
    opening = _opening_of(head)
    if opening is None:
        yield from _iter_top_level(_HeadThenRest(head, stream))
        return
    parser = etree.XMLParser(**SAFE_XML)
    buffer = head[len(opening) :]
    cut = _last_record_end(buffer, 0)
    while True:
        block = stream.read(_CHUNK_BYTES)
        if block:
            searched = max(0, len(buffer) - _LONGEST_END_TAG)
            buffer += block
            cut = max(cut, _last_record_end(buffer, searched))
            if len(buffer) > _MAX_CHUNKS_WITHOUT_A_CUT * _CHUNK_BYTES and cut == 0:
                break  # no record ends in many MB: not the usual shape, read exactly
            if cut == 0 or len(buffer) < _CHUNK_BYTES:
                continue
            document = opening + buffer[:cut] + _ROOT_END
        else:  # the last chunk, with the file's own end
            cut, document = len(buffer), opening + buffer
        try:
            root = etree.fromstring(document, parser)
        except etree.XMLSyntaxError:
            break
        buffer, cut = buffer[cut:], 0
        for element in root:
            if element.tag in _TOP_LEVEL_TAGS:
                yield element
        if not block:
            return
    # From here on iterparse reads the rest exactly (and raises where it breaks, if it does).
    yield from _iter_top_level(_HeadThenRest(opening + buffer, stream))


def _last_record_end(buffer: bytes, start: int) -> int:
    """Where the last record end tag at or after `start` ends; 0 if there is none."""
    # The commonest tag first: found near the end, it bounds the search for the others
    # (bytes.rfind scans all of a region that does not hold its needle).
    last = 0
    for tag in _RECORD_END_TAGS:
        found = buffer.rfind(tag, max(start, last))
        if found >= 0:
            last = found + len(tag)
    return last


def _opening_of(head: bytes) -> bytes | None:
    """The prolog and root start tag, when they parse as the start of a PubmedArticleSet."""
    match = _ROOT_START.search(head)
    if match is None:
        return None
    end = head.find(b">", match.start())
    if end < 0 or head[end - 1 : end] == b"/":
        return None
    opening = head[: end + 1]
    try:
        root = etree.fromstring(opening + _ROOT_END, etree.XMLParser(**SAFE_XML))
    except etree.XMLSyntaxError:
        return None
    return opening if root.tag == ROOT_TAG and len(root) == 0 else None


DEFAULT_BATCH_SIZE = 1000

# How much of a stream is read to check its root (an EFetch DOCTYPE is one line), and the
# most of a non-PubmedArticleSet body read to find an E-utilities <ERROR> message in it.
_HEAD_BYTES = 64 * 1024
_ERROR_BODY_BYTES = 1024 * 1024

_GZIP_MAGIC = b"\x1f\x8b"


class Readable(Protocol):
    """A binary stream: an open file, a GzipFile, a BytesIO, a response's raw body."""

    def read(self, size: int = -1, /) -> bytes: ...


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
        elements = _iter_top_level_in_chunks(head, stream)
        while True:
            with _collector_paused():
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


class _HeadThenRest:
    """A binary stream read again from its start, once its first bytes were peeked at."""

    def __init__(self, head: bytes, rest: Readable) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._rest.read(size)
        if size is None or size < 0:
            data, self._head = self._head + self._rest.read(), b""
            return data
        data, self._head = self._head[:size], self._head[size:]
        return data


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
