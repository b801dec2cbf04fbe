"""One <PubmedArticle> or <PubmedBookArticle> -> RecordData.

Children are read in one pass per element (indexed by tag, or dispatched on it): lxml's
find() costs about as much as walking a dozen children, and an article has ~50 fields.
"""

from __future__ import annotations

from typing import Any

from digest.facts import (
    normalize_doi,
    normalize_pmcid,
)
from digest.model import RecordData
from digest.sources.pubmed.fields import (
    comments_relations,
    first_doi,
    history_date,
    nct_ids_of,
    put_extra,
    read_abstract,
    read_article_ids,
    read_authors,
    read_comments_corrections,
    read_databanks,
    read_elocation_ids,
    read_keywords,
    read_mesh,
    read_pub_date,
    read_ymd,
    without_empty,
)
from digest.sources.pubmed.xmltext import (
    PUBMED_URL,
    Children,
    Element,
    all_children,
    all_texts,
    children_of,
    first_child,
    first_text,
    text_of,
)


def article_record(article: Element, source: str) -> RecordData | None:
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
    record.doi = first_doi(locations) or normalize_doi(article_ids.get("doi"))
    record.pmcid = normalize_pmcid(article_ids.get("pmc") or article_ids.get("pmcid"))
    record.url = PUBMED_URL.format(pmid=record.pmid)
    put_extra(record.extra, "other_ids", article_ids)
    put_extra(record.extra, "elocation_ids", read_elocation_ids(locations))
    return record


# The readers below walk each element's children once and dispatch on the tag: lxml's
# find() costs about as much as that whole walk, and an article needs some fifty fields.


def _read_citation(citation: Element, record: RecordData, locations: list[Element]) -> None:
    extra = record.extra
    put_extra(extra, "status", citation.get("Status"))
    put_extra(extra, "owner", citation.get("Owner"))
    keyword_lists: list[Element] = []
    for part in citation:
        tag = part.tag
        if tag == "PMID":
            record.pmid = text_of(part)
            put_extra(extra, "pmid_version", part.get("Version"))
        elif tag == "Article":
            _read_article(part, record, locations)
        elif tag == "MeshHeadingList":
            mesh = read_mesh(part)
            record.mesh_terms = [heading["descriptor"] for heading in mesh]
            put_extra(extra, "mesh", mesh)
        elif tag == "MedlineJournalInfo":
            _read_journal_info(part, extra)
        elif tag == "KeywordList":
            keyword_lists.append(part)
        elif tag == "CommentsCorrectionsList":
            entries = read_comments_corrections(part)
            put_extra(extra, "comments_corrections", entries)
            record.relations = comments_relations(entries)
        elif tag == "InvestigatorList":
            extra["investigators"] = len(part)
    put_extra(extra, "keywords", read_keywords(keyword_lists))


def _read_article(article: Element, record: RecordData, locations: list[Element]) -> None:
    extra = record.extra
    for part in article:
        tag = part.tag
        if tag == "Journal":
            _read_journal(part, record)
        elif tag == "ArticleTitle":
            record.title = text_of(part) or ""
        elif tag == "AuthorList":
            record.authors = read_authors(part)
        elif tag == "Abstract":
            record.abstract, sections, copyright_note = read_abstract(part)
            put_extra(extra, "abstract_sections", sections)
            put_extra(extra, "abstract_copyright", copyright_note)
        elif tag == "PublicationTypeList":
            record.publication_types = [text for text in map(text_of, part) if text]
        elif tag == "ELocationID":
            locations.append(part)
        elif tag == "Language":
            record.language = record.language or text_of(part)
        elif tag == "Pagination":
            put_extra(extra, "pages", text_of(next(part.iterchildren("MedlinePgn"), None)))
        elif tag == "ArticleDate":
            if part.get("DateType", "Electronic") == "Electronic" and "article_date" not in extra:
                put_extra(extra, "article_date", read_ymd(part))
        elif tag == "DataBankList":
            databanks = read_databanks(part)
            record.nct_ids = nct_ids_of(databanks)
            put_extra(extra, "databanks", databanks)
        elif tag == "VernacularTitle":
            put_extra(extra, "vernacular_title", text_of(part))


