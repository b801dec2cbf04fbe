"""Input -> sentences with their 1-based source line: plain text, Markdown and HTML.

Pure. Bad input (binary, undecodable, empty, nothing readable) is a ConfigError with a
one-line message; the CLI maps it to exit code 2.
"""

from __future__ import annotations

import bisect
import codecs
import re
from typing import Literal, NamedTuple

from bs4 import BeautifulSoup
from bs4.element import NavigableString, Tag

from digest.errors import ConfigError

Kind = Literal["text", "markdown", "html"]


class Sentence(NamedTuple):
    text: str
    line: int


# A sentence ends at . ! ? (plus closing quotes/brackets) followed by space; the next one
# need not start with a capital ("studies show ... fast. and ...") but abbreviations don't end one.
_END = re.compile(r"[.!?]+[\"')\]\u201d\u2019]*\s+")
_ABBREV = re.compile(r"\b(?:e\.g|i\.e|etc|dr|mr|mrs|ms|prof|vs|approx|fig)\.$", re.I)
_SPACE = re.compile(r"\s+")

Piece = tuple[int, str]  # (line the text starts on, text)


def _split_pieces(pieces: list[Piece]) -> list[Sentence]:
    """Split one block (pieces in order) into sentences, each with the line it starts on."""
    text = "".join(t for _, t in pieces)
    starts: list[int] = []
    pos = 0
    for _, t in pieces:
        starts.append(pos)
        pos += len(t)

    def line_at(offset: int) -> int:
        i = bisect.bisect_right(starts, offset) - 1
        line, piece = pieces[i]
        return line + piece[: offset - starts[i]].count("\n")

    out: list[Sentence] = []
    begin = 0
    bounds = [m.end() for m in _END.finditer(text) if not _ABBREV.search(text[: m.start() + 1])]
    for end in [*bounds, len(text)]:
        chunk = text[begin:end]
        lead = len(chunk) - len(chunk.lstrip())
        clean = _SPACE.sub(" ", chunk).strip()
        if any(ch.isalnum() for ch in clean):
            out.append(Sentence(clean, line_at(begin + lead)))
        begin = end
    return out


def split_text(text: str) -> list[Sentence]:
    """Plain text: paragraphs are separated by blank lines; lines are the text's own."""
    out: list[Sentence] = []
    block: list[Piece] = []
    for no, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            block.append((no, line + "\n"))
        elif block:
            out += _split_pieces(block)
            block = []
    if block:
        out += _split_pieces(block)
    return out


# --- Markdown: strip markup line by line, so every sentence keeps its source line ---

_MD_NEW_BLOCK = re.compile(r"^\s{0,3}(?:#{1,6}\s|[-*+]\s+|\d{1,9}[.)]\s+|\|)")
_MD_SKIP = re.compile(r"^\s*(?:(?:[-*_]\s*){3,}|=+|-+|\|?[\s:|-]*-[\s:|-]*|\[[^\]]+\]:\s*\S+.*)$")
_MD_INLINE = (
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # image -> alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # link -> its text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # reference link
    (re.compile(r"<https?://[^>]+>"), ""),  # autolink
    (re.compile(r"</?[A-Za-z][^>]*>"), ""),  # inline HTML tags
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"(\*\*|__|~~)"), ""),
    (re.compile(r"(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)"), ""),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>])"), r"\1"),
)
_MD_PREFIX = re.compile(r"^\s{0,3}(?:>\s?)*(?:#{1,6}\s+|[-*+]\s+|\d{1,9}[.)]\s+)?")


def _md_line(line: str) -> str:
    line = _MD_PREFIX.sub("", line).rstrip()
    line = re.sub(r"\s#+$", "", line)
    if line.lstrip().startswith("|"):  # a table row: cells kept, outer pipes dropped
        line = " | ".join(cell.strip() for cell in line.strip().strip("|").split("|"))
    for pattern, repl in _MD_INLINE:
        line = pattern.sub(repl, line)
    return line


