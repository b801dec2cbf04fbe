"""Readers of single EFetch fields (dates, authors, abstract, MeSH, CommentsCorrections,
databanks, article ids) shared by articles and books.
"""

from __future__ import annotations

from typing import Any

from digest.facts import (
    find_dois,
    normalize_doi,
    normalize_pmid,
    relation_kind_for,
)
from digest.model import Relation
from digest.sources.pubmed.xmltext import (
    Element,
    all_children,
    children_of,
    collapse_xml_space,
    first_text,
    initials_of,
    iso_date,
    iso_date_from_text,
    text_of,
)


def put_extra(extra: dict[str, Any], key: str, value: Any) -> None:
    """Set `extra[key]` unless the value is empty: extras hold only what the source said."""
    if value:
        extra[key] = value


def without_empty(values: dict[str, Any]) -> dict[str, Any]:
    """Drop None, '' and empty containers, as `put_extra` does."""
    return {key: value for key, value in values.items() if value}


def read_pub_date(pub_date: Element | None) -> tuple[str | None, dict[str, Any]]:
    """ISO date of a <PubDate>, plus the raw value (and MedlineDate or Season) for `extra`."""
    if pub_date is None:
        return None, {}
    year = month = day = None
    raw_parts: list[str] = []
    extra: dict[str, Any] = {}
    for part in pub_date:
        text = collapse_xml_space(part.text or "")
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


def read_ymd(element: Element) -> str | None:
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


def read_authors(author_list: Element | None) -> list[str]:
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
            last = text_of(part)
        elif tag == "ForeName":
            fore = text_of(part)
        elif tag == "Initials":
            initials = text_of(part)
            break
        elif tag == "CollectiveName":
            return text_of(part)
        else:
            break
    if not last:
        return None
    if initials is None and fore:
        initials = initials_of(fore)
    return f"{last} {initials}" if initials else last


def read_abstract(
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
            text = text_of(part)
            if text:
                label = part.get("Label")
                sections.append(
                    {"label": label, "nlm_category": part.get("NlmCategory"), "text": text}
                )
                # PRODUCT.md: sections kept as 'LABEL: text' paragraphs.
                paragraphs.append(f"{label}: {text}" if label else text)
        elif part.tag == "CopyrightInformation":
            copyright_note = text_of(part)
    return "\n\n".join(paragraphs) or None, sections, copyright_note


def read_mesh(heading_list: Element | None) -> list[dict[str, Any]]:
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
            name = collapse_xml_space(name)
        major = term.get("MajorTopicYN") == "Y"
        if term.tag == "DescriptorName":
            qualifiers = []
            headings.append(
                {"descriptor": name, "ui": term.get("UI"), "major": major, "qualifiers": qualifiers}
            )
        elif headings and name:
            qualifiers.append("*" + name if major else name)
    return [heading for heading in headings if heading["descriptor"]]


def read_keywords(keyword_lists: list[Element]) -> list[str]:
    """Keywords of every KeywordList (author, NLM...), each once, in order."""
    if not keyword_lists:
        return []
    found = (text for keyword_list in keyword_lists for text in map(text_of, keyword_list))
    return list(dict.fromkeys(text for text in found if text))


def comments_relations(entries: list[dict[str, str | None]]) -> list[Relation]:
    """Typed relations of PubMed's CommentsCorrections (also MEDLINE's RIN/EIN/... tags);
    entries of other types (Cites, ...) stay raw in extra only."""
    relations = []
    for entry in entries:
        kind = relation_kind_for(entry.get("ref_type"))
        if kind:
            source = entry.get("ref_source")
            dois = find_dois(source)
            relations.append(
                Relation(
                    kind,
                    pmid=normalize_pmid(entry.get("pmid")),
                    doi=dois[0] if dois else None,
                    note=source,
                )
            )
    return relations


def read_comments_corrections(entries: Element | None) -> list[dict[str, str | None]]:
    """Every CommentsCorrections entry, whatever its RefType (errata, retractions, ...)."""
    if entries is None:
        return []
    found: list[dict[str, str | None]] = []
    for entry in entries:
        parts = children_of(entry)
        found.append(
            {
                "ref_type": entry.get("RefType"),
                "ref_source": first_text(parts, "RefSource"),
                "pmid": first_text(parts, "PMID"),
                "note": first_text(parts, "Note"),
            }
        )
    return found


def read_databanks(databank_list: Element | None) -> list[dict[str, Any]]:
    if databank_list is None:
        return []
    banks: list[dict[str, Any]] = []
    for bank in databank_list:
        parts = children_of(bank)
        banks.append(
            {
                "name": first_text(parts, "DataBankName"),
                "accessions": [
                    text
                    for number_list in all_children(parts, "AccessionNumberList")
                    for text in map(text_of, number_list)
                    if text
                ],
            }
        )
    return banks


def nct_ids_of(databanks: list[dict[str, Any]]) -> list[str]:
    ids: list[str] = []
    for bank in databanks:
        if (bank["name"] or "").lower() != "clinicaltrials.gov":
            continue
        for accession in bank["accessions"]:
            nct = accession.upper()
            if nct not in ids:
                ids.append(nct)
    return ids


def read_article_ids(id_list: Element | None) -> dict[str, str]:
    """ArticleIdList as {IdType: value}; the first value of a type wins."""
    ids: dict[str, str] = {}
    if id_list is None:
        return ids
    for article_id in id_list:
        id_type = article_id.get("IdType", "unknown")
        if id_type not in ids:
            value = text_of(article_id)
            if value:
                ids[id_type] = value
    return ids


def read_elocation_ids(locations: list[Element]) -> list[dict[str, Any]]:
    return [
        {
            "type": location.get("EIdType"),
            "value": text_of(location),
            "valid": location.get("ValidYN", "Y") != "N",
        }
        for location in locations
    ]


def first_doi(locations: list[Element]) -> str | None:
    """The first ELocationID of type doi that is not marked invalid."""
    for location in locations:
        if location.get("EIdType") == "doi" and location.get("ValidYN", "Y") != "N":
            doi = normalize_doi(location.text)
            if doi:
                return doi
    return None


def history_date(histories: list[Element], status: str) -> str | None:
    for history in histories:
        for event in history:
            if event.get("PubStatus") == status:
                return read_ymd(event)
    return None
