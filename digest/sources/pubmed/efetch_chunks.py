"""The record-level children of a `PubmedArticleSet` read from a stream of any size,
one at a time, each freed once the caller is done with it (`parse_efetch` and
`iter_efetch` read them). Pure: bytes in, elements out; the same safe parser options.

Big inputs are cut into chunks after a record's end tag and each chunk parsed on its own
by libxml2's one-shot parser; from the first chunk that does not parse alone (an end
tag's bytes in a comment, a CDATA section or a nested element), iterparse reads the rest
exactly.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from lxml import etree

from digest.sources.pubmed.xmltext import SAFE_XML, Element

ROOT_TAG = "PubmedArticleSet"


TOP_LEVEL_TAGS = ("PubmedArticle", "PubmedBookArticle", "DeleteCitation", "ERROR")


class Readable(Protocol):
    """A binary stream: an open file, a GzipFile, a BytesIO, a response's raw body."""

    def read(self, size: int = -1, /) -> bytes: ...


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


def iter_top_level_in_chunks(head: bytes, stream: Readable) -> Iterator[Element]:
    """What `iter_top_level` yields, from chunks parsed one by one (faster).

    A chunk is the text between two record end tags, wrapped in the file's own prolog and
    root start tag. An end tag's bytes can only be cut elsewhere (inside a comment, a CDATA
    section or a nested element), and such a chunk does not parse on its own: from the
    first chunk that does not, the rest of the file is read by iterparse, exactly.
    """
    opening = _opening_of(head)
    if opening is None:
        yield from iter_top_level(HeadThenRest(head, stream))
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
            if element.tag in TOP_LEVEL_TAGS:
                yield element
        if not block:
            return
    # From here on iterparse reads the rest exactly (and raises where it breaks, if it does).
    yield from iter_top_level(HeadThenRest(opening + buffer, stream))


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


@contextmanager
def collector_paused() -> Iterator[None]:
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


def iter_top_level(stream: Readable) -> Iterator[Element]:
    """Each record-level child of the root, freed (with all before it) once the caller
    is done with it: memory holds one article at a time, whatever the file's size."""
    context = etree.iterparse(stream, events=("end",), tag=TOP_LEVEL_TAGS, **SAFE_XML)
    for _event, element in context:
        parent = element.getparent()
        # Only children of the root are records; never clear anything nested.
        if parent is not None and parent.getparent() is None:
            yield element
            _drop(element)


class HeadThenRest:
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


def _drop(element: Element) -> None:
    """Free a finished article and everything before it; memory stays flat on big files."""
    element.clear(keep_tail=True)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]
