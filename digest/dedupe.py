"""Which records are one work, and how works relate. Pure: records in, a partition out.

`cluster(records)` takes every record (keyed by the caller) and returns:

- **clusters**: the records of one work (PubMed, Europe PMC and feed copies, an imported
  reference, a preprint and its journal version). Precision comes first: when in doubt
  two records stay apart and the pair is returned as a *possible duplicate* for a person.
- **links** between different works: a publication and its trial registration, a protocol
  and the trial's other papers, a notice (erratum, retraction, comment, ...) and its target.
- **conflicts**: identifiers that two clearly different works both carry (a bad DOI) and
  merges refused because they would join two PubMed ids or a human said keep-apart.
- flags: clusters retracted, with an erratum, or made of preprints only.

How records join, in this fixed order (so the result never depends on input order):

1. human `decisions` marked "merge";
2. shared merge-strength identifiers (`identifiers()`: PMID, PMCID, DOI, Europe PMC ids,
   a registration's own NCT id, the record's own source id). An identifier shared by
   records that look like different works (different kinds; titles with almost no words
   in common; titles not near-equal while authors disagree or years are >2 apart; or a
   title that exactly matches a record with another value of that identifier) joins only
   the plausible ones, is reported as a conflict, and no longer guards merges;
3. explicit preprint -> journal links (Europe PMC `published_version`/`preprint`,
   "Preprint of" entries, PubMed `UpdateOf` naming a preprint's DOI): titles may change
   between versions, so only other authors on another title block them;
4. equal titles (after normalising case, punctuation, markup, accents, Greek letters,
   dashes/quotes, brackets and British/American spelling) backed by authors, year and
   journal; a preprint joins its journal version on equal title *and* authors;
5. near-equal titles differing by one typo in one long word, backed by the first author,
   most authors and the year (candidates come from blocking on each record's rarest
   title words, so the cost stays near-linear).

No automatic step may join records of different kinds (article / notice / registration),
a protocol with a non-protocol, two different PMIDs, PMCIDs or registrations, or (steps
3-5) two journal records with different DOIs, or a pair a person kept apart. Notices are
joined by identifiers only. NCT ids never merge: a registration and its papers are
different works. The primary record of a work is `record_rank` first: journal version
before preprint, then `SOURCE_PRECEDENCE`, then (source, source_id).

Extra keys read (written by digest.parsers): pubmed `comments_corrections` ([{ref_type,
ref_source, pmid}]) and `via`; europepmc `comment_corrections` ([{type, source, id}]),
`published_version`, `preprint`, `is_preprint`, `epmc_source`; clinicaltrials `references`
([{pmid, type}], optional `retractions`); any source's `is_preprint` and `design`.
"""

from __future__ import annotations

import hashlib
import html
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations, pairwise
from typing import Any, Generic, Literal, NamedTuple, TypeVar

from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein

from digest.model import RECORD_FIELDS, RecordData
from digest.parsers.nccih import canonical_page_url
from digest.parsers.text import (
    find_dois,
    find_nct_ids,
    normalize_doi,
    normalize_nct,
    normalize_pmcid,
    normalize_pmid,
)

K = TypeVar("K", bound=Hashable)
Decision = Literal["merge", "keep-apart"]
Identifier = tuple[str, str]

# Field precedence when merging: the lower the better. PubMed is curated, a journal's own
# feed is next, Europe PMC mirrors PubMed with less detail, registries and a clinic's
# imported references come last. Unknown kinds rank with "other feeds".
SOURCE_PRECEDENCE: dict[str, int] = {
    "pubmed": 0,
    "pubmed_rss": 1,
    "rss": 1,
    "europepmc": 2,
    "nccih": 3,
    "nccih-news": 3,
    "clinicaltrials": 4,
    "import": 5,
}
_OTHER_FEED_PRECEDENCE = 3
REGISTRY_SOURCES = frozenset({"clinicaltrials"})
NCCIH_SOURCES = frozenset({"nccih", "nccih-news"})

# Thresholds (0-100 rapidfuzz scores).
REVIEW_TITLE_SCORE = 90.0  # below this two titles are not worth a person's time
TYPO_TITLE_SCORE = 95.0  # near-equal titles may merge only when they differ by one typo
CLEARLY_DIFFERENT_TITLES = 60.0  # token-set score under which a shared id is distrusted
_MAX_BLOCK = 64  # title words shared by more records than this are too common to block on
_BLOCK_TOKENS = 3  # rarest title tokens per record used as blocking keys
_MAX_TITLE_GROUP = 200  # equal-title groups above this are split by first author
_MAX_TRIALS_PER_PAPER = 3  # a paper naming more trials is a review: no trial links
_MAX_TRIAL_GROUP = 30  # publications per NCT above this get registration links only
_MIN_TITLE_KEY = 12  # shorter normalised titles ("Correction.") never merge on title

# Publication types (lower-cased) of notices about another work, and of a retracted work.
_NOTICE_PUBTYPES: dict[str, str] = {
    "published erratum": "erratum",
    "correction": "erratum",
    "retraction of publication": "retraction",
    "retraction notice": "retraction",
    "expression of concern": "concern",
}
_RETRACTED_PUBTYPES = frozenset({"retracted publication"})
_PROTOCOL_PUBTYPES = frozenset({"clinical trial protocol", "study protocol", "protocol"})

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
_RETRACTED_TITLE = re.compile(r"^\W*retracted\s*(?:article)?\s*[:.\-\u2013\u2014]", re.I)
_PROTOCOL_TITLE = re.compile(r"\bprotocol\b", re.IGNORECASE)
_WORD_WITH_DIGIT = re.compile(r"\b\w*\d\w*\b")
_PMID_IN_TEXT = re.compile(r"\bPMID\s*:?\s*(\d{1,9})\b", re.IGNORECASE)
_YEAR = re.compile(r"(1[89]\d\d|2\d\d\d)")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:_-]*(?:\s[^<>]*)?/?>")
_COMBINING = re.compile(r"[\u0300-\u036f]")
_NON_WORD = re.compile(r"[\W_]+")
_EPMC_ID = re.compile(r"^(?P<src>[A-Z]{3})[:/](?P<id>.+)$")
_PPR_ID = re.compile(r"^PPR\d+$", re.IGNORECASE)
_ET_AL = re.compile(r"^(?:et\.? ?al\.?|and others|others)$", re.IGNORECASE)
_COLLECTIVE = re.compile(
    r"\b(?:group|consortium|investigators|collaborat\w*|committee|network|society|"
    r"association|trialists|team|council|panel|writing|task force|study)\b",
    re.IGNORECASE,
)
# DOIs of preprint servers: bioRxiv/medRxiv (10.1101 + date or bare number, unlike CSHL
# journals), Research Square, SSRN, Preprints.org, OSF, arXiv, JMIR Preprints.
_PREPRINT_DOI = re.compile(
    r"^(?:10\.1101/(?:\d{4}\.\d{2}\.\d{2}\.)?\d{6,}(?:v\d+)?"
    r"|10\.21203/rs\.|10\.2139/ssrn\.|10\.20944/preprints|10\.31219/osf\.io"
    r"|10\.48550/arxiv\.|10\.2196/preprints\.)"
)
_GREEK = str.maketrans(
    {
        "α": " alpha ", "β": " beta ", "γ": " gamma ", "δ": " delta ", "ε": " epsilon ",
        "κ": " kappa ", "λ": " lambda ", "μ": " mu ", "ω": " omega ", "τ": " tau ",
    }
)  # fmt: skip
_STOPWORDS = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "by", "for", "from", "in", "into", "is", "of",
        "on", "or", "the", "to", "vs", "versus", "with", "within", "without", "among",
        "after", "before", "during", "its", "their", "than", "via",
    }
)  # fmt: skip
_ROMAN = frozenset({"ii", "iii", "iv", "vi", "vii", "viii", "ix", "xi", "xii"})
_ROMAN_ONE_AFTER = frozenset({"part", "phase", "type", "stage", "grade", "class", "study"})
_JOURNAL_STOPWORDS = frozenset({"the", "of", "and", "for", "in", "on", "de", "la", "official"})


