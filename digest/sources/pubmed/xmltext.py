"""Small pure helpers shared by the E-utilities parsers: safe lxml options, text of
elements (inline markup and MathML flattened), dates and names as PubMed writes them.
"""

from __future__ import annotations

import re
from typing import Any, TypeAlias

from lxml import etree

from digest.errors import ParseError

# lxml ships without type stubs; elements are typed loosely on purpose.
Element: TypeAlias = Any


PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{pmid}/"


SAFE_XML: dict[str, Any] = {"resolve_entities": False, "no_network": True, "load_dtd": False}


_MATHML_PREFIX = "{http://www.w3.org/1998/Math/MathML}"


_PEEK_CHUNK = 2048


_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}


_YEAR_RE = re.compile(r"\b(1[89]\d\d|2\d\d\d)\b")


_MONTH_AFTER_YEAR_RE = re.compile(
    r"\b(?:1[89]\d\d|2\d\d\d)\s+([A-Za-z]{3})[A-Za-z]*\.?(?:\s+(\d{1,2})(?!\d))?"
)


_XML_SPACE = " \t\n\r"


_XML_SPACE_RUN = re.compile(r"[ \t\n\r]+")


def collapse_xml_space(text: str) -> str:
    """Runs of XML white space (space, tab, CR, LF) become one space; none at the ends."""
    # Most PubMed text is already clean; the `in` checks are far cheaper than a regex.
    if "  " in text or "\n" in text or "\t" in text or "\r" in text:
        return _XML_SPACE_RUN.sub(" ", text).strip(_XML_SPACE)
    return text.strip(_XML_SPACE)


def month_number(raw: str | None) -> int | None:
    """1-12 from 'Jan', 'January', '01' or '1'; None when it is not a month."""
    if not raw:
        return None
    value = raw.strip()
    if value.isdigit():
        number = int(value)
        return number if 1 <= number <= 12 else None
    return _MONTHS.get(value[:3].lower())


def iso_date(year: str | None, month: str | None = None, day: str | None = None) -> str | None:
    """'YYYY', 'YYYY-MM' or 'YYYY-MM-DD', as precise as the parts allow."""
    if not year or not year.strip().isdigit():
        return None
    text = year.strip()
    number = month_number(month)
    if number is None:
        return text
    text += f"-{number:02d}"
    if day and day.strip().isdigit() and 1 <= int(day) <= 31:
        text += f"-{int(day):02d}"
    return text


def iso_date_from_text(raw: str) -> str | None:
    """ISO date of the first date in free text: '1998 Dec-1999 Jan' -> '1998-12',
    '2006 Mar 1' -> '2006-03-01', '2006 Spring' -> '2006' (MedlineDate, MEDLINE's DP)."""
    year = _YEAR_RE.search(raw)
    if year is None:
        return None
    rest = _MONTH_AFTER_YEAR_RE.match(raw, year.start())
    if rest is None:
        return year.group(1)
    return iso_date(year.group(1), rest.group(1), rest.group(2))


def initials_of(fore_name: str) -> str:
    """'JA' from 'James Albert' or 'J-A'; the rule PubMed applies when Initials is absent."""
    return "".join(word[0] for word in re.split(r"[\s\-.]+", fore_name) if word).upper()


def text_of(element: Element | None) -> str | None:
    """Collapsed plain text of an element (inline markup flattened), None if empty."""
    if element is None:
        return None
    if len(element):
        return inline_text(element) or None
    raw: str | None = element.text
    if not raw:
        return None
    # collapse_xml_space() inlined: this runs some 45 times per article.
    if "  " in raw or "\n" in raw or "\t" in raw or "\r" in raw:
        raw = _XML_SPACE_RUN.sub(" ", raw)
    return raw.strip(_XML_SPACE) or None


def inline_text(element: Element) -> str:
    """Plain text of mixed content: <i>, <sub>... flattened, MathML glued, whitespace collapsed."""
    if not len(element):
        raw: str | None = element.text
        return collapse_xml_space(raw) if raw else ""
    parts: list[str] = []
    _collect_text(element, parts)
    return collapse_xml_space("".join(parts))


def _collect_text(element: Element, parts: list[str]) -> None:
    """Text and tails in document order, skipping comments, PIs and unexpanded entities."""
    if element.text:
        parts.append(element.text)
    for child in element:
        if isinstance(child.tag, str):
            if child.tag.startswith(_MATHML_PREFIX):
                # MathML is laid out with indentation; the glyphs alone read best.
                glyphs: list[str] = []
                _collect_text(child, glyphs)
                parts.append(" " + "".join(glyph.strip() for glyph in glyphs) + " ")
            else:
                _collect_text(child, parts)
        if child.tail:
            parts.append(child.tail)


def peek_root_tag(payload: bytes) -> str:
    """Name of the root element, read from the first bytes only.

    Raises ParseError when no root element can be read (empty, binary or broken input).
    """
    if not payload.strip():
        raise ParseError("empty payload")
    parser = etree.XMLPullParser(events=("start",), **SAFE_XML)
    error: etree.XMLSyntaxError | None = None
    for offset in range(0, len(payload), _PEEK_CHUNK):
        try:
            parser.feed(payload[offset : offset + _PEEK_CHUNK])
        except etree.XMLSyntaxError as exc:
            error = exc
        for _event, element in parser.read_events():
            return str(etree.QName(element).localname)
        if error is not None:
            break
    raise ParseError(f"truncated or malformed XML: {error or 'no root element'}")


Children: TypeAlias = dict[Any, list[Element]]


def children_of(element: Element | None) -> Children:
    """Direct children of `element` grouped by tag, in document order."""
    index: Children = {}
    if element is None:
        return index
    for child in element:
        bucket = index.get(child.tag)
        if bucket is None:
            index[child.tag] = [child]
        else:
            bucket.append(child)
    return index


def first_child(index: Children, tag: str) -> Element | None:
    bucket = index.get(tag)
    return bucket[0] if bucket else None


def all_children(index: Children, tag: str) -> list[Element]:
    return index.get(tag) or []


def first_text(index: Children, tag: str) -> str | None:
    bucket = index.get(tag)
    return text_of(bucket[0]) if bucket else None


def all_texts(index: Children, tag: str) -> list[str]:
    return [text for text in map(text_of, index.get(tag, ())) if text]
