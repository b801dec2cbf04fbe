"""NCBI E-utilities payloads: EFetch `PubmedArticleSet` XML and ESearch XML or JSON.

Pure: bytes in, data out. The XML parser never expands entities, never loads a DTD
and never touches the network, so a hostile or broken payload cannot reach outside or
blow up memory. The root is checked before anything else: an HTML page or an
E-utilities <ERROR> body is an error, never "0 records". EFetch pages (a few MB) are
parsed in one go; bigger payloads are streamed article by article (see parse_efetch).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any, TypeAlias

from lxml import etree

from digest.errors import ParseError
from digest.model import ParseResult, RecordData
from digest.parsers.text import load_json

# lxml ships without type stubs; elements are typed loosely on purpose.
Element: TypeAlias = Any

PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
# Larger EFetch payloads are streamed (see parse_efetch); the parsed tree of a payload
# takes roughly ten times its size in memory.
STREAM_ABOVE_BYTES = 8 * 1024 * 1024
ROOT_TAG = "PubmedArticleSet"

_SAFE_XML: dict[str, Any] = {"resolve_entities": False, "no_network": True, "load_dtd": False}
_TOP_LEVEL_TAGS = ("PubmedArticle", "PubmedBookArticle", "DeleteCitation", "ERROR")
# Roots NCBI uses to wrap an <ERROR>, besides a bare <ERROR> root.
_ERROR_WRAPPERS = ("ERROR", "eFetchResult", "eSummaryResult")
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
_DOI_PREFIX_RE = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)


# --------------------------------------------------------------------------- small helpers


def collapse_whitespace(text: str) -> str:
    """Runs of XML white space (space, tab, CR, LF) become one space; none at the ends."""
    # Most PubMed text is already clean; the `in` checks are far cheaper than a regex.
    if "  " in text or "\n" in text or "\t" in text or "\r" in text:
        return _XML_SPACE_RUN.sub(" ", text).strip(_XML_SPACE)
    return text.strip(_XML_SPACE)


def normalize_doi(raw: str | None) -> str | None:
    """Lower-case DOI without a resolver prefix, or None when nothing is left."""
    if not raw:
        return None
    doi = _DOI_PREFIX_RE.sub("", raw.strip()).strip().lower()
    return doi or None


def normalize_pmcid(raw: str | None) -> str | None:
    """'PMC123' from 'PMC123', 'pmc123' or '123'."""
    if not raw:
        return None
    value = raw.strip().upper()
    if value.isdigit():
        value = "PMC" + value
    return value if value.startswith("PMC") and value[3:].isdigit() else None


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


def _text(element: Element | None) -> str | None:
    """Collapsed plain text of an element (inline markup flattened), None if empty."""
    if element is None:
        return None
    if len(element):
        return inline_text(element) or None
    raw: str | None = element.text
    if not raw:
        return None
    # collapse_whitespace() inlined: this runs some 45 times per article.
    if "  " in raw or "\n" in raw or "\t" in raw or "\r" in raw:
        raw = _XML_SPACE_RUN.sub(" ", raw)
    return raw.strip(_XML_SPACE) or None


def inline_text(element: Element) -> str:
    """Plain text of mixed content: <i>, <sub>... flattened, MathML glued, whitespace collapsed."""
    if not len(element):
        raw: str | None = element.text
        return collapse_whitespace(raw) if raw else ""
    parts: list[str] = []
    _collect_text(element, parts)
    return collapse_whitespace("".join(parts))


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


# --------------------------------------------------------------------------- efetch


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
    root = etree.fromstring(payload, etree.XMLParser(**_SAFE_XML))
    for element in root:
        if element.tag in _TOP_LEVEL_TAGS:
            _take_top_level(element, source, result)


def _parse_streaming(payload: bytes, source: str, result: ParseResult) -> None:
    context = etree.iterparse(BytesIO(payload), events=("end",), tag=_TOP_LEVEL_TAGS, **_SAFE_XML)
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
        _append_record(result, _article_record(element, source))
    elif tag == "PubmedBookArticle":
        _append_record(result, _book_record(element, source))
    elif tag == "DeleteCitation":
        result.deleted_ids.extend(pmid.text.strip() for pmid in element.iter("PMID") if pmid.text)
    else:
        # An <ERROR> directly under the root: NCBI's way of failing with HTTP 200.
        raise ParseError(f"E-utilities error: {_text(element) or 'no message'}")


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


def peek_root_tag(payload: bytes) -> str:
    """Name of the root element, read from the first bytes only.

    Raises ParseError when no root element can be read (empty, binary or broken input).
    """
    if not payload.strip():
        raise ParseError("empty payload")
    parser = etree.XMLPullParser(events=("start",), **_SAFE_XML)
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


def _find_error_message(payload: bytes) -> str | None:
    """The text of an <ERROR> at the root or just below it, if the payload parses."""
    try:
        root = etree.fromstring(payload, etree.XMLParser(**_SAFE_XML))
    except etree.XMLSyntaxError:
        return None
    if root.tag == "ERROR":
        return _text(root) or "no message"
    error = root.find("ERROR")
    return (_text(error) or "no message") if error is not None else None


# --------------------------------------------------------------------------- articles
# Children are read in one pass per element (indexed by tag, or dispatched on it): lxml's
# find() costs about as much as walking a dozen children, and an article has ~50 fields.

Children: TypeAlias = dict[Any, list[Element]]


def _children(element: Element | None) -> Children:
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


def _first(index: Children, tag: str) -> Element | None:
    bucket = index.get(tag)
    return bucket[0] if bucket else None


def _all(index: Children, tag: str) -> list[Element]:
    return index.get(tag) or []


def _first_text(index: Children, tag: str) -> str | None:
    bucket = index.get(tag)
    return _text(bucket[0]) if bucket else None


def _all_texts(index: Children, tag: str) -> list[str]:
    return [text for text in map(_text, index.get(tag, ())) if text]


def _article_record(article: Element, source: str) -> RecordData | None:
    """A PubmedArticle: MedlineCitation (what was published) + PubmedData (PubMed's ids)."""
    record = RecordData(source=source, source_id="")
    locations: list[Element] = []
    article_ids: dict[str, str] = {}
    for part in article:
        if part.tag == "MedlineCitation":
            _read_citation(part, record, locations)
        elif part.tag == "PubmedData":
            article_ids = _read_pubmed_data(part, record.extra)
    if not record.pmid:
        return None
    record.source_id = record.pmid
    record.doi = _first_doi(locations) or normalize_doi(article_ids.get("doi"))
    record.pmcid = normalize_pmcid(article_ids.get("pmc") or article_ids.get("pmcid"))
    record.url = PUBMED_URL.format(pmid=record.pmid)
    _put(record.extra, "other_ids", article_ids)
    _put(record.extra, "elocation_ids", _elocation_ids(locations))
    return record


# The readers below walk each element's children once and dispatch on the tag: lxml's
# find() costs about as much as that whole walk, and an article needs some fifty fields.


def _read_citation(citation: Element, record: RecordData, locations: list[Element]) -> None:
    extra = record.extra
    _put(extra, "status", citation.get("Status"))
    _put(extra, "owner", citation.get("Owner"))
    keyword_lists: list[Element] = []
    for part in citation:
        tag = part.tag
        if tag == "PMID":
            record.pmid = _text(part)
            _put(extra, "pmid_version", part.get("Version"))
        elif tag == "Article":
            _read_article(part, record, locations)
        elif tag == "MeshHeadingList":
            mesh = _mesh(part)
            record.mesh_terms = [heading["descriptor"] for heading in mesh]
            _put(extra, "mesh", mesh)
        elif tag == "MedlineJournalInfo":
            _read_journal_info(part, extra)
        elif tag == "KeywordList":
            keyword_lists.append(part)
        elif tag == "CommentsCorrectionsList":
            _put(extra, "comments_corrections", _comments_corrections(part))
        elif tag == "InvestigatorList":
            extra["investigators"] = len(part)
    _put(extra, "keywords", _keywords(keyword_lists))


def _read_article(article: Element, record: RecordData, locations: list[Element]) -> None:
    extra = record.extra
    for part in article:
        tag = part.tag
        if tag == "Journal":
            _read_journal(part, record)
        elif tag == "ArticleTitle":
            record.title = _text(part) or ""
        elif tag == "AuthorList":
            record.authors = _authors(part)
        elif tag == "Abstract":
            record.abstract, sections, copyright_note = _abstract(part)
            _put(extra, "abstract_sections", sections)
            _put(extra, "abstract_copyright", copyright_note)
        elif tag == "PublicationTypeList":
            record.publication_types = [text for text in map(_text, part) if text]
        elif tag == "ELocationID":
            locations.append(part)
        elif tag == "Language":
            record.language = record.language or _text(part)
        elif tag == "Pagination":
            _put(extra, "pages", _text(next(part.iterchildren("MedlinePgn"), None)))
        elif tag == "ArticleDate":
            if part.get("DateType", "Electronic") == "Electronic" and "article_date" not in extra:
                _put(extra, "article_date", _ymd(part))
        elif tag == "DataBankList":
            databanks = _databanks(part)
            record.nct_ids = _nct_ids(databanks)
            _put(extra, "databanks", databanks)
        elif tag == "VernacularTitle":
            _put(extra, "vernacular_title", _text(part))


def _read_journal(journal: Element, record: RecordData) -> None:
    extra = record.extra
    abbreviation = None
    for part in journal:
        tag = part.tag
        if tag == "Title":
            record.journal = _text(part)
        elif tag == "ISOAbbreviation":
            abbreviation = _text(part)
        elif tag == "JournalIssue":
            for detail in part:
                if detail.tag == "PubDate":
                    record.published, date_extra = _pub_date(detail)
                    extra.update(date_extra)  # only non-empty values
                elif detail.tag in ("Volume", "Issue"):
                    _put(extra, detail.tag.lower(), _text(detail))
        elif tag == "ISSN":
            _put(extra, "issn", _text(part))
    record.journal = record.journal or abbreviation
    _put(extra, "journal_abbreviation", abbreviation)


def _read_journal_info(info: Element, extra: dict[str, Any]) -> None:
    for part in info:
        if part.tag == "MedlineTA":
            extra.setdefault("journal_abbreviation", _text(part))
        elif part.tag == "NlmUniqueID":
            _put(extra, "nlm_unique_id", _text(part))


def _read_pubmed_data(data: Element, extra: dict[str, Any]) -> dict[str, str]:
    """Fill publication_status and entrez_date; return the ArticleIdList as {IdType: id}."""
    article_ids: dict[str, str] = {}
    for part in data:
        tag = part.tag
        if tag == "ArticleIdList":
            article_ids = _article_ids(part)
        elif tag == "History":
            _put(extra, "entrez_date", _history_date([part], "entrez"))
        elif tag == "PublicationStatus":
            _put(extra, "publication_status", _text(part))
    return article_ids


def _put(extra: dict[str, Any], key: str, value: Any) -> None:
    """Set `extra[key]` unless the value is empty: extras hold only what the source said."""
    if value:
        extra[key] = value


def _book_record(article: Element, source: str) -> RecordData | None:
    parts = _children(article)
    document = _children(_first(parts, "BookDocument"))
    pmid_element = _first(document, "PMID")
    pmid = _text(pmid_element)
    if pmid_element is None or pmid is None:
        return None
    book = _children(_first(document, "Book"))
    history: dict[str, Any] = {}
    article_ids: dict[str, str] = {}
    book_data = _first(parts, "PubmedBookData")
    if book_data is not None:  # same shape as PubmedData
        article_ids = _read_pubmed_data(book_data, history)
    article_ids.update(_article_ids(_first(document, "ArticleIdList")))  # the document's win
    published, date_extra = _pub_date(_first(book, "PubDate"))
    abstract, sections, copyright_note = _abstract(_first(document, "Abstract"))
    book_title = _first_text(book, "BookTitle")
    extra: dict[str, Any] = {
        "pmid_version": pmid_element.get("Version"),
        **date_extra,
        "book": _book_info(book, article_ids),
        "keywords": _keywords(_all(document, "KeywordList")),
        "other_ids": article_ids,
        "elocation_ids": _elocation_ids(
            [*_all(book, "ELocationID"), *_all(document, "ELocationID")]
        ),
        "abstract_sections": sections,
        "abstract_copyright": copyright_note,
        **history,
    }
    doi = _first_doi([*_all(book, "ELocationID"), *_all(document, "ELocationID")])
    return RecordData(
        source=source,
        source_id=pmid,
        pmid=pmid,
        doi=doi or normalize_doi(article_ids.get("doi")),
        pmcid=normalize_pmcid(article_ids.get("pmc")),
        title=_first_text(document, "ArticleTitle") or book_title or "",
        abstract=abstract,
        journal=book_title,
        published=published,
        authors=_book_authors(_all(document, "AuthorList"), _all(book, "AuthorList")),
        publication_types=_all_texts(document, "PublicationType"),
        language=_first_text(document, "Language"),
        url=PUBMED_URL.format(pmid=pmid),
        extra=_without_empty(extra),
    )


def _book_authors(chapter_lists: list[Element], book_lists: list[Element]) -> list[str]:
    """Chapter authors if any, else the book's own authors; editors are not authors."""
    for author_list in (*chapter_lists, *book_lists):
        if author_list.get("Type", "authors") == "authors":
            return _authors(author_list)
    return []


def _book_info(book: Children, article_ids: dict[str, str]) -> dict[str, Any]:
    editors = [
        name
        for author_list in _all(book, "AuthorList")
        if author_list.get("Type") == "editors"
        for name in _authors(author_list)
    ]
    publisher = _children(_first(book, "Publisher"))
    return _without_empty(
        {
            "title": _first_text(book, "BookTitle"),
            "publisher": _first_text(publisher, "PublisherName"),
            "publisher_location": _first_text(publisher, "PublisherLocation"),
            "editors": editors,
            "isbn": _all_texts(book, "Isbn"),
            "medium": _first_text(book, "Medium"),
            "edition": _first_text(book, "Edition"),
            "volume": _first_text(book, "Volume"),
            "accession": article_ids.get("bookaccession"),
        }
    )


# --------------------------------------------------------------------------- fields


def _without_empty(values: dict[str, Any]) -> dict[str, Any]:
    """Drop None, '' and empty containers, as `_put` does."""
    return {key: value for key, value in values.items() if value}


def _pub_date(pub_date: Element | None) -> tuple[str | None, dict[str, Any]]:
    """ISO date of a <PubDate>, plus the raw value (and MedlineDate or Season) for `extra`."""
    if pub_date is None:
        return None, {}
    year = month = day = None
    raw_parts: list[str] = []
    extra: dict[str, Any] = {}
    for part in pub_date:
        text = collapse_whitespace(part.text or "")
        raw_parts.append(text)
        tag = part.tag
        if tag == "Year":
            year = text
        elif tag == "Month":
            month = text
        elif tag == "Day":
            day = text
        elif tag == "MedlineDate" and text:
            extra["medline_date"] = text
        elif tag == "Season" and text:
            extra["season"] = text
    extra["pub_date_raw"] = " ".join(raw_parts)
    if "medline_date" in extra:
        return iso_date_from_text(extra["medline_date"]), extra
    return iso_date(year, month, day), extra


def _ymd(element: Element) -> str | None:
    """ISO date of a (Year, Month?, Day?, Hour?, ...) element; stops once it has the day."""
    year = month = None
    for part in element:
        tag = part.tag
        if tag == "Year":
            year = part.text
        elif tag == "Month":
            month = part.text
        elif tag == "Day":
            return iso_date(year, month, part.text)
    return iso_date(year, month)


def _authors(author_list: Element | None) -> list[str]:
    """'Family Initials' per valid author, collective names as written."""
    if author_list is None:
        return []
    names: list[str] = []
    for author in author_list:
        if author.get("ValidYN") != "N":
            name = _author_name(author)
            if name:
                names.append(name)
    return names


def _author_name(author: Element) -> str | None:
    # DTD: ((LastName, ForeName?, Initials?, Suffix?) | CollectiveName), Identifier*,
    # AffiliationInfo*: stop at the first other child, affiliations are never touched.
    last = fore = initials = None
    for part in author:
        tag = part.tag
        if tag == "LastName":
            last = _text(part)
        elif tag == "ForeName":
            fore = _text(part)
        elif tag == "Initials":
            initials = _text(part)
            break
        elif tag == "CollectiveName":
            return _text(part)
        else:
            break
    if not last:
        return None
    if initials is None and fore:
        initials = initials_of(fore)
    return f"{last} {initials}" if initials else last


def _abstract(
    abstract: Element | None,
) -> tuple[str | None, list[dict[str, str | None]], str | None]:
    """(plain abstract, its sections, its copyright line) of an <Abstract>."""
    if abstract is None:
        return None, [], None
    sections: list[dict[str, str | None]] = []
    paragraphs: list[str] = []
    copyright_note = None
    for part in abstract:
        if part.tag == "AbstractText":
            text = _text(part)
            if text:
                label = part.get("Label")
                sections.append(
                    {"label": label, "nlm_category": part.get("NlmCategory"), "text": text}
                )
                # PRODUCT.md: sections kept as 'LABEL: text' paragraphs.
                paragraphs.append(f"{label}: {text}" if label else text)
        elif part.tag == "CopyrightInformation":
            copyright_note = _text(part)
    return "\n\n".join(paragraphs) or None, sections, copyright_note


def _mesh(heading_list: Element | None) -> list[dict[str, Any]]:
    """MeshHeading as {descriptor, ui, major, qualifiers}; a qualifier is its name with a
    leading '*' when it is a major topic (MEDLINE's own MH notation, e.g. '*drug therapy')."""
    if heading_list is None:
        return []
    headings: list[dict[str, Any]] = []
    qualifiers: list[str] = []
    # The hottest loop of the parser (some 15 headings an article), so one C-level walk
    # over both tags; a QualifierName belongs to the DescriptorName before it.
    for term in heading_list.iter("DescriptorName", "QualifierName"):
        name: str = term.text or ""
        if "\n" in name or "  " in name or "\t" in name:  # only in pretty-printed files
            name = collapse_whitespace(name)
        major = term.get("MajorTopicYN") == "Y"
        if term.tag == "DescriptorName":
            qualifiers = []
            headings.append(
                {"descriptor": name, "ui": term.get("UI"), "major": major, "qualifiers": qualifiers}
            )
        elif headings and name:
            qualifiers.append("*" + name if major else name)
    return [heading for heading in headings if heading["descriptor"]]


def _keywords(keyword_lists: list[Element]) -> list[str]:
    """Keywords of every KeywordList (author, NLM...), each once, in order."""
    if not keyword_lists:
        return []
    found = (text for keyword_list in keyword_lists for text in map(_text, keyword_list))
    return list(dict.fromkeys(text for text in found if text))


def _comments_corrections(entries: Element | None) -> list[dict[str, str | None]]:
    """Every CommentsCorrections entry, whatever its RefType (errata, retractions, ...)."""
    if entries is None:
        return []
    found: list[dict[str, str | None]] = []
    for entry in entries:
        parts = _children(entry)
        found.append(
            {
                "ref_type": entry.get("RefType"),
                "ref_source": _first_text(parts, "RefSource"),
                "pmid": _first_text(parts, "PMID"),
                "note": _first_text(parts, "Note"),
            }
        )
    return found


def _databanks(databank_list: Element | None) -> list[dict[str, Any]]:
    if databank_list is None:
        return []
    banks: list[dict[str, Any]] = []
    for bank in databank_list:
        parts = _children(bank)
        banks.append(
            {
                "name": _first_text(parts, "DataBankName"),
                "accessions": [
                    text
                    for number_list in _all(parts, "AccessionNumberList")
                    for text in map(_text, number_list)
                    if text
                ],
            }
        )
    return banks


def _nct_ids(databanks: list[dict[str, Any]]) -> list[str]:
    ids: list[str] = []
    for bank in databanks:
        if (bank["name"] or "").lower() != "clinicaltrials.gov":
            continue
        for accession in bank["accessions"]:
            nct = accession.upper()
            if nct not in ids:
                ids.append(nct)
    return ids


def _article_ids(id_list: Element | None) -> dict[str, str]:
    """ArticleIdList as {IdType: value}; the first value of a type wins."""
    ids: dict[str, str] = {}
    if id_list is None:
        return ids
    for article_id in id_list:
        id_type = article_id.get("IdType", "unknown")
        if id_type not in ids:
            value = _text(article_id)
            if value:
                ids[id_type] = value
    return ids


def _elocation_ids(locations: list[Element]) -> list[dict[str, Any]]:
    return [
        {
            "type": location.get("EIdType"),
            "value": _text(location),
            "valid": location.get("ValidYN", "Y") != "N",
        }
        for location in locations
    ]


def _first_doi(locations: list[Element]) -> str | None:
    """The first ELocationID of type doi that is not marked invalid."""
    for location in locations:
        if location.get("EIdType") == "doi" and location.get("ValidYN", "Y") != "N":
            doi = normalize_doi(location.text)
            if doi:
                return doi
    return None


def _history_date(histories: list[Element], status: str) -> str | None:
    for history in histories:
        for event in history:
            if event.get("PubStatus") == status:
                return _ymd(event)
    return None


# --------------------------------------------------------------------------- esearch


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
_ESEARCH_JSON_NOTICES = {
    "phrasesnotfound": "PhraseNotFound",
    "fieldsnotfound": "FieldNotFound",
    "phrasesignored": "PhraseIgnored",
    "quotedphrasesnotfound": "QuotedPhraseNotFound",
    "outputmessages": "OutputMessage",
}


def parse_esearch(payload: bytes) -> ESearchResult:
    """An ESearch answer, XML (`eSearchResult`) or JSON (`retmode=json`)."""
    if payload.lstrip()[:1] in (b"{", b"["):
        try:
            return _esearch_from_json(payload)
        except (TypeError, AttributeError, ValueError) as exc:  # a field of the wrong type
            raise ParseError(f"unexpected esearchresult JSON ({type(exc).__name__})") from exc
    return _esearch_from_xml(payload)


def _esearch_from_xml(payload: bytes) -> ESearchResult:
    root_tag = peek_root_tag(payload)
    if root_tag not in ("eSearchResult", "ERROR"):
        raise ParseError(f"expected <eSearchResult>, got <{root_tag}>")
    try:
        root = etree.fromstring(payload, etree.XMLParser(**_SAFE_XML))
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"truncated or malformed XML: {exc}") from exc
    error = root if root_tag == "ERROR" else root.find("ERROR")
    if error is not None:
        raise ParseError(f"E-utilities error: {_text(error) or 'no message'}")
    count = _int_or_none(root.findtext("Count"))
    if count is None:
        raise ParseError("eSearchResult without a <Count>")
    result = ESearchResult(
        count=count,
        retmax=_int_or_none(root.findtext("RetMax")),
        retstart=_int_or_none(root.findtext("RetStart")),
        ids=[text for text in map(_text, root.iterfind("IdList/Id")) if text],
        webenv=_text(root.find("WebEnv")),
        query_key=_text(root.find("QueryKey")),
        query_translation=_text(root.find("QueryTranslation")),
    )
    for notice in (*root.iterfind("ErrorList/*"), *root.iterfind("WarningList/*")):
        _add_notice(result, notice.tag, _text(notice))
    return result


def _esearch_from_json(payload: bytes) -> ESearchResult:
    try:
        document = load_json(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"truncated or malformed JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ParseError("expected a JSON object with 'esearchresult'")
    if "error" in document:
        raise ParseError(f"E-utilities error: {document['error']}")
    body = document.get("esearchresult")
    if not isinstance(body, dict):
        raise ParseError("expected a JSON object with 'esearchresult'")
    error = body.get("ERROR") or body.get("error")
    if error:
        raise ParseError(f"E-utilities error: {error}")
    count = _int_or_none(body.get("count"))
    if count is None:
        raise ParseError("esearchresult without a count")
    result = ESearchResult(
        count=count,
        retmax=_int_or_none(body.get("retmax")),
        retstart=_int_or_none(body.get("retstart")),
        ids=[str(pmid) for pmid in body.get("idlist", [])],
        webenv=body.get("webenv") or None,
        query_key=str(body["querykey"]) if body.get("querykey") else None,
        query_translation=body.get("querytranslation") or None,
    )
    for list_name in ("errorlist", "warninglist"):
        notices = body.get(list_name) or {}
        for key, tag in _ESEARCH_JSON_NOTICES.items():
            for value in notices.get(key) or []:
                _add_notice(result, tag, str(value))
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