# --------------------------------------------------------------------------- results


class Link(NamedTuple, Generic[K]):
    """A relation between two works, named by their primary record keys.

    kind: "registration" (a publication -> its trial registration), "protocol-of" (a
    protocol -> another paper of the same trial), "same-trial", and notice kinds from a
    notice (or newer work) to its target: "retraction-of", "erratum-for",
    "expression-of-concern-for", "comment-on", "update-of", "republished-from".
    """

    key_a: K
    key_b: K
    kind: str
    evidence: str


class PossibleDuplicate(NamedTuple, Generic[K]):
    """Two records that may be one work; held apart for a person (score 0..1)."""

    key_a: K
    key_b: K
    score: float
    reason: str


class Conflict(NamedTuple, Generic[K]):
    """An identifier or merge the algorithm refused to trust, with the records involved."""

    scheme: str
    value: str
    keys: tuple[K, ...]
    reason: str


@dataclass(slots=True)
class DedupeResult(Generic[K]):
    """The partition of records into works, and what relates the works.

    clusters[i][0] is the primary record of cluster i; clusters are ordered by their
    primary record (source, source_id), members by primary-record rank. `retracted`,
    `has_erratum` and `preprint` (every member a preprint) hold cluster indexes.
    """

    clusters: list[list[K]] = field(default_factory=list)
    links: list[Link[K]] = field(default_factory=list)
    possible_duplicates: list[PossibleDuplicate[K]] = field(default_factory=list)
    conflicts: list[Conflict[K]] = field(default_factory=list)
    retracted: set[int] = field(default_factory=set)
    has_erratum: set[int] = field(default_factory=set)
    preprint: set[int] = field(default_factory=set)
    cluster_of: dict[K, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- normalising


def normalize_title(title: str | None) -> str:
    """Title -> lower-case words separated by one space.

    Markup and entities go (Europe PMC sends escaped JATS), accents and Unicode
    dashes/quotes/brackets go with the rest of the punctuation, Greek letters are
    spelled out, so "[Acupuncture – a <i>review</i>]." and "Acupuncture - a review" agree.
    """
    if not title:
        return ""
    text = html.unescape(html.unescape(title)) if "&" in title else title
    text = _TAG.sub("", text).casefold().translate(_GREEK)
    text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    return " ".join(_NON_WORD.sub(" ", text).split())


@lru_cache(maxsize=1 << 18)
def _spelling_key(word: str) -> str:
    """British and American spellings of a word share a key (randomised/randomized).

    Cached and interned: titles repeat words, so each key is computed and stored once."""
    if len(word) < 4 or not word.isalpha():
        return sys.intern(word)
    key = word.replace("ae", "e").replace("oe", "e").replace("z", "s").replace("ll", "l")
    key = key.replace("our", "or")
    return sys.intern(key[:-2] + "er" if key.endswith("tre") and len(key) > 4 else key)


_NO_NUMBERS: frozenset[str] = frozenset()


def _title_numbers(title: str, words: Sequence[str]) -> frozenset[str]:
    """Numbers that tell works of a series apart: digits, roman numerals, "part i"."""
    found = set(_WORD_WITH_DIGIT.findall(title))
    found.update(_ROMAN.intersection(words))
    if " i" in title:
        found.update(w for prev, w in pairwise(words) if w == "i" and prev in _ROMAN_ONE_AFTER)
    return frozenset(found) if found else _NO_NUMBERS


def _author_key(author: str) -> str | None:
    """'Schoenfeld JD', 'John D. Schoenfeld', 'Schoenfeld, J.' -> 'schoenfeld'."""
    text = author.strip().rstrip(".").strip()
    if not text or _ET_AL.match(text):
        return None
    if _COLLECTIVE.search(text) or len(text.split()) > 5:
        return "group:" + " ".join(_name_words(text))
    if "," in text:
        family = text.split(",", 1)[0]
    else:
        parts = text.split()
        # "Smith JD" has its initials last; "J.D. Smith" and "D. BU" have them first.
        dotted_first = parts[0].endswith(".") and "." not in parts[-1]
        initials_last = len(parts) >= 2 and _is_initials(parts[-1]) and not dotted_first
        family = " ".join(parts[:-1]) if initials_last else parts[-1]
    words = _name_words(family)
    return words[-1] if words else None


def _name_words(name: str) -> list[str]:
    """A name's words, lower-case and without accents ('Rodríguez-Perea' -> rodriguez, perea)."""
    text = _COMBINING.sub("", unicodedata.normalize("NFKD", name.casefold()))
    return [w for w in _NON_WORD.split(text) if w]


def _is_initials(token: str) -> bool:
    """'JD', 'J.D.', 'Á', 'J-P': one to three capital letters, dots and hyphens aside."""
    letters = token.replace(".", "").replace("-", "")
    return 1 <= len(letters) <= 3 and letters.isalpha() and letters.isupper()


@lru_cache(maxsize=1 << 16)
def _cached_author_key(author: str) -> str | None:
    key = _author_key(author)
    return sys.intern(key) if key else None  # one string per surname, not per record


def _author_keys(authors: Sequence[str]) -> tuple[str, ...]:
    keys = (_cached_author_key(a) for a in authors)
    return tuple(dict.fromkeys(k for k in keys if k))


@lru_cache(maxsize=1 << 14)
def _journal_words(journal: str | None) -> tuple[str, ...]:
    """Journal title words; cached, so records of one journal share one tuple."""
    return tuple(w for w in normalize_title(journal).split() if w not in _JOURNAL_STOPWORDS)


def _journals_agree(a: Sequence[str], b: Sequence[str]) -> bool:
    """Equal, or one is an abbreviation of the other ('N Engl J Med' ~ 'New England J...')."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    position = 0
    for word in short:
        while position < len(long) and not long[position].startswith(word):
            position += 1
        if position == len(long):
            return False
        position += 1
    return True


def _year(published: str | None) -> int | None:
    match = _YEAR.search(published or "")
    return int(match.group(1)) if match else None


# --------------------------------------------------------------------------- record facts


def precedence(record: RecordData) -> int:
    """Field precedence of a record's source (lower wins); PubMed RSS ranks as a feed."""
    if record.source == "pubmed" and record.extra.get("via") == "pubmed_rss":
        return SOURCE_PRECEDENCE["pubmed_rss"]
    return SOURCE_PRECEDENCE.get(record.source, _OTHER_FEED_PRECEDENCE)


def is_registration(record: RecordData) -> bool:
    return record.source in REGISTRY_SOURCES


def is_preprint(record: RecordData) -> bool:
    """A preprint: flagged by its parser, a Europe PMC PPR record, a preprint-server DOI
    or a "preprint" publication type."""
    extra = record.extra
    if extra.get("is_preprint") or str(extra.get("epmc_source") or "").upper() == "PPR":
        return True
    if record.source == "europepmc" and record.source_id.upper().startswith("PPR"):
        return True
    doi = normalize_doi(record.doi)
    if doi and _PREPRINT_DOI.match(doi):
        return True
    return any(t.strip().lower() == "preprint" for t in record.publication_types)


def notice_kind(record: RecordData) -> str | None:
    """'erratum', 'retraction' or 'concern' when the record is a notice about another work."""
    if is_registration(record):
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
    return "concern"


def is_protocol(record: RecordData) -> bool:
    """A trial protocol paper (publication type, classified design, or 'protocol' in title)."""
    if is_registration(record):
        return False
    if str(record.extra.get("design") or "") == "protocol":
        return True
    if any(t.strip().lower() in _PROTOCOL_PUBTYPES for t in record.publication_types):
        return True
    return bool(_PROTOCOL_TITLE.search(record.title or ""))


def _europepmc_ids(record: RecordData) -> set[Identifier]:
    """Ids a Europe PMC record's own id carries: MED:<pmid>, PMC:<pmcid>, PPR:<ppr id>."""
    raw = record.source_id.strip()
    match = _EPMC_ID.match(raw.upper())
    src = (match.group("src") if match else str(record.extra.get("epmc_source") or "")).upper()
    value = match.group("id") if match else raw
    if src == "MED" or (not src and value.isdigit()):
        pmid = normalize_pmid(value)
        return {("pmid", pmid)} if pmid else set()
    if src == "PMC" or value.upper().startswith("PMC"):
        pmcid = normalize_pmcid(value)
        return {("pmcid", pmcid)} if pmcid else set()
    if src == "PPR" or _PPR_ID.match(value):
        return {("ppr", value.upper())}
    return {("epmc", f"{src}:{value}")} if src else set()


def identifiers(record: RecordData) -> set[Identifier]:
    """Normalised merge-strength identifiers: records sharing one are the same work.

    Schemes: pmid, pmcid, doi, ppr (Europe PMC preprint id), epmc (other Europe PMC
    ids), registration (a registry record's own NCT id), page (an NCCIH page's canonical
    URL) and record (source:source_id).
    NCT ids that a publication mentions are link keys (`link_identifiers`), never here.
    """
    ids: set[Identifier] = {("record", f"{record.source}:{record.source_id}")}
    if record.source in NCCIH_SOURCES and record.url:
        # a news item and the health page it announces share the page's canonical URL
        ids.add(("page", canonical_page_url(record.url)))
    pmid = normalize_pmid(record.pmid)
    pmcid = normalize_pmcid(record.pmcid)
    doi = normalize_doi(record.doi)
    if record.source == "pubmed" and not pmid:
        pmid = normalize_pmid(record.source_id)
    ids.update(
        (scheme, value)
        for scheme, value in (("pmid", pmid), ("pmcid", pmcid), ("doi", doi))
        if value
    )
    if record.source == "europepmc":
        ids |= _europepmc_ids(record)
    if is_registration(record):
        nct = normalize_nct(record.source_id) or next(
            (n for n in map(normalize_nct, record.nct_ids) if n), None
        )
        if nct:
            ids.add(("registration", nct))
    return ids


def link_identifiers(record: RecordData) -> set[Identifier]:
    """NCT ids a publication names (its nct_ids, title, abstract): links, never merges.

    A paper naming more than three trials is a review or a pooled analysis, not a paper
    of one trial: it gets no trial links at all."""
    if is_registration(record):
        return set()
    found = {n for n in map(normalize_nct, record.nct_ids) if n}
    found.update(find_nct_ids(f"{record.title}\n{record.abstract or ''}"))
    if len(found) > _MAX_TRIALS_PER_PAPER:
        return set()
    return {("nct", nct) for nct in found}


# --------------------------------------------------------------------------- references


@dataclass(frozen=True, slots=True)
class _Reference:
    """One entry in a record's comments/corrections list, normalised."""

    relation: str  # lower-case, no spaces: "erratumfor", "retractionin", "preprintof", ...
    ids: frozenset[Identifier]


def _reference_ids(entry: Mapping[str, Any]) -> set[Identifier]:
    ids: set[Identifier] = set()
    src = str(entry.get("source") or "").upper()
    raw_id = str(entry.get("id") or "").strip()
    pmid = normalize_pmid(str(entry.get("pmid") or "")) or (
        normalize_pmid(raw_id) if src in ("", "MED") else None
    )
    if pmid:
        ids.add(("pmid", pmid))
    if src == "PMC" and normalize_pmcid(raw_id):
        ids.add(("pmcid", str(normalize_pmcid(raw_id))))
    if src == "PPR" or _PPR_ID.match(raw_id):
        ids.add(("ppr", raw_id.upper()))
    doi = normalize_doi(str(entry.get("doi") or ""))
    if doi:
        ids.add(("doi", doi))
    text = " ".join(str(entry.get(k) or "") for k in ("ref_source", "reference", "RefSource"))
    ids.update(("doi", d) for d in find_dois(text))
    return ids


def _references(record: RecordData) -> list[_Reference]:
    entries: list[Any] = []
    for key in ("comments_corrections", "comment_corrections"):
        value = record.extra.get(key)
        if isinstance(value, list):
            entries.extend(value)
    for key, relation in (("published_version", "preprintof"), ("preprint", "preprintin")):
        value = record.extra.get(key)
        if isinstance(value, Mapping):
            entries.append({**value, "type": relation})
    found = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        raw_type = entry.get("ref_type") or entry.get("type") or entry.get("RefType") or ""
        relation = re.sub(r"[^a-z]", "", str(raw_type).lower())
        if relation:  # kept without ids too: "ErratumIn" alone still flags the record
            found.append(_Reference(relation, frozenset(_reference_ids(entry))))
    return found


def _registry_references(record: RecordData) -> list[tuple[str, str, bool]]:
    """(pmid, type, retracted) of a registration's result/derived publications."""
    found = []
    for item in record.extra.get("references") or []:
        if not isinstance(item, Mapping):
            continue
        pmid = normalize_pmid(str(item.get("pmid") or ""))
        kind = str(item.get("type") or "").upper()
        if pmid and kind in ("RESULT", "DERIVED"):
            found.append((pmid, kind, bool(item.get("retractions"))))
    return found


# --------------------------------------------------------------------------- features


@dataclass(slots=True)
class _Features:
    """What dedupe needs of one record, computed once."""

    source: str
    source_id: str
    ids: tuple[Identifier, ...]  # identifiers() without the record's own source id
    kind: str  # article | notice | registration
    notice: str | None
    protocol: bool | None  # None: no publication type or design to tell
    preprint: bool
    precedence: int
    year: int | None
    title: str
    title_key: str
    words: tuple[str, ...]  # distinct spelling-keyed title words, stopwords left out
    numbers: frozenset[str]
    authors: tuple[str, ...]
    journal: tuple[str, ...]


def _features(record: RecordData) -> _Features:
    title = normalize_title(record.title)
    words = title.split()
    keys = [_spelling_key(w) for w in words]
    notice = notice_kind(record)
    kind = "registration" if is_registration(record) else "notice" if notice else "article"
    return _Features(
        source=record.source,
        source_id=record.source_id,
        ids=tuple(sorted(i for i in identifiers(record) if i[0] != "record")),
        kind=kind,
        notice=notice,
        protocol=_protocol_status(record),
        preprint=is_preprint(record),
        precedence=precedence(record),
        year=_year(record.published),
        title=title,
        title_key="".join(keys),
        words=tuple(sorted({k for w, k in zip(words, keys, strict=True) if w not in _STOPWORDS})),
        numbers=_title_numbers(title, words),
        authors=_author_keys(record.authors),
        journal=_journal_words(record.journal),
    )


def _protocol_status(record: RecordData) -> bool | None:
    """True for a protocol paper, False when its types say otherwise, None when a record
    (a feed item, an imported reference) has no types and its title does not say."""
    if is_protocol(record):
        return True
    known = record.publication_types or record.extra.get("design") or is_registration(record)
    return False if known else None


def _rank(feature: _Features, index: int) -> tuple[bool, int, int]:
    """Primary-record order: journal version over preprint, then source precedence."""
    return (feature.preprint, feature.precedence, index)


# --------------------------------------------------------------------------- pair evidence


def _clearly_different(a: _Features, b: _Features) -> bool:
    """Evidence that two records sharing an identifier are different works: different
    kinds, titles with almost no words in common, or titles that are not near-equal
    while the authors or the years (more than 2 apart) disagree."""
    if a.kind != b.kind:
        return True
    if (
        len(a.words) >= 3
        and len(b.words) >= 3
        and float(fuzz.token_set_ratio(a.title, b.title)) < CLEARLY_DIFFERENT_TITLES
    ):
        return True
    if a.title and b.title and float(fuzz.ratio(a.title, b.title)) >= REVIEW_TITLE_SCORE:
        return False
    far_apart = a.year is not None and b.year is not None and abs(a.year - b.year) > 2
    return far_apart or _authors_evidence(a, b) == "conflict"


def _authors_evidence(a: _Features, b: _Features) -> str:
    """'match' (same first author, or most names shared), 'conflict' or 'unknown'."""
    if not a.authors or not b.authors:
        return "unknown"
    shared = len(set(a.authors) & set(b.authors))
    smaller = min(len(a.authors), len(b.authors))
    if a.authors[0] == b.authors[0] and (smaller < 2 or shared / smaller >= 0.5):
        return "match"
    if smaller >= 3 and shared / smaller >= 0.8:
        return "match"
    return "conflict"


def _year_evidence(a: _Features, b: _Features) -> str:
    if a.year is None or b.year is None:
        return "unknown"
    allowed = 2 if a.preprint != b.preprint else 1
    return "match" if abs(a.year - b.year) <= allowed else "conflict"


def _journal_evidence(a: _Features, b: _Features) -> str:
    if not a.journal or not b.journal or a.preprint != b.preprint:
        return "unknown"
    return "match" if _journals_agree(a.journal, b.journal) else "conflict"


def _one_typo_apart(a: _Features, b: _Features) -> bool:
    """Titles whose only difference is one misspelt long word (no number involved)."""
    words_a, words_b = Counter(a.title.split()), Counter(b.title.split())  # as written
    only_a, only_b = list((words_a - words_b).elements()), list((words_b - words_a).elements())
    if len(only_a) != 1 or len(only_b) != 1 or a.numbers != b.numbers:
        return False
    word_a, word_b = only_a[0], only_b[0]
    if min(len(word_a), len(word_b)) < 6 or not (word_a.isalpha() and word_b.isalpha()):
        return False
    return int(DamerauLevenshtein.distance(word_a, word_b)) <= 1


@dataclass(frozen=True, slots=True)
class _Verdict:
    merge: bool
    review: bool
    reason: str


def _describe(title_score: float, authors: str, year: str, journal: str) -> str:
    return f"title {title_score / 100:.2f}; authors {authors}; year {year}; journal {journal}"


def _equal_title_verdict(a: _Features, b: _Features) -> _Verdict:
    """Two records with the same normalised title: merge only with corroboration."""
    authors, year, journal = (
        _authors_evidence(a, b),
        _year_evidence(a, b),
        _journal_evidence(a, b),
    )
    reason = _describe(100.0, authors, year, journal)
    if a.preprint != b.preprint:
        # preprint -> journal version: the same title *and* authors (rule 3).
        merge = authors == "match" and year != "conflict"
        return _Verdict(merge, not merge and year != "conflict", "preprint/published; " + reason)
    if year == "conflict" or (journal == "conflict" and authors != "match"):
        return _Verdict(False, False, reason)
    if authors == "match":
        return _Verdict(len(a.words) >= 3 or year == "match", True, reason)
    if authors == "unknown" and year == "match" and journal == "match" and len(a.words) >= 4:
        return _Verdict(True, True, reason)
    return _Verdict(False, True, reason)


def _near_title_verdict(a: _Features, b: _Features, score: float) -> _Verdict:
    """Near-equal titles: merge only a one-typo difference with first author and year."""
    authors, year, journal = (
        _authors_evidence(a, b),
        _year_evidence(a, b),
        _journal_evidence(a, b),
    )
    reason = _describe(score, authors, year, journal)
    if a.numbers != b.numbers or year == "conflict":
        return _Verdict(False, False, reason)
    typo = score >= TYPO_TITLE_SCORE and _one_typo_apart(a, b)
    same_first = bool(a.authors and b.authors and a.authors[0] == b.authors[0])
    merge = typo and same_first and authors == "match" and year == "match"
    if a.preprint != b.preprint:
        reason = "preprint/published; " + reason
    return _Verdict(merge, authors != "conflict", reason)


def _fuzzy_candidates(a: _Features, b: _Features) -> bool:
    """Pairs that title matching may consider at all."""
    if a.kind != "article" or b.kind != "article":
        return False
    if a.protocol is not None and b.protocol is not None and a.protocol != b.protocol:
        return False
    return not (a.year and b.year and abs(a.year - b.year) > 2)


# --------------------------------------------------------------------------- union-find


# Identifier schemes whose values must not differ inside one work, per kind of join.
_GUARD_ALWAYS = ("pmid", "pmcid", "registration")
_GUARD_WITH_DOI = ("pmid", "pmcid", "registration", "doi")


class _Partition:
    """Union-find with the guards: kinds, keep-apart pairs, conflicting identifiers."""

    def __init__(self, features: Sequence[_Features], distrusted: set[Identifier]) -> None:
        self.parent = list(range(len(features)))
        self.kind = [f.kind for f in features]
        self.guard: list[tuple[Identifier, ...]] = [_guard_ids(f, distrusted) for f in features]
        self.forbid: dict[int, set[int]] = defaultdict(set)

    def find(self, index: int) -> int:
        root = index
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[index] != root:
            self.parent[index], index = root, self.parent[index]
        return root

    def keep_apart(self, a: int, b: int) -> None:
        self.forbid[a].add(b)
        self.forbid[b].add(a)

    def refusal(self, a: int, b: int, schemes: Sequence[str]) -> str | None:
        """Why records a and b may not be one work, or None."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        if self.kind[ra] != self.kind[rb]:
            return f"{self.kind[ra]} and {self.kind[rb]} are never one work"
        if self.forbidden(ra, rb):
            return "kept apart by a person"
        for scheme in schemes:
            left = {v for s, v in self.guard[ra] if s == scheme}
            right = {v for s, v in self.guard[rb] if s == scheme}
            if left and right and left != right:
                return f"different {scheme}: {', '.join(sorted(left | right))}"
        return None

    def forbidden(self, ra: int, rb: int) -> bool:
        """Whether a person kept any record of root ra apart from any record of root rb."""
        for x, other in ((ra, rb), (rb, ra)):
            if any(self.find(y) == other for y in self.forbid.get(x, ())):
                return True
        return False

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        keep, gone = (ra, rb) if ra < rb else (rb, ra)
        self.parent[gone] = keep
        if self.guard[gone]:
            self.guard[keep] = tuple(sorted({*self.guard[keep], *self.guard[gone]}))
            self.guard[gone] = ()
        if gone in self.forbid:
            self.forbid[keep] |= self.forbid.pop(gone)


def _guard_ids(feature: _Features, distrusted: set[Identifier]) -> tuple[Identifier, ...]:
    """Identifiers that must agree inside a work; a preprint's own ids never block."""
    if feature.preprint and feature.kind == "article":
        return ()
    return tuple(i for i in feature.ids if i[0] in _GUARD_WITH_DOI and i not in distrusted)


# --------------------------------------------------------------------------- clustering


_ID_SCHEME_ORDER = ("registration", "pmid", "pmcid", "doi", "ppr", "epmc", "page")
_ID_SCHEME_GUARDS: dict[str, tuple[str, ...]] = {
    "registration": (),
    "pmid": ("registration",),
    "pmcid": ("pmid", "registration"),
    "doi": _GUARD_ALWAYS,
    "ppr": _GUARD_WITH_DOI,
    "epmc": _GUARD_WITH_DOI,
    "page": _GUARD_ALWAYS,
}


@dataclass(slots=True)
class _Run(Generic[K]):
    """State of one `cluster()` call over records in canonical order."""

    keys: list[K]
    records: list[RecordData]
    features: list[_Features]
    id_index: dict[Identifier, list[int]]
    partition: _Partition
    decisions: dict[tuple[int, int], Decision]
    conflicts: list[Conflict[K]] = field(default_factory=list)
    reviews: dict[tuple[int, int], tuple[float, str]] = field(default_factory=dict)

    def conflict(self, identifier: Identifier, members: Iterable[int], reason: str) -> None:
        keys = tuple(self.keys[i] for i in sorted(set(members)))
        self.conflicts.append(Conflict(identifier[0], identifier[1], keys, reason))

    def review(self, a: int, b: int, score: float, reason: str) -> None:
        pair = (min(a, b), max(a, b))
        if self.decisions.get(pair) == "keep-apart":
            return
        best = self.reviews.get(pair)
        if best is None or score > best[0]:
            self.reviews[pair] = (score, reason)

    def try_union(
        self, a: int, b: int, schemes: Sequence[str], identifier: Identifier | None
    ) -> bool:
        """Join a and b unless a guard refuses; a refused identifier join is a conflict
        (title joins pass None: their refusals become possible duplicates instead)."""
        refusal = self.partition.refusal(a, b, schemes)
        if refusal is None:
            self.partition.union(a, b)
            return True
        if identifier is not None and refusal != "kept apart by a person":
            self.conflict(identifier, (a, b), refusal)
        return False


def _canonical_order(items: list[tuple[K, RecordData]]) -> list[tuple[K, RecordData]]:
    return sorted(items, key=lambda kr: (kr[1].source, kr[1].source_id, repr(kr[0])))


def _build_index(features: Sequence[_Features]) -> dict[Identifier, list[int]]:
    index: dict[Identifier, list[int]] = defaultdict(list)
    for i, feature in enumerate(features):
        for identifier in feature.ids:
            index[identifier].append(i)
    return index


def _id_subgroups(
    features: Sequence[_Features],
    identifier: Identifier,
    members: Sequence[int],
    by_title: Mapping[str, list[int]],
) -> list[list[int]]:
    """Split the records sharing one identifier into groups of mutually plausible works."""
    groups: list[list[int]] = []
    for member in members:
        for group in groups:
            anchor = group[0]
            if _clearly_different(features[anchor], features[member]):
                continue
            if features[anchor].title_key != features[member].title_key and (
                _title_taken(features, features[anchor], identifier, by_title)
                or _title_taken(features, features[member], identifier, by_title)
            ):
                continue
            group.append(member)
            break
        else:
            groups.append([member])
    return groups


def _title_taken(
    features: Sequence[_Features],
    feature: _Features,
    identifier: Identifier,
    by_title: Mapping[str, list[int]],
) -> bool:
    """Whether this exact title belongs to a record with another value of the identifier's
    scheme: then a near-equal title sharing the identifier is a different work (a DOI
    typed onto the companion paper), not a copy."""
    scheme, value = identifier
    for other in by_title.get(feature.title_key, ()):
        if any(s == scheme and v != value for s, v in features[other].ids):
            return True
    return False


def _decision_pairs(
    decisions: Mapping[frozenset[K], str] | None, position: Mapping[K, int]
) -> dict[tuple[int, int], Decision]:
    pairs: dict[tuple[int, int], Decision] = {}
    for pair, verdict in (decisions or {}).items():
        members = sorted(position[k] for k in pair if k in position)
        if len(members) == 2 and verdict in ("merge", "keep-apart"):
            pairs[(members[0], members[1])] = "merge" if verdict == "merge" else "keep-apart"
    return pairs


def _apply_decisions(run: _Run[K]) -> None:
    for (a, b), verdict in sorted(run.decisions.items()):
        if verdict == "keep-apart":
            run.partition.keep_apart(a, b)
    for (a, b), verdict in sorted(run.decisions.items()):
        if verdict != "merge":
            continue
        if run.partition.forbidden(run.partition.find(a), run.partition.find(b)):
            run.conflict(("decision", "merge"), (a, b), "merge contradicts a keep-apart decision")
        else:
            run.partition.union(a, b)


def _join_shared_ids(run: _Run[K], groups: Mapping[Identifier, list[list[int]]]) -> None:
    for scheme in _ID_SCHEME_ORDER:
        for identifier in sorted(i for i in groups if i[0] == scheme):
            for subgroup in groups[identifier]:
                for member in subgroup[1:]:
                    run.try_union(subgroup[0], member, _ID_SCHEME_GUARDS[scheme], identifier)
    # The same (source, source_id) under two keys: neighbours in canonical order.
    features = run.features
    for i in range(1, len(features)):
        previous, current = features[i - 1], features[i]
        if (previous.source, previous.source_id) == (current.source, current.source_id):
            identifier = ("record", f"{current.source}:{current.source_id}")
            run.try_union(i - 1, i, _GUARD_ALWAYS, identifier)


def _shared_id_groups(
    features: Sequence[_Features], id_index: Mapping[Identifier, list[int]]
) -> dict[Identifier, list[list[int]]]:
    """Identifier -> subgroups of plausible works among the records sharing it.

    More than one subgroup means the identifier is wrong somewhere (a bad DOI): it is
    then distrusted as a guard and reported as a conflict.
    """
    by_title: dict[str, list[int]] = defaultdict(list)
    for i, feature in enumerate(features):
        if len(feature.title_key) >= _MIN_TITLE_KEY:
            by_title[feature.title_key].append(i)
    return {
        identifier: _id_subgroups(features, identifier, members, by_title)
        for identifier, members in id_index.items()
        if len(members) > 1
    }


def _version_pairs(run: _Run[K]) -> list[tuple[int, int, str]]:
    """(journal record, preprint record, evidence) from explicit version links."""
    pairs = set()
    for i, record in enumerate(run.records):
        for reference in _references(record):
            if reference.relation not in ("preprintof", "preprintin", "updateof", "updatein"):
                continue
            for target in sorted(
                {t for ident in reference.ids for t in run.id_index.get(ident, [])}
            ):
                pair = _as_version_pair(run.features, i, target, reference)
                if pair:
                    pairs.add(pair)
    return sorted(pairs)


def _as_version_pair(
    features: Sequence[_Features], i: int, target: int, reference: _Reference
) -> tuple[int, int, str] | None:
    own, other = features[i], features[target]
    if i == target or own.kind != "article" or other.kind != "article":
        return None
    if own.preprint == other.preprint:
        return None
    journal, preprint = (target, i) if own.preprint else (i, target)
    return (journal, preprint, f"{features[i].source}:{features[i].source_id} {reference.relation}")


def _join_versions(run: _Run[K]) -> None:
    """Explicit preprint -> journal links. Titles often change between versions, so only
    other authors on a different title make the link suspect."""
    for journal, preprint, evidence in _version_pairs(run):
        a, b = run.features[journal], run.features[preprint]
        near_title = (
            bool(a.title and b.title) and fuzz.ratio(a.title, b.title) >= REVIEW_TITLE_SCORE
        )
        if _authors_evidence(a, b) == "conflict" and not near_title:
            run.conflict(("version", evidence), (journal, preprint), "linked versions differ")
            continue
        run.try_union(journal, preprint, _GUARD_WITH_DOI, ("version", evidence))


def _title_groups(features: Sequence[_Features]) -> list[list[int]]:
    by_key: dict[str, list[int]] = defaultdict(list)
    for i, feature in enumerate(features):
        if feature.kind == "article" and len(feature.title_key) >= _MIN_TITLE_KEY:
            by_key[feature.title_key].append(i)
    groups: list[list[int]] = []
    for members in by_key.values():
        if len(members) > _MAX_TITLE_GROUP:
            by_author: dict[str, list[int]] = defaultdict(list)
            for i in members:
                by_author[features[i].authors[0] if features[i].authors else ""].append(i)
            groups.extend(g for g in by_author.values() if len(g) > 1)
        elif len(members) > 1:
            groups.append(members)
    return groups


def _join_equal_titles(run: _Run[K]) -> None:
    merges: list[tuple[int, int, str]] = []
    for group in _title_groups(run.features):
        for a, b in combinations(group, 2):
            fa, fb = run.features[a], run.features[b]
            if not _fuzzy_candidates(fa, fb):
                continue
            verdict = _equal_title_verdict(fa, fb)
            if verdict.merge:
                merges.append((a, b, verdict.reason))
            elif verdict.review:
                run.review(a, b, 1.0, verdict.reason)
    for a, b, reason in sorted(merges):
        if not run.try_union(a, b, _GUARD_WITH_DOI, None):
            run.review(a, b, 1.0, f"{reason}; {run.partition.refusal(a, b, _GUARD_WITH_DOI)}")


def _blocking_words(features: Sequence[_Features]) -> list[tuple[str, ...]]:
    """Per record, its rarest title words shared with 2.._MAX_BLOCK other records, rarest
    first: the blocking keys that keep near-title matching near-linear."""
    frequency: Counter[str] = Counter()
    for feature in features:
        if feature.kind == "article":
            frequency.update(w for w in feature.words if len(w) >= 3)
    chosen: list[tuple[str, ...]] = []
    for feature in features:
        usable = [w for w in feature.words if len(w) >= 3 and 2 <= frequency[w] <= _MAX_BLOCK]
        usable.sort(key=lambda w: (frequency[w], w))
        chosen.append(tuple(usable[:_BLOCK_TOKENS]) if feature.kind == "article" else ())
    return chosen


def _near_title_pairs(run: _Run[K]) -> list[tuple[float, int, int]]:
    """Pairs of records in different clusters whose titles score >= REVIEW_TITLE_SCORE."""
    find, features = run.partition.find, run.features
    chosen = _blocking_words(features)
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, words in enumerate(chosen):
        for word in words:
            blocks[word].append(i)
    found = []
    for word, block in blocks.items():
        for a, b in combinations(block, 2):
            # a pair sharing several blocks is scored once: in its rarest shared word's
            if next(w for w in chosen[a] if w in chosen[b]) != word or find(a) == find(b):
                continue
            fa, fb = features[a], features[b]
            if fa.title_key == fb.title_key or not _fuzzy_candidates(fa, fb):
                continue
            shorter, longer = sorted((len(fa.title), len(fb.title)))
            if shorter < 0.8 * longer:
                continue
            score = float(fuzz.ratio(fa.title, fb.title, score_cutoff=REVIEW_TITLE_SCORE))
            if score:
                found.append((score, a, b))
    return found


def _join_near_titles(run: _Run[K]) -> None:
    merges = []
    for score, a, b in _near_title_pairs(run):
        verdict = _near_title_verdict(run.features[a], run.features[b], score)
        if verdict.merge:
            merges.append((-score, a, b, verdict.reason))
        elif verdict.review:
            run.review(a, b, score / 100, verdict.reason)
    for _, a, b, reason in sorted(merges):
        if not run.try_union(a, b, _GUARD_WITH_DOI, None):
            run.review(a, b, 0.99, f"{reason}; {run.partition.refusal(a, b, _GUARD_WITH_DOI)}")


# --------------------------------------------------------------------------- links


@dataclass(slots=True)
class _Linker:
    """Collects links between clusters and the retracted / erratum flags."""

    cluster_index: list[int]  # record index -> cluster index
    id_index: dict[Identifier, list[int]]
    links: dict[tuple[int, int, str], str] = field(default_factory=dict)
    outgoing: set[tuple[int, str]] = field(default_factory=set)
    retracted: set[int] = field(default_factory=set)
    has_erratum: set[int] = field(default_factory=set)

    def clusters_of(self, ids: Iterable[Identifier]) -> list[int]:
        found = {self.cluster_index[r] for ident in ids for r in self.id_index.get(ident, [])}
        return sorted(found)

    def link(self, a: int, b: int, kind: str, evidence: str) -> None:
        if a == b:
            return
        if kind == "same-trial" and a > b:
            a, b = b, a
        self.links.setdefault((a, b, kind), evidence)
        self.outgoing.add((a, kind))


# ref type on the notice (or newer work) -> (link kind, flag set on the target)
_OUTGOING: dict[str, tuple[str, str | None]] = {
    "retractionof": ("retraction-of", "retracted"),
    "erratumfor": ("erratum-for", "erratum"),
    "expressionofconcernfor": ("expression-of-concern-for", None),
    "commenton": ("comment-on", None),
    "updateof": ("update-of", None),
    "republishedfrom": ("republished-from", None),
    "retractedandrepublishedfrom": ("republished-from", "retracted"),
    "correctedandrepublishedfrom": ("republished-from", "erratum"),
}
# ref type on the target, naming the notice -> (link kind, flag set on this record)
_INCOMING: dict[str, tuple[str, str | None]] = {
    "retractionin": ("retraction-of", "retracted"),
    "erratumin": ("erratum-for", "erratum"),
    "expressionofconcernin": ("expression-of-concern-for", None),
    "commentin": ("comment-on", None),
    "updatein": ("update-of", None),
    "republishedin": ("republished-from", None),
    "retractedandrepublishedin": ("republished-from", "retracted"),
    "correctedandrepublishedin": ("republished-from", "erratum"),
}
_NOTICE_LINKS = {
    "erratum": ("erratum-for", "erratum"),
    "retraction": ("retraction-of", "retracted"),
    "concern": ("expression-of-concern-for", None),
}


def _flag(linker: _Linker, cluster: int, flag: str | None) -> None:
    if flag == "retracted":
        linker.retracted.add(cluster)
    elif flag == "erratum":
        linker.has_erratum.add(cluster)


def _link_references(linker: _Linker, run: _Run[K]) -> None:
    for i, record in enumerate(run.records):
        own = linker.cluster_index[i]
        evidence = f"{record.source}:{record.source_id}"
        for reference in _references(record):
            relation = reference.relation
            if relation in _OUTGOING:
                kind, flag = _OUTGOING[relation]
                for target in linker.clusters_of(reference.ids):
                    if target != own:
                        linker.link(own, target, kind, f"{evidence} {relation}")
                        _flag(linker, target, flag)
            elif relation in _INCOMING:
                kind, flag = _INCOMING[relation]
                _flag(linker, own, flag)
                for source in linker.clusters_of(reference.ids):
                    if source != own:
                        linker.link(source, own, kind, f"{evidence} {relation}")


def _link_notices(linker: _Linker, run: _Run[K], title_index: Mapping[str, list[int]]) -> None:
    """Notices found by type or title: their target from ids in the text, else the title."""
    for i, feature in enumerate(run.features):
        if feature.kind != "notice" or feature.notice is None:
            continue
        own = linker.cluster_index[i]
        kind, flag = _NOTICE_LINKS[feature.notice]
        if (own, kind) in linker.outgoing:
            continue  # its comments/corrections entries already named the target
        record = run.records[i]
        text = f"{record.title}\n{record.abstract or ''}"
        named = {("doi", d) for d in find_dois(text)} | {
            ("pmid", str(normalize_pmid(m.group(1)))) for m in _PMID_IN_TEXT.finditer(text)
        }
        targets = [t for t in linker.clusters_of(named - set(feature.ids)) if t != own]
        evidence = f"{record.source}:{record.source_id} names the target"
        if not targets:
            targets = _title_targets(record.title, title_index, linker, own)
            evidence = f"{record.source}:{record.source_id} repeats the target's title"
        for target in targets:
            linker.link(own, target, kind, evidence)
            _flag(linker, target, flag)


def _title_targets(
    title: str, title_index: Mapping[str, list[int]], linker: _Linker, own: int
) -> list[int]:
    match = _NOTICE_TITLE.match(title or "")
    if not match:
        return []
    key = "".join(_spelling_key(w) for w in normalize_title(match.group("rest")).split())
    if len(key) < _MIN_TITLE_KEY:
        return []
    clusters = sorted({linker.cluster_index[r] for r in title_index.get(key, [])} - {own})
    return clusters if len(clusters) == 1 else []


def _trial_members(linker: _Linker, run: _Run[K]) -> dict[str, set[int]]:
    """NCT -> publication clusters of that trial (named by the paper or by the registry)."""
    trials: dict[str, set[int]] = defaultdict(set)
    for i, record in enumerate(run.records):
        if run.features[i].kind == "article":
            for _, nct in link_identifiers(record):
                trials[nct].add(linker.cluster_index[i])
        elif run.features[i].kind == "registration":
            registered = next((v for s, v in run.features[i].ids if s == "registration"), None)
            for pmid, _, _ in _registry_references(record):
                if registered:
                    trials[registered].update(linker.clusters_of([("pmid", pmid)]))
    return trials


def _link_trials(linker: _Linker, run: _Run[K], protocol_clusters: set[int]) -> None:
    for i, record in enumerate(run.records):
        if run.features[i].kind == "registration":
            _link_registration(linker, i, record, run.features[i])
    for nct, members in sorted(_trial_members(linker, run).items()):
        registrations = linker.clusters_of([("registration", nct)])
        for publication in sorted(members):
            for registration in registrations:
                linker.link(publication, registration, "registration", f"{nct} named")
        if len(members) > _MAX_TRIAL_GROUP:
            continue
        for a, b in combinations(sorted(members), 2):
            if (a in protocol_clusters) != (b in protocol_clusters):
                protocol, other = (a, b) if a in protocol_clusters else (b, a)
                linker.link(protocol, other, "protocol-of", nct)
            else:
                linker.link(a, b, "same-trial", nct)


def _link_registration(linker: _Linker, i: int, record: RecordData, feature: _Features) -> None:
    own = linker.cluster_index[i]
    for pmid, kind, retracted in _registry_references(record):
        for publication in linker.clusters_of([("pmid", pmid)]):
            linker.link(
                publication, own, "registration", f"{record.source_id} lists {kind} pmid {pmid}"
            )
            if retracted:
                linker.retracted.add(publication)


def _self_flags(linker: _Linker, run: _Run[K]) -> None:
    for i, record in enumerate(run.records):
        pubtypes = {t.strip().lower() for t in record.publication_types}
        if pubtypes & _RETRACTED_PUBTYPES or _RETRACTED_TITLE.match(record.title or ""):
            linker.retracted.add(linker.cluster_index[i])


# --------------------------------------------------------------------------- assembly


def _assemble(run: _Run[K]) -> DedupeResult[K]:
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(run.records)):
        members[run.partition.find(i)].append(i)
    ordered = [sorted(group, key=lambda i: _rank(run.features[i], i)) for group in members.values()]
    ordered.sort(key=lambda group: group[0])
    cluster_index = [0] * len(run.records)
    for c, group in enumerate(ordered):
        for i in group:
            cluster_index[i] = c
    linker = _Linker(cluster_index, run.id_index)
    _link_all(linker, run, ordered)
    primary = [group[0] for group in ordered]
    result: DedupeResult[K] = DedupeResult(
        clusters=[[run.keys[i] for i in group] for group in ordered],
        links=[
            Link(run.keys[primary[a]], run.keys[primary[b]], kind, evidence)
            for (a, b, kind), evidence in sorted(linker.links.items())
        ],
        possible_duplicates=_possible_duplicates(run, cluster_index),
        conflicts=run.conflicts,
        retracted=linker.retracted,
        has_erratum=linker.has_erratum,
        preprint={c for c, g in enumerate(ordered) if all(run.features[i].preprint for i in g)},
    )
    result.cluster_of = {run.keys[i]: cluster_index[i] for i in range(len(run.records))}
    return result


