"""Shared text helpers for the parsers: markup -> plain text, and identifier normalizers.

Everything here is pure and small. Parsers output plain text only, so every title or
abstract that may hold markup goes through `html_to_text` (script/style content is dropped,
tags are removed, entities are decoded once).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from html.parser import HTMLParser
from typing import Any

from digest.errors import ParseError
from digest.model import ParseResult, RecordData

# Elements whose start or end begins a new paragraph in the plain text.
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "caption", "dd", "div", "dl", "dt",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
        "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody",
        "td", "tfoot", "th", "thead", "title", "tr", "ul",
    }
)  # fmt: skip
# Elements whose content is never text a reader should see.
_DROPPED_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg"})
_PARAGRAPH = "\x00P"
_LINE = "\x00L"
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0\u2009\u202f]+")
# Bidirectional controls (embeddings, overrides, isolates, marks): in untrusted text they
# reorder what a reader sees (U+202E turns "fdp.exe" into "exe.pdf"); never kept.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Lone UTF-16 surrogates (from a JSON "\ud800" escape) cannot be encoded: U+FFFD instead.
_SURROGATES = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")
# Something that looks like an HTML/XML tag (used to decide whether text/plain holds markup).
_TAG_LIKE = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(\s[^<>]*)?/?>")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._dropped_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED_TAGS:
            self._dropped_depth += 1
        elif tag == "br":
            self.parts.append(_LINE)
        elif tag in _BLOCK_TAGS:
            self.parts.append(_PARAGRAPH)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append(_LINE)
        elif tag in _BLOCK_TAGS:
            self.parts.append(_PARAGRAPH)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED_TAGS:
            self._dropped_depth = max(0, self._dropped_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(_PARAGRAPH)

    def handle_data(self, data: str) -> None:
        if not self._dropped_depth:
            self.parts.append(data)


def clean_text(text: str) -> str:
    """Untrusted text without bidi controls and with lone surrogates as U+FFFD."""
    return _SURROGATES.sub("\ufffd", _BIDI_CONTROLS.sub("", text))


def collapse_whitespace(text: str) -> str:
    """All runs of whitespace (incl. no-break spaces) -> one space, trimmed."""
    return _SPACES.sub(" ", clean_text(text)).strip()


def _clean_tree(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATES.sub("\ufffd", value)
    if isinstance(value, list):
        return [_clean_tree(v) for v in value]
    if isinstance(value, dict):
        return {_clean_tree(k): _clean_tree(v) for k, v in value.items()}
    return value


def load_json(payload: bytes | str) -> Any:
    """`json.loads` for untrusted payloads: nesting too deep for the decoder is a
    JSONDecodeError (not a RecursionError), and lone surrogate escapes ("\ud800") become
    U+FFFD, so one broken string never makes a payload unstorable."""
    try:
        document = json.loads(payload)
    except RecursionError as exc:
        raise json.JSONDecodeError("nested too deeply", "", 0) from exc
    raw = payload if isinstance(payload, bytes) else payload.encode("utf-8", "surrogatepass")
    return _clean_tree(document) if _SURROGATE_ESCAPE.search(raw) else document


def html_to_text(markup: str) -> str:
    """HTML (or JATS-like inline markup) -> plain text with paragraph breaks kept.

    Entities are decoded, tags dropped (inline tags without adding spaces, so
    ``PM<sub>2.5</sub>`` gives ``PM2.5``), script/style content removed, paragraphs
    separated by a blank line and ``<br>`` kept as a line break.
    """
    if not markup:
        return ""
    parser = _TextExtractor()
    parser.feed(clean_text(markup))
    parser.close()
    flat = _SPACES.sub(" ", "".join(parser.parts))
    paragraphs = []
    for chunk in flat.split(_PARAGRAPH):
        lines = [line.strip() for line in chunk.split(_LINE)]
        paragraph = "\n".join(line for line in lines if line)
        if paragraph:
            paragraphs.append(paragraph)
    return "\n\n".join(paragraphs)


def looks_like_markup(text: str) -> bool:
    """True when text contains something shaped like an HTML tag."""
    return bool(_TAG_LIKE.search(text))


def drop_markup(text: str) -> str:
    """Plain text that may carry stray HTML (a registry field, a text/plain feed title):
    paragraphs holding tag-like markup go through `html_to_text`, the rest stays as is
    (so a literal "&" or "p<0.05" in plain text is never altered)."""
    text = clean_text(text)
    if not looks_like_markup(text):
        return text
    paragraphs = (html_to_text(p) if looks_like_markup(p) else p for p in text.split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)


def paragraphs_to_text(text: str) -> str:
    """Plain text with hard-wrapped lines -> paragraphs (blank-line separated), spaces collapsed."""
    text = clean_text(text)
    blocks = re.split(r"\n[ \t\r\f\v]*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n\n".join(p for p in (collapse_whitespace(b) for b in blocks) if p)


# --------------------------------------------------------------------------- identifiers


def records_skipping_bad(
    items: Iterable[Any], to_record: Callable[[Any], RecordData], what: str, source: str
) -> ParseResult:
    """One record per item; a bad item is skipped with a warning, and the payload fails
    only when every item was bad (one broken entry never loses the rest). An item of the
    wrong shape (a number where an object belongs: TypeError, AttributeError, ...) is a
    bad item too, never an exception out of the parser."""
    result = ParseResult()
    for index, item in enumerate(items):
        try:
            result.records.append(to_record(item))
        except ParseError as exc:
            result.warnings.append(f"{what} #{index} skipped: {exc}")
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            result.warnings.append(f"{what} #{index} skipped: malformed ({type(exc).__name__})")
    if result.warnings and not result.records:
        raise ParseError(f"no usable {what} in payload ({result.warnings[0]})", source=source)
    return result
