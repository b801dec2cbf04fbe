"""The one definition of each fact about a record. Pure; everything else asks here.

- **Identifiers**: DOI, PMID, PMCID and trial-registry ids (ClinicalTrials.gov NCT, ISRCTN,
  ChiCTR, ANZCTR, DRKS, ...): normalise, validate, find in running text.
- **Preprint**: a preprint-server DOI, a "Preprint" publication type, a Europe PMC
  preprint id, or a record that names its own journal version.
- **Retraction, erratum, expression of concern**: which records are notices about another
  work (and of what kind), and which records say they are retracted.
- **Relations**: the typed links parsers emit (`RELATION_KINDS`), how PubMed/Europe PMC
  "comments and corrections" types map onto them, and what each means for the studies.

Dedupe, classify, the store, the issue builder and the renderers all call these; a
second regex for any of these facts anywhere else is a bug.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

from digest.model import RecordData, Relation

# --------------------------------------------------------------------------- identifiers

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


# --------------------------------------------------------------------------- relations

RELATION_KINDS = (
    # notices: on the target ("... in") or on the notice ("... of/for")
    "retracted-by",
    "retraction-of",
    "erratum-in",
    "erratum-for",
    "concern-in",
    "concern-for",
    "comment-in",
    "comment-on",
    "updated-in",
    "update-of",
    "republished-in",
    "republished-from",
    "retracted-republished-in",
    "retracted-republished-from",
    "corrected-republished-in",
    "corrected-republished-from",
    # versions: a preprint names its journal version, or a journal record its preprint
    "preprint-of",
    "has-preprint",
    # trials: a paper names its registration; a registration lists its results papers
    "registration",
    "results-in",
)

# PubMed RefType / MEDLINE tag names / Europe PMC comment-correction types (lower-case,
# letters only) -> relation kind. Types not listed (Cites, ReprintOf, ...) stay raw in extra.
_REFTYPE_KINDS = {
    "retractionin": "retracted-by",
    "retractionof": "retraction-of",
    "erratumin": "erratum-in",
    "erratumfor": "erratum-for",
    "expressionofconcernin": "concern-in",
    "expressionofconcernfor": "concern-for",
    "commentin": "comment-in",
    "commenton": "comment-on",
    "updatein": "updated-in",
    "updateof": "update-of",
    "republishedin": "republished-in",
    "republishedfrom": "republished-from",
    "retractedandrepublishedin": "retracted-republished-in",
    "retractedandrepublishedfrom": "retracted-republished-from",
    "correctedandrepublishedin": "corrected-republished-in",
    "correctedandrepublishedfrom": "corrected-republished-from",
}


def relation_kind_for(ref_type: str | None) -> str | None:
    """The relation kind of a "comments and corrections" type ('RetractionIn',
    'Erratum for', ...), or None for a type that is not a relation between works."""
    return _REFTYPE_KINDS.get(re.sub(r"[^a-z]", "", (ref_type or "").lower()))


NoticeKind = Literal["retraction", "erratum", "expression-of-concern"]
NOTICE_KINDS: tuple[NoticeKind, ...] = ("retraction", "erratum", "expression-of-concern")
# the study link a notice gets to the work it is about, per notice kind
NOTICE_LINK_KINDS: dict[NoticeKind, str] = {
    "retraction": "retraction-of",
    "erratum": "erratum-for",
    "expression-of-concern": "expression-of-concern-for",
}
LINK_NOTICE_KINDS: dict[str, NoticeKind] = {v: k for k, v in NOTICE_LINK_KINDS.items()}
StudyFlag = Literal["retracted", "erratum"]


@dataclass(frozen=True, slots=True)
class RelationEffect:
    """What a relation means between studies: a link (from -> to) and a flag on the target.

    `outgoing`: the record holding the relation is the link's source (a notice naming its
    target); otherwise it is the target (an article naming its notice)."""

    outgoing: bool
    link: str
    flag: StudyFlag | None = None


RELATION_EFFECTS: dict[str, RelationEffect] = {
    "retraction-of": RelationEffect(True, "retraction-of", "retracted"),
    "erratum-for": RelationEffect(True, "erratum-for", "erratum"),
    "concern-for": RelationEffect(True, "expression-of-concern-for"),
    "comment-on": RelationEffect(True, "comment-on"),
    "update-of": RelationEffect(True, "update-of"),
    "republished-from": RelationEffect(True, "republished-from"),
    "retracted-republished-from": RelationEffect(True, "republished-from", "retracted"),
    "corrected-republished-from": RelationEffect(True, "republished-from", "erratum"),
    "retracted-by": RelationEffect(False, "retraction-of", "retracted"),
    "erratum-in": RelationEffect(False, "erratum-for", "erratum"),
    "concern-in": RelationEffect(False, "expression-of-concern-for"),
    "comment-in": RelationEffect(False, "comment-on"),
    "updated-in": RelationEffect(False, "update-of"),
    "republished-in": RelationEffect(False, "republished-from"),
    "retracted-republished-in": RelationEffect(False, "republished-from", "retracted"),
    "corrected-republished-in": RelationEffect(False, "republished-from", "erratum"),
}
# relations that may join a preprint and its journal version
VERSION_RELATIONS = frozenset({"preprint-of", "has-preprint", "update-of", "updated-in"})
# relations on a record saying that the record itself was retracted / corrected / flagged
_SELF_RETRACTED = frozenset({"retracted-by", "retracted-republished-in"})
_SELF_CORRECTED = frozenset({"erratum-in", "corrected-republished-in"})
_SELF_CONCERN = frozenset({"concern-in"})


def relation_ids(relation: Relation) -> set[tuple[str, str]]:
    """The target's identifiers, normalised, as (scheme, value) pairs."""
    ids: set[tuple[str, str]] = set()
    for scheme, value in (
        ("pmid", normalize_pmid(relation.pmid)),
        ("pmcid", normalize_pmcid(relation.pmcid)),
        ("doi", normalize_doi(relation.doi)),
        ("ppr", normalize_ppr(relation.ppr)),
    ):
        if value:
            ids.add((scheme, value))
    if relation.note:
        ids.update(("doi", d) for d in find_dois(relation.note))
    return ids