def _link_all(linker: _Linker, run: _Run[K], ordered: Sequence[Sequence[int]]) -> None:
    title_index: dict[str, list[int]] = defaultdict(list)
    for i, feature in enumerate(run.features):
        if feature.kind == "article":
            title_index[feature.title_key].append(i)
    protocol_clusters = {
        c for c, group in enumerate(ordered) if any(run.features[i].protocol for i in group)
    }
    _self_flags(linker, run)
    _link_references(linker, run)
    _link_notices(linker, run, title_index)
    _link_trials(linker, run, protocol_clusters)


def _possible_duplicates(run: _Run[K], cluster_index: Sequence[int]) -> list[PossibleDuplicate[K]]:
    """The best near-miss per pair of clusters. Pairs that ended up together are dropped,
    and so are clusters a person already kept apart (whichever of their records)."""
    decided = {
        (min(cluster_index[a], cluster_index[b]), max(cluster_index[a], cluster_index[b]))
        for (a, b), verdict in run.decisions.items()
        if verdict == "keep-apart"
    }
    best: dict[tuple[int, int], tuple[float, int, int, str]] = {}
    for (a, b), (score, reason) in sorted(run.reviews.items()):
        ca, cb = cluster_index[a], cluster_index[b]
        pair = (min(ca, cb), max(ca, cb))
        if ca == cb or pair in decided:
            continue
        if pair not in best or score > best[pair][0]:
            best[pair] = (score, a, b, reason)
    return [
        PossibleDuplicate(run.keys[a], run.keys[b], round(score, 4), reason)
        for _, (score, a, b, reason) in sorted(best.items())
    ]