def split_markdown(text: str) -> list[Sentence]:
    out: list[Sentence] = []
    block: list[Piece] = []
    in_comment = in_fence = False

    def flush() -> None:
        nonlocal block
        if block:
            out.extend(_split_pieces(block))
        block = []

    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw
        if in_comment:
            if "-->" not in line:
                continue
            line, in_comment = line.split("-->", 1)[1], False
        line = re.sub(r"<!--.*?-->", "", line)
        if "<!--" in line:
            line, in_comment = line.split("<!--", 1)[0], True
        if re.match(r"^\s{0,3}(```|~~~)", line):
            in_fence = not in_fence
            flush()
            continue
        if in_fence or not line.strip() or _MD_SKIP.match(line):
            flush()
            continue
        if _MD_NEW_BLOCK.match(line):
            flush()
        block.append((no, _md_line(line) + "\n"))
        if line.lstrip().startswith("#"):
            flush()  # a heading is a block of its own
    flush()
    return out


# --- HTML ---

_DROP = ("script", "style", "nav", "header", "footer", "aside", "form", "noscript", "template",
         "head", "iframe", "svg", "button", "select", "textarea")  # fmt: skip
_DROP_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search"}
# text belongs to its nearest ancestor among these; a new one starts a new block
_BLOCKS = frozenset(
    ("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "td", "th", "dt", "dd",
     "figcaption", "caption", "pre", "div", "section", "article", "main", "body", "html",
     "table", "tr", "ul", "ol", "dl", "figure", "details", "summary", "address")
)  # fmt: skip


def split_html(text: str) -> list[Sentence]:
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup.find_all([*_DROP, True]):
        if (
            isinstance(tag, Tag)
            and not tag.decomposed
            and (tag.name in _DROP or tag.get("role") in _DROP_ROLES)
        ):
            tag.decompose()
    blocks: list[list[Piece]] = []
    owner: Tag | None = None
    line = 1
    for node in soup.descendants:
        if isinstance(node, Tag):
            line = node.sourceline or line  # html.parser records each tag's source line
            if node.name == "br":
                owner = None  # a line break ends the block
            continue
        if type(node) is not NavigableString:
            continue  # comments, doctype, CDATA
        block_tag = next((p for p in node.parents if p.name in _BLOCKS), None)
        if block_tag is not owner or not blocks:
            blocks.append([])
            owner = block_tag
        blocks[-1].append((line, str(node)))
        line += str(node).count("\n")
    return [s for b in blocks for s in _split_pieces(b)]


# --- bytes -> text, and the dispatch ---

_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)


def kind_of(content_type_or_name: str, text: str) -> Kind:
    hint = content_type_or_name.lower().split(";")[0].strip()
    if "html" in hint or hint.endswith((".htm", ".html", ".xhtml")):
        return "html"
    if "markdown" in hint or hint.endswith((".md", ".markdown", ".mdown")):
        return "markdown"
    if hint.startswith("text/") or hint.endswith(".txt"):
        return "text"
    head = text.lstrip()[:500].lower()
    return "html" if head.startswith(("<!doctype html", "<html")) or "<body" in head else "text"


def _decode(content: bytes, hint: str) -> str:
    if b"\x00" in content:
        raise ConfigError("input looks binary (it contains NUL bytes), not text to check")
    declared = _CHARSET.search(hint.encode("ascii", "ignore")) or _CHARSET.search(content[:2048])
    tried = [declared.group(1).decode("ascii")] if declared else []
    for enc in [*tried, "utf-8-sig"]:
        try:
            codecs.lookup(enc)
            return content.decode(enc)
        except (LookupError, UnicodeDecodeError):
            continue
    charset = f"{tried[0]} or UTF-8" if tried else "UTF-8"
    raise ConfigError(f"input is not valid {charset} text")


def extract_sentences(content: bytes | str, content_type_or_name: str) -> list[Sentence]:
    """Sentences with 1-based source lines. `content_type_or_name`: a Content-Type
    ("text/html; charset=utf-8"), a file name or URL ("post.md"), or "-" (sniffed)."""
    text = _decode(content, content_type_or_name) if isinstance(content, bytes) else content
    if not text.strip():
        raise ConfigError("input is empty: nothing to check")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    if "\x00" in text or controls > max(2, len(text) // 100):
        raise ConfigError("input looks binary (control characters), not text to check")
    kind = kind_of(content_type_or_name, text)
    split = {"text": split_text, "markdown": split_markdown, "html": split_html}[kind]
    sentences = split(text)
    if not sentences:
        raise ConfigError(f"no readable text found in the input (read as {kind})")
    return sentences