# --------------------------------------------------------------------------- record facts

# bioRxiv/medRxiv (10.1101 + date or bare number, unlike CSHL journals), Research Square,
# SSRN, Preprints.org, OSF, arXiv, JMIR Preprints.
_PREPRINT_DOI = re.compile(
    r"^(?:10\.1101/(?:\d{4}\.\d{2}\.\d{2}\.)?\d{6,}(?:v\d+)?"
    r"|10\.21203/rs\.|10\.2139/ssrn\.|10\.20944/preprints|10\.31219/osf\.io"
    r"|10\.48550/arxiv\.|10\.2196/preprints\.)"
)
# "[Retracted] ...", "RETRACTED - ...", "RETRACTED ARTICLE: ...", "(Retracted) ..."
_RETRACTED_TITLE = re.compile(
    r"^\W*?[\[(]?\s*retracted(?:\s+article)?\s*(?:[\])]|[:.\-\u2013\u2014])", re.IGNORECASE
)
_NOTICE_TITLE = re.compile(
    r"^\W*(?:"
    r"(?P<erratum>errat(?:um|a)|corrigend(?:um|a)|department of error)\b"
    r"|(?P<erratum2>correction)(?:\s+(?:to|notice)\b|\s*[:.\-\u2013\u2014]|\s*$)"
    r"|(?P<retraction>notice of retraction|retraction (?:note|notice)|withdrawal notice)\b"
    r"|(?P<retraction2>retraction)(?:\s+(?:to|for)\b|\s*[:.\-\u2013\u2014]|\s*$)"
    r"|(?P<concern>(?:editorial )?expression of concern)\b"
    r")\s*(?:to|for|of|in|on)?\s*[:.\-\u2013\u2014]?\s*(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_NOTICE_PUBTYPES: dict[str, NoticeKind] = {
    "published erratum": "erratum",
    "correction": "erratum",
    "retraction of publication": "retraction",
    "retraction notice": "retraction",
    "expression of concern": "expression-of-concern",
}
_RETRACTED_PUBTYPES = frozenset({"retracted publication"})


