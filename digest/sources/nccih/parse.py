"""NCCIH health pages -> one RecordData snapshot each, and a readable diff between snapshots.

NCCIH pages are editorial context, not studies: a page is kept as its main content only
(navigation, header, footer, breadcrumbs, scripts and forms dropped), split into sections
by its h1-h4 headings, so a change can be told as "1 section changed (What the Science
Says)" (see `nccih.changes`). Main-content selectors come from config; none has been
checked against a live page.

The NCCIH news feed is an ordinary RSS feed: `parse_nccih_feed` is `parse_feed` with
source "nccih-news".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bs4 import BeautifulSoup, Tag
from bs4.element import Comment, NavigableString

from digest.errors import ParseError
from digest.model import ParseResult, RecordData
from digest.sources.nccih.ids import canonical_page_url
from digest.sources.rss.parse import parse_feed
from digest.sources.text import collapse_whitespace

SOURCE = "nccih"
NEWS_SOURCE = "nccih-news"
PUBLISHER = "National Center for Complementary and Integrative Health (NCCIH)"

_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4}
# Elements read as one block of text (their inner markup is flattened).
_TEXT_BLOCKS = frozenset({"p", "li", "dt", "dd", "blockquote", "pre", "figcaption", "td", "th"})
# Elements that flow inside a line of text.
_INLINE = frozenset(
    {
        "a", "abbr", "b", "bdi", "cite", "code", "em", "i", "img", "mark", "q", "s", "small",
        "span", "strong", "sub", "sup", "time", "u", "br", "wbr",
    }
)  # fmt: skip
_BOILERPLATE_TAGS = (
    "nav", "header", "footer", "aside", "script", "style", "form", "noscript", "iframe",
    "svg", "button", "template", "input", "select", "textarea",
)  # fmt: skip
# A class or id token that names page furniture (whole tokens only: "shared-body" is content).
_BOILERPLATE_TOKEN = re.compile(
    r"(usa-)?(breadcrumbs?|skip-?(link|nav|to-content)|skipnav|visually-hidden|sr-only"
    r"|(social-)?share(-buttons|-links|-tools)?|social(-links|-media)?|print-link)",
    re.I,
)
_SKIP_LINK_TEXT = re.compile(r"^skip to (main )?content$", re.I)
_UPDATED = re.compile(
    r"\b(Last\s+(?:Updated|Reviewed|Modified))\s*:?\s*"
    r"([A-Z][a-z]+\.?\s+\d{1,2},\s+\d{4}|[A-Z][a-z]+\s+\d{4}|\d{4}-\d{2}-\d{2})"
)
_HTML_MARKER = re.compile(rb"<(?:html|body|main|article|h1)\b", re.IGNORECASE)
# the config's default (NccihPage.main_selectors), for a page parsed with partial context
DEFAULT_MAIN_SELECTORS = ("main", "article", "#main-content", "[role=main]")


@dataclass(slots=True)
class Section:
    heading: str
    level: int
    blocks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"heading": self.heading, "level": self.level, "text": "\n\n".join(self.blocks)}


# --------------------------------------------------------------------------- extraction


def _soup(payload: bytes) -> BeautifulSoup:
    if not _HTML_MARKER.search(payload[:20_000]):
        raise ParseError("NCCIH payload is not an HTML page", source=SOURCE)
    return BeautifulSoup(payload, "lxml")


def _main_content(soup: BeautifulSoup, selectors: list[str], url: str) -> Tag:
    # No fallback to <body>: an error page or a redesign must fail loudly, not replace the
    # snapshot with navigation text and read as "NCCIH changed every section".
    for selector in selectors:
        found = soup.select_one(selector)
        if isinstance(found, Tag) and found.get_text(strip=True):
            return found
    raise ParseError(
        f"none of the main-content selectors {selectors} matched", source=SOURCE, url=url
    )


def _is_boilerplate(tag: Tag) -> bool:
    if tag.name in _BOILERPLATE_TAGS or tag.get("role") in ("navigation", "banner", "search"):
        return True
    if tag.get("aria-hidden") == "true" or tag.has_attr("hidden"):
        return True
    tokens = [*tag.get_attribute_list("class"), str(tag.get("id") or "")]
    if any(_BOILERPLATE_TOKEN.fullmatch(str(token or "")) for token in tokens):
        return True
    return tag.name == "a" and bool(_SKIP_LINK_TEXT.match(tag.get_text(" ", strip=True)))


def _strip_boilerplate(main: Tag) -> None:
    for comment in main.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for tag in main.find_all(_is_boilerplate):
        if not tag.decomposed:
            tag.decompose()


def _block_text(tag: Tag) -> str:
    text = collapse_whitespace(tag.get_text(" "))
    # get_text(" ") puts spaces before punctuation that followed inline tags
    return re.sub(r"\s+([,.;:!?)])", r"\1", text)


def _collect_sections(main: Tag) -> list[Section]:
    sections = [Section(heading="", level=0)]

    def add_block(text: str) -> None:
        text = collapse_whitespace(re.sub(r"\s+([,.;:!?)])", r"\1", text))
        # the "Last Updated" line is page housekeeping, not guidance: it must not read as an edit
        if text and not _UPDATED.search(text[:80]):
            sections[-1].blocks.append(text)

    def walk(node: Tag) -> None:
        run: list[str] = []  # inline content between blocks (text, links, emphasis)
        for child in node.children:
            if isinstance(child, NavigableString) or (
                isinstance(child, Tag) and child.name in _INLINE
            ):
                run.append(child.get_text(" ") if isinstance(child, Tag) else str(child))
                continue
            add_block(" ".join(run))
            run = []
            if not isinstance(child, Tag):
                continue
            if child.name in _HEADINGS:
                sections.append(Section(_block_text(child), _HEADINGS[child.name]))
            elif child.name in _TEXT_BLOCKS:
                text = _block_text(child)
                add_block(f"- {text}" if child.name == "li" and text else text)
            else:
                walk(child)
        add_block(" ".join(run))

    walk(main)
    return [s for s in sections if s.heading or s.blocks]


def _page_updated(soup: BeautifulSoup) -> str | None:
    match = _UPDATED.search(collapse_whitespace(soup.get_text(" ")))
    return match.group(2) if match else None


def _iso_date(text: str | None) -> str | None:
    if not text:
        return None
    cleaned = text.replace(".", "")
    for fmt, out in (("%B %d, %Y", "%Y-%m-%d"), ("%B %Y", "%Y-%m"), ("%Y-%m-%d", "%Y-%m-%d")):
        try:
            return datetime.strptime(cleaned, fmt).strftime(out)
        except ValueError:
            continue
    return None


def _title(soup: BeautifulSoup, sections: list[Section]) -> str:
    for section in sections:
        if section.level == 1:
            return section.heading
    head_title = soup.find("title")
    text = collapse_whitespace(head_title.get_text()) if head_title else ""
    return re.sub(r"\s*\|\s*NCCIH\s*$", "", text, flags=re.I)


def _bottom_line(sections: list[Section]) -> str | None:
    """The "What's the Bottom Line?" section with its sub-sections, if the page has one."""
    for index, section in enumerate(sections):
        if "bottom line" not in section.heading.lower():
            continue
        parts = list(section.blocks)
        for sub in sections[index + 1 :]:
            if sub.level <= section.level:
                break
            parts.extend([sub.heading, *sub.blocks])
        return "\n\n".join(p for p in parts if p) or None
    return None


def _first_paragraphs(sections: list[Section], limit: int = 600) -> str | None:
    """The opening paragraph(s) of the first section that has text (at most two, ~limit)."""
    blocks = next((s.blocks for s in sections if s.blocks), [])
    chosen = blocks[:1]
    if len(blocks) > 1 and len(blocks[0]) + len(blocks[1]) <= limit:
        chosen = blocks[:2]
    return "\n\n".join(chosen) or None


def _snapshot(sections: list[Section]) -> str:
    parts = []
    for section in sections:
        if section.heading:
            parts.append(f"{'#' * max(section.level, 1)} {section.heading}")
        parts.extend(section.blocks)
    return "\n\n".join(parts)


def extract_page(
    payload: bytes, url: str, main_selectors: list[str], design: str = "review"
) -> RecordData:
    """An NCCIH HTML page -> a snapshot record of its main content, section by section."""
    soup = _soup(payload)
    page_updated = _page_updated(soup)
    main = _main_content(soup, main_selectors, url)
    _strip_boilerplate(main)
    sections = _collect_sections(main)
    if not any(s.blocks for s in sections):
        raise ParseError(f"no text in the main content of {url}", source=SOURCE, url=url)
    page_url = canonical_page_url(url)
    return RecordData(
        source=SOURCE,
        source_id=page_url,
        title=_title(soup, sections),
        abstract=_bottom_line(sections) or _first_paragraphs(sections),
        published=_iso_date(page_updated),
        publication_types=["Web Page"],
        language="eng",
        url=page_url,
        extra={
            "sections": [s.as_dict() for s in sections],
            "snapshot": _snapshot(sections),
            "design": design,
            "page_updated": page_updated,
            "publisher": PUBLISHER,
        },
    )


def parse_nccih(
    payload: bytes, context: Mapping[str, Any] | None = None, content_type: str | None = None
) -> ParseResult:
    """The nccih kind's parser. Context of a news feed: {"feed": its configured URL}; of a
    watched page: {"url", "main_selectors", "design"} from its config. Without context a
    feed is recognised by its root; a page cannot be read without its address."""
    context = context or {}
    if "feed" in context or ("url" not in context and _looks_like_feed(payload)):
        return parse_nccih_feed(payload, content_type=content_type, base_url=context.get("feed"))
    url = context.get("url")
    if not url:
        raise ParseError(
            'an NCCIH page needs its context: {"url": ..., "main_selectors": [...], "design": ...}',
            source=SOURCE,
        )
    selectors = list(context.get("main_selectors") or DEFAULT_MAIN_SELECTORS)
    design = str(context.get("design") or "review")
    return ParseResult(records=[extract_page(payload, str(url), selectors, design)])


def _looks_like_feed(payload: bytes) -> bool:
    head = payload[:2048].lower()
    return b"<rss" in head or b"<feed" in head or (b"<?xml" in head and b"<html" not in head)


def parse_nccih_feed(
    payload: bytes, *, content_type: str | None = None, base_url: str | None = None
) -> ParseResult:
    """The NCCIH news RSS (address from public configs; format unverified) as news records."""
    result = parse_feed(payload, NEWS_SOURCE, content_type=content_type, base_url=base_url)
    for record in result.records:
        record.publication_types = ["News"]
    return result