def _read_journal(journal: Element, record: RecordData) -> None:
    extra = record.extra
    abbreviation = None
    for part in journal:
        tag = part.tag
        if tag == "Title":
            record.journal = text_of(part)
        elif tag == "ISOAbbreviation":
            abbreviation = text_of(part)
        elif tag == "JournalIssue":
            for detail in part:
                if detail.tag == "PubDate":
                    record.published, date_extra = read_pub_date(detail)
                    extra.update(date_extra)  # only non-empty values
                elif detail.tag in ("Volume", "Issue"):
                    put_extra(extra, detail.tag.lower(), text_of(detail))
        elif tag == "ISSN":
            put_extra(extra, "issn", text_of(part))
    record.journal = record.journal or abbreviation
    put_extra(extra, "journal_abbreviation", abbreviation)


def _read_journal_info(info: Element, extra: dict[str, Any]) -> None:
    for part in info:
        if part.tag == "MedlineTA":
            extra.setdefault("journal_abbreviation", text_of(part))
        elif part.tag == "NlmUniqueID":
            put_extra(extra, "nlm_unique_id", text_of(part))


def _read_pubmed_data(data: Element, extra: dict[str, Any]) -> dict[str, str]:
    """Fill publication_status and entrez_date; return the ArticleIdList as {IdType: id}."""
    article_ids: dict[str, str] = {}
    for part in data:
        tag = part.tag
        if tag == "ArticleIdList":
            article_ids = read_article_ids(part)
        elif tag == "History":
            put_extra(extra, "entrez_date", history_date([part], "entrez"))
        elif tag == "PublicationStatus":
            put_extra(extra, "publication_status", text_of(part))
    return article_ids


def book_record(article: Element, source: str) -> RecordData | None:
    parts = children_of(article)
    document = children_of(first_child(parts, "BookDocument"))
    pmid_element = first_child(document, "PMID")
    pmid = text_of(pmid_element)
    if pmid_element is None or pmid is None:
        return None
    book = children_of(first_child(document, "Book"))
    history: dict[str, Any] = {}
    article_ids: dict[str, str] = {}
    book_data = first_child(parts, "PubmedBookData")
    if book_data is not None:  # same shape as PubmedData
        article_ids = _read_pubmed_data(book_data, history)
    article_ids.update(
        read_article_ids(first_child(document, "ArticleIdList"))
    )  # the document's win
    published, date_extra = read_pub_date(first_child(book, "PubDate"))
    abstract, sections, copyright_note = read_abstract(first_child(document, "Abstract"))
    book_title = first_text(book, "BookTitle")
    extra: dict[str, Any] = {
        "pmid_version": pmid_element.get("Version"),
        **date_extra,
        "book": _book_info(book, article_ids),
        "keywords": read_keywords(all_children(document, "KeywordList")),
        "other_ids": article_ids,
        "elocation_ids": read_elocation_ids(
            [*all_children(book, "ELocationID"), *all_children(document, "ELocationID")]
        ),
        "abstract_sections": sections,
        "abstract_copyright": copyright_note,
        **history,
    }
    doi = first_doi([*all_children(book, "ELocationID"), *all_children(document, "ELocationID")])
    return RecordData(
        source=source,
        source_id=pmid,
        pmid=pmid,
        doi=doi or normalize_doi(article_ids.get("doi")),
        pmcid=normalize_pmcid(article_ids.get("pmc")),
        title=first_text(document, "ArticleTitle") or book_title or "",
        abstract=abstract,
        journal=book_title,
        published=published,
        authors=_book_authors(
            all_children(document, "AuthorList"), all_children(book, "AuthorList")
        ),
        publication_types=all_texts(document, "PublicationType"),
        language=first_text(document, "Language"),
        url=PUBMED_URL.format(pmid=pmid),
        extra=without_empty(extra),
    )


def _book_authors(chapter_lists: list[Element], book_lists: list[Element]) -> list[str]:
    """Chapter authors if any, else the book's own authors; editors are not authors."""
    for author_list in (*chapter_lists, *book_lists):
        if author_list.get("Type", "authors") == "authors":
            return read_authors(author_list)
    return []


def _book_info(book: Children, article_ids: dict[str, str]) -> dict[str, Any]:
    editors = [
        name
        for author_list in all_children(book, "AuthorList")
        if author_list.get("Type") == "editors"
        for name in read_authors(author_list)
    ]
    publisher = children_of(first_child(book, "Publisher"))
    return without_empty(
        {
            "title": first_text(book, "BookTitle"),
            "publisher": first_text(publisher, "PublisherName"),
            "publisher_location": first_text(publisher, "PublisherLocation"),
            "editors": editors,
            "isbn": all_texts(book, "Isbn"),
            "medium": first_text(book, "Medium"),
            "edition": first_text(book, "Edition"),
            "volume": first_text(book, "Volume"),
            "accession": article_ids.get("bookaccession"),
        }
    )
