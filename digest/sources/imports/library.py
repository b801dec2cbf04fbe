"""Pure readers of a clinic's existing library: JSON Lines (our record format), RIS, BibTeX.

RIS is read with rispy and BibTeX with bibtexparser; this module only maps their entries
onto RecordData. Entries without a PMID or DOI get a stable id from their content, so
importing the same file twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import bibtexparser
import rispy
from bibtexparser.bparser import BibTexParser

from digest.errors import ParseError
from digest.facts import normalize_doi, normalize_pmid
from digest.limits import MAX_IMPORT_FIELD_CHARS
from digest.model import RECORD_FIELDS, ParseResult, RecordData
from digest.record_schema import record_problem
from digest.sources.text import html_to_text

SOURCE = "import"


def _decode(payload: bytes, what: str) -> str:
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"{what} is not UTF-8 text (byte {exc.start})") from exc


def content_id(title: str, year: str | None, first_author: str | None) -> str:
    basis = "|".join([" ".join(title.lower().split()), year or "", (first_author or "").lower()])
    return "sha1:" + hashlib.sha1(basis.encode()).hexdigest()[:16]


def _finish(record: RecordData) -> RecordData:
    """Key an imported entry by its strongest id (PMID, then DOI, then its content)."""
    year = (record.published or "")[:4] or None
    record.source_id = (
        f"pmid:{record.pmid}"
        if record.pmid
        else f"doi:{record.doi}"
        if record.doi
        else content_id(record.title, year, record.authors[0] if record.authors else None)
    )
    return record


def _as_import(record: RecordData) -> RecordData:
    """An imported record is always the import's own: a line claiming `"source":"pubmed"`
    must not overwrite the fetched PubMed record. The claim is kept in extra
    (`claimed_source`) and in the id (`pubmed:<id>`), so re-importing changes nothing."""
    if record.source != SOURCE:
        record.extra = {**record.extra, "claimed_source": record.source}
        record.source_id = f"{record.source}:{record.source_id}"
        record.source = SOURCE
    return record


def parse_jsonl(payload: bytes) -> ParseResult:
    """Records in the normalized JSON Lines format (`digest parse` output, PRODUCT.md).

    Every line is checked against the record schema (digest.record_schema). A bad line
    (not JSON, or not a valid record) is skipped with a warning naming its line number;
    the file fails only when no line holds a usable record.
    """
    result = ParseResult()
    for number, line in enumerate(_decode(payload, "JSON Lines").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            result.warnings.append(f"line {number} skipped: not JSON ({msg})")
            continue
        if not isinstance(data, dict) or not data.get("source") or not data.get("source_id"):
            result.warnings.append(f"line {number} skipped: needs 'source' and 'source_id'")
            continue
        problem = record_problem(data)
        if problem is not None:
            result.warnings.append(f"line {number} skipped: {problem}")
            continue
        unknown = sorted(set(data) - set(RECORD_FIELDS) - {"relations"})
        if unknown:
            result.warnings.append(f"line {number}: ignored unknown field(s) {unknown}")
        result.records.append(_as_import(RecordData.from_json_dict(data)))
    if result.warnings and not result.records:
        raise ParseError(f"no usable record in the file ({result.warnings[0]})")
    return result


_RIS_DATE_KEYS = ("date", "year", "publication_year")


def _ris_entry(entry: dict[str, Any]) -> RecordData | None:
    title = html_to_text(str(entry.get("title") or entry.get("primary_title") or ""))
    if not title:
        return None
    date_text = next((str(entry[k]) for k in _RIS_DATE_KEYS if entry.get(k)), "")
    year = date_text[:4] if date_text[:4].isdigit() else None
    pmid = normalize_pmid(str(entry.get("pubmed_id") or entry.get("accession_number") or ""))
    return _finish(
        RecordData(
            source=SOURCE,
            source_id="",
            pmid=pmid,
            doi=normalize_doi(str(entry.get("doi") or "")),
            title=title,
            abstract=html_to_text(str(entry.get("abstract") or "")) or None,
            journal=entry.get("journal_name") or entry.get("secondary_title") or None,
            published=year,
            authors=[str(a) for a in entry.get("authors") or entry.get("first_authors") or []],
            publication_types=[str(entry["type_of_reference"])]
            if entry.get("type_of_reference")
            else [],
            mesh_terms=[],
            language=entry.get("language") or None,
            url=(entry.get("urls") or [None])[0],
            extra={"format": "ris", "keywords": entry.get("keywords") or []},
        )
    )


def _cap_lines(text: str, result: ParseResult) -> str:
    """RIS/MEDLINE hold one field a line: a line over the field cap is cut (with a warning),
    so one 100 MB field costs neither minutes nor gigabytes."""
    if len(text) <= MAX_IMPORT_FIELD_CHARS:
        return text
    lines = text.splitlines(keepends=True)
    long = [i for i, line in enumerate(lines) if len(line) > MAX_IMPORT_FIELD_CHARS]
    for index in long:
        lines[index] = lines[index][:MAX_IMPORT_FIELD_CHARS] + "\n"
        result.warnings.append(
            f"line {index + 1}: field longer than {MAX_IMPORT_FIELD_CHARS:,} characters, cut"
        )
    return "".join(lines) if long else text


def parse_ris(payload: bytes) -> ParseResult:
    result = ParseResult()
    try:
        entries = rispy.loads(_cap_lines(_decode(payload, "RIS"), result))
    except Exception as exc:  # rispy raises plain IOError/ValueError variants
        raise ParseError(f"not a readable RIS file: {exc}") from exc
    for index, entry in enumerate(entries):
        record = _ris_entry(entry)
        if record is None:
            result.warnings.append(f"RIS entry #{index + 1} has no title; skipped")
        else:
            result.records.append(record)
    if not result.records and _decode(payload, "RIS").strip():
        raise ParseError("no RIS entries found (is this an RIS file?)")
    return result


def _bib_authors(value: str) -> list[str]:
    names = []
    for name in value.replace("\n", " ").split(" and "):
        name = name.strip().strip("{}")
        if "," in name:
            family, given = (part.strip() for part in name.split(",", 1))
            initials = "".join(p[0] for p in given.replace("-", " ").split() if p)
            names.append(f"{family} {initials}".strip())
        elif name:
            names.append(name)
    return names


def parse_bibtex(payload: bytes) -> ParseResult:
    parser = BibTexParser(common_strings=True)
    parser.ignore_nonstandard_types = False
    try:
        database = bibtexparser.loads(_decode(payload, "BibTeX"), parser=parser)
    except Exception as exc:  # pyparsing errors surface as several types
        raise ParseError(f"not a readable BibTeX file: {exc}") from exc
    result = ParseResult()
    for entry in database.entries:
        title = html_to_text(entry.get("title", "").replace("{", "").replace("}", ""))
        if not title:
            result.warnings.append(f"BibTeX entry {entry.get('ID')} has no title; skipped")
            continue
        result.records.append(
            _finish(
                RecordData(
                    source=SOURCE,
                    source_id="",
                    pmid=normalize_pmid(entry.get("pmid", "")),
                    doi=normalize_doi(entry.get("doi", "")),
                    title=title,
                    abstract=html_to_text(entry.get("abstract", "")) or None,
                    journal=entry.get("journal") or None,
                    published=entry.get("year") or None,
                    authors=_bib_authors(entry.get("author", "")),
                    publication_types=[entry.get("ENTRYTYPE", "")]
                    if entry.get("ENTRYTYPE")
                    else [],
                    url=entry.get("url") or None,
                    extra={"format": "bibtex", "bibtex_key": entry.get("ID")},
                )
            )
        )
    if not result.records and _decode(payload, "BibTeX").strip():
        raise ParseError("no BibTeX entries found (is this a BibTeX file?)")
    return result