def cluster(
    records: Mapping[K, RecordData] | Iterable[tuple[K, RecordData]],
    decisions: Mapping[frozenset[K], str] | None = None,
) -> DedupeResult[K]:
    """Partition records into works, link the works, and list near-misses for review.

    `records` maps a caller's stable key (e.g. (source, source_id) or a row id) to its
    record; keys must be unique. `decisions` maps a pair of keys to "merge" or
    "keep-apart"; a person's word wins over every rule. The result does not depend on
    the order records arrive in.
    """
    items = list(records.items()) if isinstance(records, Mapping) else list(records)
    items = _canonical_order(items)
    keys = [k for k, _ in items]
    if len(set(keys)) != len(keys):
        raise ValueError("cluster(): every record needs its own key")
    features = [_features(r) for _, r in items]
    id_index = _build_index(features)
    groups = _shared_id_groups(features, id_index)
    distrusted = {identifier for identifier, subgroups in groups.items() if len(subgroups) > 1}
    run: _Run[K] = _Run(
        keys=keys,
        records=[r for _, r in items],
        features=features,
        id_index=id_index,
        partition=_Partition(features, distrusted),
        decisions=_decision_pairs(decisions, {k: i for i, k in enumerate(keys)}),
    )
    for identifier in sorted(distrusted):
        run.conflict(identifier, id_index[identifier], "carried by records of different works")
    _apply_decisions(run)
    _join_shared_ids(run, groups)
    _join_versions(run)
    _join_equal_titles(run)
    _join_near_titles(run)
    return _assemble(run)


