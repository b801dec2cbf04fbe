"""PubMed MEDLINE text (EFetch `rettype=medline`, PubMed's "Save as PubMed", `.nbib`).

Pure: bytes in, records out. The format is one `TAG - value` line per field (the tag
left-justified in four columns), continuation lines indented by six spaces, and a blank
line between records. Records come out in the same shape as `digest.sources.pubmed.parse`'s,
so an imported reference and a fetched article compare field by field.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

from digest.errors import ParseError
from digest.facts import normalize_doi, normalize_pmcid
from digest.model import ParseResult, RecordData
from digest.sources.pubmed.fields import comments_relations
from digest.sources.pubmed.xmltext import (
    PUBMED_URL,
    collapse_xml_space,
    initials_of,
    iso_date_from_text,
)

Fields = list[tuple[str, str]]

_TAG_LINE = re.compile(r"^([A-Z][A-Z0-9]{0,3}) *- ?(.*)$")
_CONTINUATION = "      "
# Marks a blank continuation line inside a value: a paragraph break (Biopython #4557).
_PARAGRAPH = "\x00"
_ID_SUFFIX = re.compile(r"^(.*?)\s*\[([A-Za-z-]+)\]\s*$")
_DATE_TIME = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_PMID_IN_TEXT = re.compile(r"PMID:\s*(\d+)")

# MEDLINE tags of comments and corrections -> the XML's CommentsCorrections RefType.
_COMMENT_TAGS = {
    "CON": "CommentOn",
    "CIN": "CommentIn",
    "EIN": "ErratumIn",
    "EFR": "ErratumFor",
    "CRI": "CorrectedandRepublishedIn",
    "CRF": "CorrectedandRepublishedFrom",
    "PRIN": "PartialRetractionIn",
    "PROF": "PartialRetractionOf",
    "RPI": "RepublishedIn",
    "RPF": "RepublishedFrom",
    "RIN": "RetractionIn",
    "ROF": "RetractionOf",
    "RRI": "RetractedandRepublishedIn",
    "RRF": "RetractedandRepublishedFrom",
    "UIN": "UpdateIn",
    "UOF": "UpdateOf",
    "SPIN": "SummaryForPatientsIn",
    "ORI": "OriginalReportIn",
    "ECI": "ExpressionOfConcernIn",
    "ECF": "ExpressionOfConcernFor",
}


def parse_medline(payload: bytes, source: str = "import") -> ParseResult:
    """Records from MEDLINE-format text; a record that cannot be read is skipped with a warning."""
    result = ParseResult()
    text = _decode(payload, result)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    if not _TAG_LINE.match(first_line):
        raise ParseError(f"not MEDLINE text: first line is {first_line[:60]!r}")
    for number, fields in enumerate(_split_records(text.splitlines(), result), start=1):
        record = _record(fields, source)
        if record is None:
            result.warnings.append(f"record {number}: no PMID, title or DOI; skipped")
        else:
            result.records.append(record)
    return result


def _decode(payload: bytes, result: ParseResult) -> str:
    if not payload.strip():
        raise ParseError("empty payload")
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError:
        # PubMed writes UTF-8; older exports from reference managers may be Latin-1.
        result.warnings.append("payload is not UTF-8; read as Latin-1")
        return payload.decode("latin-1")


def _split_records(lines: list[str], result: ParseResult) -> Iterator[Fields]:
    """(tag, value) pairs per record, continuation lines joined to their value."""
    fields: Fields = []
    for line in lines:
        if not line.strip() and not line.startswith(_CONTINUATION):
            if fields:
                yield fields
                fields = []
            continue
        if line.startswith(_CONTINUATION) and fields:
            tag, value = fields[-1]
            piece = line.strip()
            fields[-1] = (tag, f"{value} {piece}" if piece else f"{value}{_PARAGRAPH}")
            continue
        match = _TAG_LINE.match(line.rstrip())
        if match is None:
            result.warnings.append(f"ignored a line that is not a MEDLINE field: {line[:60]!r}")
            continue
        if match.group(1) == "PMID" and any(tag == "PMID" for tag, _value in fields):
            yield fields  # a new record without the blank line between them
            fields = []
        fields.append((match.group(1), match.group(2).strip()))
    if fields:
        yield fields


def _values(fields: Fields, tag: str) -> list[str]:
    return [_clean(value) for field_tag, value in fields if field_tag == tag and value.strip()]


def _first(fields: Fields, tag: str) -> str | None:
    values = _values(fields, tag)
    return values[0] if values else None


def _clean(value: str) -> str:
    return collapse_xml_space(value.replace(_PARAGRAPH, " "))


def _record(fields: Fields, source: str) -> RecordData | None:
    pmid = _first(fields, "PMID")
    ids = _tagged_ids([*_values(fields, "AID"), *_values(fields, "LID")])
    doi = normalize_doi(ids.get("doi"))
    title = _first(fields, "TI") or _first(fields, "BTI") or ""
    if not (pmid or doi or title):
        return None
    databanks = _databanks(_values(fields, "SI"))
    mesh = [_mesh_heading(value) for value in _values(fields, "MH")]
    published_raw = _first(fields, "DP")
    extra: dict[str, Any] = {
        "status": _first(fields, "STAT"),
        "owner": _first(fields, "OWN"),
        "journal_abbreviation": _first(fields, "TA"),
        "issn": _first(fields, "IS"),
        "nlm_unique_id": _first(fields, "JID"),
        "volume": _first(fields, "VI"),
        "issue": _first(fields, "IP"),
        "pages": _first(fields, "PG"),
        "pub_date_raw": published_raw,
        "article_date": _compact_date(_first(fields, "DEP")),
        "keywords": _values(fields, "OT"),
        "mesh": mesh,
        "comments_corrections": _comments_corrections(fields),
        "databanks": databanks,
        "other_ids": ids,
        "full_authors": _values(fields, "FAU"),
        "book_title": _first(fields, "BTI"),
        "publication_status": _first(fields, "PST"),
        "entrez_date": _slash_date(_first(fields, "EDAT")),
        "citation": _first(fields, "SO"),
    }
    return RecordData(
        source=source,
        source_id=pmid or (f"doi:{doi}" if doi else _content_id(fields)),
        pmid=pmid,
        doi=doi,
        pmcid=normalize_pmcid(_first(fields, "PMC")),
        nct_ids=_nct_ids(databanks),
        title=title,
        abstract=_abstract(fields),
        journal=_first(fields, "JT") or _first(fields, "TA") or _first(fields, "BTI"),
        published=iso_date_from_text(published_raw) if published_raw else None,
        authors=_authors(fields),
        publication_types=_values(fields, "PT"),
        mesh_terms=[heading["descriptor"] for heading in mesh if heading["descriptor"]],
        language=_first(fields, "LA"),
        url=PUBMED_URL.format(pmid=pmid) if pmid else None,
        relations=comments_relations(extra["comments_corrections"]),
        extra={key: value for key, value in extra.items() if value},
    )


def _abstract(fields: Fields) -> str | None:
    """AB with its paragraph breaks (blank continuation lines) kept as blank lines."""
    for tag, value in fields:
        if tag == "AB" and value.strip():
            paragraphs = (collapse_xml_space(part) for part in value.split(_PARAGRAPH))
            return "\n\n".join(part for part in paragraphs if part) or None
    return None


def _authors(fields: Fields) -> list[str]:
    """AU ('Smith JA') and CN (collective) in file order; FAU only when AU is missing."""
    names = [value for tag, value in fields if tag in ("AU", "CN")]
    if any(tag == "AU" for tag, _value in fields):
        return [_clean(name) for name in names]
    from_full = [_short_name(value) for tag, value in fields if tag == "FAU"]
    return [name for name in from_full if name] + [_clean(name) for name in _values(fields, "CN")]


def _short_name(full_name: str) -> str:
    """'Casbon JA' from 'Casbon, James A'."""
    family, _, given = _clean(full_name).partition(",")
    initials = initials_of(given)
    return f"{family.strip()} {initials}" if initials else family.strip()


def _mesh_heading(value: str) -> dict[str, Any]:
    """'Sequence Alignment/*methods' -> {descriptor, ui: None, major, qualifiers}.

    Same shape as the XML parser's `mesh` (qualifiers keep MEDLINE's '*' for major).
    """
    descriptor, *qualifiers = value.split("/")
    major = descriptor.startswith("*")
    return {
        "descriptor": descriptor.lstrip("*").strip(),
        "ui": None,
        "major": major,
        "qualifiers": [qualifier.strip() for qualifier in qualifiers if qualifier.strip()],
    }


def _tagged_ids(values: list[str]) -> dict[str, str]:
    """'10.1186/x [doi]' -> {'doi': '10.1186/x'}; the first value of a type wins."""
    ids: dict[str, str] = {}
    for value in values:
        match = _ID_SUFFIX.match(value)
        if match and match.group(2).lower() not in ids:
            ids[match.group(2).lower()] = match.group(1)
    return ids


def _databanks(values: list[str]) -> list[dict[str, Any]]:
    """SI 'ClinicalTrials.gov/NCT00000000' -> [{name, accessions}] grouped by databank."""
    banks: dict[str, list[str]] = {}
    for value in values:
        name, _, accession = value.partition("/")
        accessions = banks.setdefault(name.strip(), [])
        if accession.strip():
            accessions.append(accession.strip())
    return [{"name": name, "accessions": accessions} for name, accessions in banks.items()]


def _nct_ids(databanks: list[dict[str, Any]]) -> list[str]:
    ids: list[str] = []
    for bank in databanks:
        if bank["name"].lower() == "clinicaltrials.gov":
            ids.extend(nct.upper() for nct in bank["accessions"] if nct.upper() not in ids)
    return ids


def _comments_corrections(fields: Fields) -> list[dict[str, str | None]]:
    found: list[dict[str, str | None]] = []
    for tag, value in fields:
        ref_type = _COMMENT_TAGS.get(tag)
        if ref_type and value.strip():
            pmid = _PMID_IN_TEXT.search(value)
            found.append(
                {
                    "ref_type": ref_type,
                    "ref_source": _clean(value),
                    "pmid": pmid.group(1) if pmid else None,
                    "note": None,
                }
            )
    return found


def _slash_date(value: str | None) -> str | None:
    """'2006/01/13 09:00' -> '2006-01-13'."""
    match = _DATE_TIME.match(value or "")
    if match is None:
        return None
    year, month, day = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"


def _compact_date(value: str | None) -> str | None:
    """'20060110' -> '2006-01-10'."""
    match = _COMPACT_DATE.match(value or "")
    return "-".join(match.groups()) if match else None


def _content_id(fields: Fields) -> str:
    """A stable id for a record without PMID or DOI: a hash of what it says."""
    canonical = "\n".join(f"{tag}\t{_clean(value)}" for tag, value in fields)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:16]
