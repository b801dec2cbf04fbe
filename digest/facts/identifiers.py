"""Identifiers: DOI, PMID, PMCID, Europe PMC preprint ids and trial-registry ids
(ClinicalTrials.gov NCT, ISRCTN, ChiCTR, ANZCTR, DRKS): normalise, validate, find in text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

_DOI_PREFIXES = re.compile(
    r"^(?:https?://(?:dx\.|www\.)?doi\.org/|doi\.org/|doi\s*:\s*|info:doi/)", re.IGNORECASE
)
_DOI_SHAPE = re.compile(r"^10\.\d{4,9}/\S+$")
# In running text a DOI ends at whitespace, quotes or angle brackets.
_DOI_IN_TEXT = re.compile(r"\b10\.\d{4,9}/[^\s\"'<>]+")
_PMCID = re.compile(r"^(?:PMC)?\s*(\d+)$", re.IGNORECASE)
_PMID = re.compile(r"^(?:pmid\s*:?\s*)?(\d{1,9})$", re.IGNORECASE)
_PUBMED_URL_PATH = re.compile(r"^/(?:pubmed/)?(\d{1,9})/?$")
_PUBMED_HOSTS = frozenset({"pubmed.ncbi.nlm.nih.gov", "www.ncbi.nlm.nih.gov", "ncbi.nlm.nih.gov"})
_PPR_ID = re.compile(r"^PPR\d+$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RegistryScheme:
    """A trial registry's id scheme: how its ids look in text and where a record lives."""

    name: str
    pattern: re.Pattern[str]  # group 1: the id's digits (or body)
    template: str  # canonical form, formatted with the match's `digits` / `body`
    url: str  # the registration's page, formatted with `id`

    def normalize(self, match: re.Match[str]) -> str:
        body = match.group(1).upper()
        return self.template.format(digits=int(body) if body.isdigit() else 0, body=body)


REGISTRY_SCHEMES: tuple[RegistryScheme, ...] = (
    RegistryScheme(
        "nct",
        re.compile(r"\bNCT\s?0*(\d{1,8})\b", re.IGNORECASE),
        "NCT{digits:08d}",
        "https://clinicaltrials.gov/study/{id}",
    ),
    RegistryScheme(
        "isrctn",
        re.compile(r"\bISRCTN\s?(\d{8})\b", re.IGNORECASE),
        "ISRCTN{body}",
        "https://www.isrctn.com/{id}",
    ),
    RegistryScheme(
        "chictr",
        re.compile(r"\bChiCTR((?:-[A-Z]{2,5}-)?\d{6,12})\b", re.IGNORECASE),
        "ChiCTR{body}",
        "https://www.chictr.org.cn/searchprojen.html?regno={id}",
    ),
    RegistryScheme(
        "actrn",
        re.compile(r"\bACTRN\s?(\d{14})\b", re.IGNORECASE),
        "ACTRN{body}",
        "https://www.anzctr.org.au/TrialSearch.aspx?searchTxt={id}",
    ),
    RegistryScheme(
        "drks",
        re.compile(r"\bDRKS\s?(\d{8})\b", re.IGNORECASE),
        "DRKS{body}",
        "https://drks.de/search/en/trial/{id}",
    ),
)
_SCHEME_BY_NAME = {scheme.name: scheme for scheme in REGISTRY_SCHEMES}


def _strip_trailing_punctuation(value: str) -> str:
    """Drop sentence punctuation glued to an identifier; keep balanced brackets."""
    closers = {")": "(", "]": "["}
    while value:
        last = value[-1]
        unbalanced = last in closers and value.count(closers[last]) < value.count(last)
        if last not in ".,;:'\"" and not unbalanced:
            break
        value = value[:-1]
    return value


def normalize_doi(value: str | None) -> str | None:
    """'https://doi.org/10.1000/ABC.' -> '10.1000/abc'; None when it is not a DOI."""
    if not value:
        return None
    text = value.strip()
    if _DOI_PREFIXES.match(text):
        text = unquote(_DOI_PREFIXES.sub("", text))
    text = _strip_trailing_punctuation("".join(text.split())).lower()
    return text if _DOI_SHAPE.match(text) else None


def normalize_pmid(value: str | None) -> str | None:
    """'pmid:012345' / ' 12345 ' -> '12345'; None when it is not a PMID."""
    if not value:
        return None
    match = _PMID.match(value.strip())
    if not match:
        return None
    digits = match.group(1).lstrip("0")
    return digits or None


def normalize_pmcid(value: str | None) -> str | None:
    """'pmc123' / '123' / 'PMC 123' -> 'PMC123'; None when it is not a PMCID."""
    if not value:
        return None
    match = _PMCID.match(value.strip())
    if not match:
        return None
    return f"PMC{int(match.group(1))}"


def normalize_ppr(value: str | None) -> str | None:
    """A Europe PMC preprint id ('ppr123' -> 'PPR123'); None otherwise."""
    text = (value or "").strip()
    return text.upper() if _PPR_ID.match(text) else None


def normalize_registry_id(value: str | None) -> str | None:
    """'nct1234567' -> 'NCT01234567', 'isrctn 12345678' -> 'ISRCTN12345678'; None otherwise."""
    if not value:
        return None
    text = value.strip()
    for scheme in REGISTRY_SCHEMES:
        match = scheme.pattern.fullmatch(text)
        if match:
            return scheme.normalize(match)
    return None


def normalize_nct(value: str | None) -> str | None:
    """'NCT 01234567' -> 'NCT01234567'; None when it is not a ClinicalTrials.gov id."""
    match = _SCHEME_BY_NAME["nct"].pattern.fullmatch((value or "").strip())
    return _SCHEME_BY_NAME["nct"].normalize(match) if match else None


def registry_scheme(registry_id: str) -> RegistryScheme | None:
    """The scheme of a normalised registry id."""
    return next((s for s in REGISTRY_SCHEMES if s.pattern.fullmatch(registry_id)), None)


def registry_url(registry_id: str) -> str | None:
    """The public page of a registration, for any known registry; None for an unknown id."""
    normalized = normalize_registry_id(registry_id)
    scheme = registry_scheme(normalized) if normalized else None
    if scheme is None or normalized is None:
        return None
    return scheme.url.format(id=quote(normalized, safe=""))


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def find_dois(text: str | None) -> list[str]:
    """Every DOI in running text (or URLs in it), normalized, in order, without repeats."""
    if not text:
        return []
    found = (normalize_doi(m.group(0)) for m in _DOI_IN_TEXT.finditer(unquote(text)))
    return _unique(doi for doi in found if doi)


def find_registry_ids(text: str | None) -> list[str]:
    """Every trial-registry id in text, normalized, in order of the schemes, no repeats."""
    if not text:
        return []
    return _unique(
        scheme.normalize(m) for scheme in REGISTRY_SCHEMES for m in scheme.pattern.finditer(text)
    )


def find_nct_ids(text: str | None) -> list[str]:
    """Every ClinicalTrials.gov id in text, normalized ('NCT01234567'), without repeats."""
    if not text:
        return []
    nct = _SCHEME_BY_NAME["nct"]
    return _unique(nct.normalize(m) for m in nct.pattern.finditer(text))


def find_pmid_in_url(url: str | None) -> str | None:
    """The PMID of a PubMed article URL (pubmed.ncbi.nlm.nih.gov/<pmid>/ or ncbi /pubmed/<pmid>)."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if (parts.hostname or "").lower() not in _PUBMED_HOSTS:
        return None
    match = _PUBMED_URL_PATH.match(parts.path)
    return normalize_pmid(match.group(1)) if match else None