# --------------------------------------------------------------------------- merging


MERGED_FIELDS = tuple(f for f in RECORD_FIELDS if f not in ("source", "source_id", "extra"))
_ID_FIELDS = ("pmid", "doi", "pmcid")


def record_rank(record: RecordData) -> tuple[bool, int, str, str]:
    """Primary-record order: journal version over preprint, source precedence, then id."""
    return (is_preprint(record), precedence(record), record.source, record.source_id)


def primary_record(records: Sequence[RecordData]) -> RecordData:
    return min(records, key=record_rank)


def _field_value(record: RecordData, name: str) -> Any:
    if name == "doi":
        return normalize_doi(record.doi)
    if name in _ID_FIELDS:
        # a Europe PMC MED:<pmid> record may carry its PMID only in its id
        return min((v for s, v in identifiers(record) if s == name), default=None)
    value = getattr(record, name)
    return list(value) if isinstance(value, list) else value


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list) and not value)


def merge_fields(
    records: Sequence[RecordData],
) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """One work's fields from its records, and which record each came from.

    Each field comes from the best record that has it, in `record_rank` order (journal
    version before preprint, then PubMed > journal feed > Europe PMC > other feeds/NCCIH >
    ClinicalTrials.gov > import). Identifiers come from journal records when there are any,
    so a preprint's DOI never stands for the published work. nct_ids is the union.
    """
    ordered = sorted(records, key=record_rank)
    journals = [r for r in ordered if not is_preprint(r)] or ordered
    merged: dict[str, Any] = {}
    provenance: dict[str, tuple[str, str]] = {}
    for name in MERGED_FIELDS:
        candidates = journals if name in _ID_FIELDS else ordered
        if name == "nct_ids":
            merged[name] = _merged_ncts(ordered, provenance)
            continue
        merged[name] = [] if isinstance(getattr(ordered[0], name), list) else None
        for record in candidates:
            value = _field_value(record, name)
            if not _is_empty(value):
                merged[name], provenance[name] = value, (record.source, record.source_id)
                break
    if merged.get("title") is None:
        merged["title"] = ""
    return merged, provenance


