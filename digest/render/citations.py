"""Citations of a study: Vancouver and AMA strings, RIS, BibTeX and CSL-JSON downloads.

Pure functions of StudyView. Authors arrive as PubMed's "Family Initials" or collective
names; initials cannot be expanded, so given names stay initials everywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import rispy
from bibtexparser.bibdatabase import BibDatabase
from bibtexparser.bwriter import BibTexWriter
from bibtexparser.latexenc import string_to_latex

from digest.render.sanitize import doi_url, one_line, pubmed_url, registry_url, safe_url
from digest.render.wording import MONTHS
from digest.views import StudyView

_INITIALS = re.compile(r"^[A-Z]{1,4}$")
_BRACES = {"{": r"\textbraceleft{}", "}": r"\textbraceright{}"}
_LATEX_SPECIALS = frozenset("\\%&$#_~^")
_BIBTEX_FIELD_ORDER = [
    "title",
    "author",
    "journal",
    "year",
    "month",
    "volume",
    "number",
    "pages",
    "doi",
    "pmid",
    "pmcid",
    "url",
    "note",
]


def split_author(name: str) -> tuple[str, str] | None:
    """("O'Byrne", "PM") for "O'Byrne PM"; None for a collective name."""
    parts = one_line(name).rsplit(" ", 1)
    if len(parts) == 2 and _INITIALS.match(parts[1]):
        return parts[0], parts[1]
    return None


def _sentence(text: str) -> str:
    """Text ending in one full stop (titles often carry their own)."""
    text = one_line(text)
    return text if text.endswith((".", "?", "!")) else f"{text}."


def _date_parts(iso: str | None) -> list[int]:
    if not iso:
        return []
    numbers: list[int] = []
    for part in iso.split("-")[:3]:
        if not part.isdigit():
            break
        numbers.append(int(part))
    return numbers


def _vancouver_date(iso: str | None) -> str:
    parts = _date_parts(iso)
    if not parts:
        return ""
    words = [str(parts[0])]
    if len(parts) > 1 and 1 <= parts[1] <= 12:
        words.append(MONTHS[parts[1] - 1])
        if len(parts) > 2:
            words.append(str(parts[2]))
    return " ".join(words)


def _volume_part(study: StudyView) -> str:
    text = ""
    if study.volume:
        text += one_line(study.volume)
    if study.issue:
        text += f"({one_line(study.issue)})"
    if study.pages:
        text += f":{one_line(study.pages)}"
    return text


def _author_list(study: StudyView, limit: int, shown_when_over: int) -> str:
    authors = [one_line(a) for a in study.authors if one_line(a)]
    if not authors:
        return ""
    if len(authors) > limit:
        return ", ".join(authors[:shown_when_over]) + ", et al."
    return ", ".join(authors) + "."


def _tail(study: StudyView) -> str:
    bits = []
    if study.doi:
        bits.append(f"doi:{one_line(study.doi)}")
    if study.pmid:
        bits.append(f"PMID: {one_line(study.pmid)}")
    return " ".join(bits)


def _no_journal_citation(study: StudyView, authors: str) -> str:
    """A registration or other work without a journal: where it lives, and its id."""
    where = ", ".join(f"ClinicalTrials.gov identifier: {n}" for n in study.nct_ids)
    url = next((u for u in map(registry_url, study.nct_ids) if u), None) or safe_url(
        next((s.url for s in study.sources if safe_url(s.url)), None)
    )
    parts = [authors, _sentence(study.title)]
    if where:
        parts.append(_sentence(where))
    date = _vancouver_date(study.published)
    if date:
        parts.append(_sentence(date))
    if url:
        parts.append(f"Available from: {url}")
    return " ".join(p for p in parts if p)


def vancouver(study: StudyView) -> str:
    """Vancouver (NLM) style: six authors then et al., NLM journal abbreviation."""
    authors = _author_list(study, limit=6, shown_when_over=6)
    journal = study.journal_abbrev or study.journal
    if not journal:
        return _no_journal_citation(study, authors)
    source = f"{_sentence(one_line(journal))} {_vancouver_date(study.published)}".strip()
    volume = _volume_part(study)
    source = f"{source};{volume}." if volume else _sentence(source)
    return " ".join(p for p in (authors, _sentence(study.title), source, _tail(study)) if p)


def ama(study: StudyView) -> str:
    """AMA 11th edition: up to six authors, else three then et al.; year only."""
    authors = _author_list(study, limit=6, shown_when_over=3)
    journal = study.journal_abbrev or study.journal
    if not journal:
        return _no_journal_citation(study, authors)
    parts = _date_parts(study.published)
    year = str(parts[0]) if parts else ""
    volume = _volume_part(study)
    source = f"{one_line(journal)}. {year}".strip()
    source = f"{source};{volume}." if volume else _sentence(source)
    doi = f"doi:{one_line(study.doi)}" if study.doi else ""
    return " ".join(p for p in (authors, _sentence(study.title), source, doi) if p)


# --------------------------------------------------------------------------- RIS


class _RisWriter(rispy.RisWriter):  # type: ignore[misc]  # rispy ships no types
    """rispy's RIS writer without its "1." line before each reference."""

    def set_header(self, count: int) -> str:
        return ""