def _types(record: RecordData) -> set[str]:
    return {t.strip().lower() for t in record.publication_types}


def is_preprint_doi(doi: str | None) -> bool:
    normalized = normalize_doi(doi)
    return bool(normalized and _PREPRINT_DOI.match(normalized))


def is_preprint(record: RecordData) -> bool:
    """A preprint: a "Preprint" publication type, a preprint-server DOI, a Europe PMC
    preprint id, or a record that names its journal version ("preprint-of")."""
    if "preprint" in _types(record) or is_preprint_doi(record.doi):
        return True
    if any(r.kind == "preprint-of" for r in record.relations):
        return True
    own_id = record.source_id.rsplit(":", 1)[-1]
    return record.source == "europepmc" and normalize_ppr(own_id) is not None


def has_retracted_title(title: str | None) -> bool:
    """Titles publishers and PubMed mark retracted works with ('RETRACTED: ...')."""
    return bool(_RETRACTED_TITLE.match(title or ""))


def is_retracted(record: RecordData) -> bool:
    """The record says of itself that it is retracted: the 'Retracted Publication' type,
    a relation to its retraction notice, or a retracted-title prefix."""
    if _types(record) & _RETRACTED_PUBTYPES or has_retracted_title(record.title):
        return True
    return any(r.kind in _SELF_RETRACTED for r in record.relations)


def has_erratum(record: RecordData) -> bool:
    """The record names an erratum (or corrected republication) of itself."""
    return any(r.kind in _SELF_CORRECTED for r in record.relations)


def has_concern(record: RecordData) -> bool:
    """The record names an expression of concern about itself."""
    return any(r.kind in _SELF_CONCERN for r in record.relations)


def notice_kind(record: RecordData, *, registration: bool = False) -> NoticeKind | None:
    """The kind of notice a record is about another work, by publication type, then title.
    A registration (`registration=True`) is never a notice."""
    if registration:
        return None
    for pubtype in record.publication_types:
        kind = _NOTICE_PUBTYPES.get(pubtype.strip().lower())
        if kind:
            return kind
    match = _NOTICE_TITLE.match(record.title or "")
    if not match:
        return None
    if match.group("erratum") or match.group("erratum2"):
        return "erratum"
    if match.group("retraction") or match.group("retraction2"):
        return "retraction"
    return "expression-of-concern"


def notice_target_title(title: str | None) -> str | None:
    """The title a notice repeats of its target ('Retraction: <title>'), or None."""
    match = _NOTICE_TITLE.match(title or "")
    return match.group("rest") if match else None


STATUS_BADGES = ("retracted", "erratum", "preprint")


def status_badges(
    badges: Sequence[str], *, retracted: bool, erratum: bool, preprint: bool
) -> list[str]:
    """A study's badges with the status badges set from its own flags: the one place a
    "retracted", "erratum" or "preprint" badge is decided, so badge and banner agree."""
    flags = {"retracted": retracted, "erratum": erratum, "preprint": preprint}
    return [b for b in badges if b not in STATUS_BADGES] + [b for b in STATUS_BADGES if flags[b]]


def registrations_named(record: RecordData, limit: int) -> list[str]:
    """Registry ids a publication names (its nct_ids, 'registration' relations, title,
    abstract), normalised; none when it names more than `limit` (a review, not a trial)."""
    found = _unique(
        [
            *(n for n in map(normalize_registry_id, record.nct_ids) if n),
            *(
                n
                for r in record.relations
                if r.kind == "registration" and (n := normalize_registry_id(r.registry_id))
            ),
            *find_registry_ids(f"{record.title}\n{record.abstract or ''}"),
        ]
    )
    return [] if len(found) > limit else found


def relations_of_kind(record: RecordData, kinds: Sequence[str]) -> list[Relation]:
    return [r for r in record.relations if r.kind in kinds]