def _merged_ncts(
    ordered: Sequence[RecordData], provenance: dict[str, tuple[str, str]]
) -> list[str]:
    ncts: list[str] = []
    for record in ordered:
        found = [n for n in map(normalize_nct, record.nct_ids) if n and n not in ncts]
        if found and "nct_ids" not in provenance:
            provenance["nct_ids"] = (record.source, record.source_id)
        ncts.extend(found)
    return ncts


def _slug_part(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def doi_slug(doi: str) -> str:
    """'10.1000/ABC(1)' -> 'doi-10.1000-abc-1-': every character unsafe in a path -> '-'."""
    # a run of dots becomes one dot: "10.1000/..evil" must not give a ".." in a path segment
    return "doi-" + re.sub(r"\.{2,}", ".", re.sub(r"[^a-z0-9._-]", "-", doi.lower())).strip(".")


MAX_SLUG = 120


def _bounded(slug: str) -> str:
    """A slug short enough for a path segment: long ones (feed item URLs) keep a readable
    start and end with a hash of the whole, so they stay unique and stable."""
    if len(slug) <= MAX_SLUG:
        return slug
    digest = hashlib.sha1(slug.encode()).hexdigest()[:10]
    return f"{slug[: MAX_SLUG - 11].rstrip('-.')}-{digest}"


def study_slug(records: Sequence[RecordData]) -> str:
    """Permalink slug from the work's primary id: pmid-<pmid>, nct-<nct>, doi-<doi>, else
    <source>-<source_id>; at most MAX_SLUG characters."""
    return _bounded(_study_slug(records))


def _study_slug(records: Sequence[RecordData]) -> str:
    primary = primary_record(records)
    if is_registration(primary):
        nct = dict(identifiers(primary)).get("registration")
        if nct:
            return f"nct-{nct.lower()}"
    merged, _ = merge_fields(records)
    if merged.get("pmid"):
        return f"pmid-{merged['pmid']}"
    if merged.get("doi"):
        return doi_slug(str(merged["doi"]))
    return f"{_slug_part(primary.source)}-{_slug_part(primary.source_id)}"


def unique_slugs(works: Sequence[Sequence[RecordData]]) -> list[str]:
    """`study_slug` of each work, made unique across the works.

    Two works can claim one slug when records sharing an id were kept apart (by a person,
    or because the id was distrusted as a conflict). The work holding the source's own
    record of that id (PubMed <pmid>, the registry's NCT) keeps it, else the first work;
    the others get "-2", "-3", ... in order.
    """
    slugs = [study_slug(records) for records in works]
    holders: dict[str, list[int]] = defaultdict(list)
    for index, slug in enumerate(slugs):
        holders[slug].append(index)
    taken = set(slugs)
    for slug, indexes in holders.items():
        if len(indexes) < 2:
            continue
        owner = min(indexes, key=lambda i: (not _holds_own_record(works[i], slug), i))
        suffix = 2
        for index in indexes:
            if index == owner:
                continue
            while f"{slug}-{suffix}" in taken:
                suffix += 1
            slugs[index] = f"{slug}-{suffix}"
            taken.add(slugs[index])
    return slugs


def _holds_own_record(records: Sequence[RecordData], slug: str) -> bool:
    return any(
        (record.source == "pubmed" and slug == f"pmid-{record.source_id}")
        or (is_registration(record) and slug == f"nct-{record.source_id.lower()}")
        for record in records
    )