def _ris_entry(study: StudyView) -> dict[str, Any]:
    """A rispy entry (rispy's field names for the RIS tags); values are single lines."""
    entry: dict[str, Any] = {
        "type_of_reference": "JOUR" if study.journal else "GEN",
        "id": study.slug,
        "title": one_line(study.title),
        "authors": [_ris_author(a) for a in study.authors if one_line(a)],
    }
    parts = _date_parts(study.published)
    if parts:
        entry["year"] = str(parts[0])
        entry["date"] = "/".join(f"{p:02d}" for p in parts) + ("/" * (4 - len(parts)))
    optional = {
        "journal_name": study.journal,  # JO
        "alternate_title1": study.journal_abbrev,  # J2
        "volume": study.volume,
        "number": study.issue,  # IS
        "start_page": study.pages,  # SP
        "doi": study.doi,
        "accession_number": study.pmid and f"PMID:{study.pmid}",  # AN
        "language": study.language,
        "abstract": study.abstract,
    }
    entry.update({key: one_line(value) for key, value in optional.items() if value})
    entry["urls"] = _urls(study)
    return {key: value for key, value in entry.items() if value}


def _ris_author(name: str) -> str:
    split = split_author(name)
    return f"{split[0]}, {'.'.join(split[1])}." if split else one_line(name)


def _urls(study: StudyView) -> list[str]:
    urls = [pubmed_url(study.pmid), doi_url(study.doi), *map(registry_url, study.nct_ids)]
    return [u for u in urls if u]


def to_ris(studies: Iterable[StudyView]) -> str:
    text: str = rispy.dumps([_ris_entry(s) for s in studies], implementation=_RisWriter)
    return text


# --------------------------------------------------------------------------- BibTeX


def bibtex_escape(text: str | None) -> str:
    """Text as a BibTeX value: its LaTeX specials written by bibtexparser's `string_to_latex`.

    Only the specials go through it (it would also rewrite quotes and non-ASCII, which
    stay as they are: UTF-8). Braces it leaves alone, and an unbalanced brace would end
    the value early, so those are escaped here.
    """
    return "".join(
        _BRACES.get(ch) or (string_to_latex(ch) if ch in _LATEX_SPECIALS else ch)
        for ch in one_line(text)
    )


def _bibtex_author(name: str) -> str:
    split = split_author(name)
    if split is None:
        return "{" + bibtex_escape(name) + "}"  # braces keep a group name whole
    family, initials = split
    return f"{bibtex_escape(family)}, {' '.join(ch + '.' for ch in initials)}"


def _bibtex_entry(study: StudyView) -> dict[str, str]:
    """A bibtexparser entry: ENTRYTYPE, ID and the fields, values already in LaTeX."""
    parts = _date_parts(study.published)
    entry = {
        "ENTRYTYPE": "article" if study.journal else "misc",
        "ID": study.slug,
        "title": "{" + bibtex_escape(study.title) + "}",  # braces keep its capitals
    }
    if study.authors:
        entry["author"] = " and ".join(_bibtex_author(a) for a in study.authors)
    optional = {
        "journal": study.journal,
        "year": str(parts[0]) if parts else None,
        "month": MONTHS[parts[1] - 1].lower() if len(parts) > 1 and 1 <= parts[1] <= 12 else None,
        "volume": study.volume,
        "number": study.issue,
        "pages": study.pages and study.pages.replace("-", "--"),
        "doi": study.doi,
        "pmid": study.pmid,
        "pmcid": study.pmcid,
        "url": next(iter(_urls(study)), None),
        "note": "Retracted" if study.retracted else None,
    }
    entry.update({name: bibtex_escape(value) for name, value in optional.items() if value})
    return entry


def to_bibtex(studies: Iterable[StudyView]) -> str:
    database = BibDatabase()
    database.entries = [_bibtex_entry(s) for s in studies]
    writer = BibTexWriter()
    writer.indent = "  "
    writer.order_entries_by = None  # the caller's order (newest first on the site)
    writer.display_order = _BIBTEX_FIELD_ORDER
    text: str = writer.write(database)
    return text


# --------------------------------------------------------------------------- CSL-JSON


def _csl_author(name: str) -> dict[str, str]:
    split = split_author(name)
    if split is None:
        return {"literal": one_line(name)}
    return {"family": split[0], "given": " ".join(ch + "." for ch in split[1])}


def csl_item(study: StudyView) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": study.slug,
        "type": "article-journal" if study.journal else "document",
        "title": one_line(study.title),
    }
    if study.authors:
        item["author"] = [_csl_author(a) for a in study.authors if one_line(a)]
    parts = _date_parts(study.published)
    if parts:
        item["issued"] = {"date-parts": [parts]}
    optional = {
        "container-title": study.journal,
        "container-title-short": study.journal_abbrev,
        "volume": study.volume,
        "issue": study.issue,
        "page": study.pages,
        "DOI": study.doi,
        "PMID": study.pmid,
        "PMCID": study.pmcid,
        "URL": next(iter(_urls(study)), None),
        "abstract": study.abstract,
        "language": study.language,
    }
    item.update({k: one_line(v) for k, v in optional.items() if v})
    if study.retracted:
        item["note"] = "Retracted"
    return item


def to_csl_json(studies: Iterable[StudyView]) -> str:
    items = [csl_item(s) for s in studies]
    return json.dumps(items, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
