"""What dedupe knows about one record: its identifiers, kind, protocol status, precedence.

Everything a source kind knows about its own records comes from its traits
(`digest.sources.traits_of(record.source)`): its field precedence, whether it is a trial
registry, and the merge-strength ids only it can read (a PubMed source id is a PMID,
Europe PMC's MED:/PMC:/PPR: ids, an NCCIH page's canonical URL, a registration's own
registry id). Nothing here names a source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from digest import facts
from digest.facts import (
    NoticeKind,
    is_preprint,
    normalize_doi,
    normalize_pmcid,
    normalize_pmid,
    registrations_named,
    relation_ids,
)
from digest.model import RecordData
from digest.sources import traits_of
from digest.sources.base import SourceTraits
from digest.studies.normalize import (
    STOPWORDS,
    author_keys,
    journal_words,
    normalize_title,
    spelling_key,
    title_numbers,
    year_of,
)

Identifier = tuple[str, str]

MAX_TRIALS_PER_PAPER = 3  # a paper naming more trials is a review: no trial links

_PROTOCOL_PUBTYPES = frozenset({"clinical trial protocol", "study protocol", "protocol"})
_PROTOCOL_TITLE = re.compile(r"\bprotocol\b", re.IGNORECASE)


def _ranking_traits(record: RecordData) -> SourceTraits:
    """The traits a record ranks by: its own kind's, or those of the channel it says it
    came through (`extra["via"]`, a record source of another kind). A PubMed record that
    arrived through a PubMed RSS feed ranks as a feed item, not as a curated efetch record."""
    via = record.extra.get("via")
    if isinstance(via, str) and via != record.source:
        channel = traits_of(via)
        if via in channel.record_sources:
            return channel
    return traits_of(record.source)


def precedence(record: RecordData) -> int:
    """Field precedence of a record's kind (lower wins; see `SourceTraits.precedence`)."""
    return _ranking_traits(record).precedence


def is_registration(record: RecordData) -> bool:
    """A trial registration: its kind is a registry (never merged with papers)."""
    return traits_of(record.source).registry


def notice_kind(record: RecordData) -> NoticeKind | None:
    """The notice kind of a record ('retraction', 'erratum', 'expression-of-concern')."""
    return facts.notice_kind(record, registration=is_registration(record))


def is_protocol(record: RecordData) -> bool:
    """A trial protocol paper (publication type, classified design, or 'protocol' in title)."""
    if is_registration(record):
        return False
    if str(record.extra.get("design") or "") == "protocol":
        return True
    if any(t.strip().lower() in _PROTOCOL_PUBTYPES for t in record.publication_types):
        return True
    return bool(_PROTOCOL_TITLE.search(record.title or ""))


def identifiers(record: RecordData) -> set[Identifier]:
    """Normalised merge-strength identifiers: records sharing one are the same work.

    Schemes: pmid, pmcid, doi, and what the record's kind reads from its own records
    (`SourceTraits.own_identifiers`): ppr (Europe PMC preprint id), epmc (other Europe PMC
    ids), registration (a registry record's own registry id), page (an NCCIH page's
    canonical URL, shared by the news item announcing it); plus record (source:source_id).
    Registry ids that a publication mentions are link keys (`link_identifiers`), never here.
    """
    ids: set[Identifier] = {("record", f"{record.source}:{record.source_id}")}
    ids.update(
        (scheme, value)
        for scheme, value in (
            ("pmid", normalize_pmid(record.pmid)),
            ("pmcid", normalize_pmcid(record.pmcid)),
            ("doi", normalize_doi(record.doi)),
        )
        if value
    )
    ids |= traits_of(record.source).own_identifiers(record)
    return ids


def link_identifiers(record: RecordData) -> set[Identifier]:
    """("trial", registry id) for each registration a publication names (any registry:
    NCT, ISRCTN, ChiCTR, ...; see `digest.facts.registrations_named`): links, never merges.

    A paper naming more than three trials is a review or a pooled analysis, not a paper
    of one trial: it gets no trial links at all."""
    if is_registration(record):
        return set()
    return {("trial", rid) for rid in registrations_named(record, MAX_TRIALS_PER_PAPER)}


# --------------------------------------------------------------------------- references


@dataclass(frozen=True, slots=True)
class Reference:
    """One typed relation of a record, with its target's identifiers normalised."""

    relation: str  # a digest.facts.RELATION_KINDS value
    ids: frozenset[Identifier]
    target_retracted: bool = False


def references(record: RecordData) -> list[Reference]:
    """The record's typed relations (`RecordData.relations`), ready to match on ids."""
    return [
        Reference(r.kind, frozenset(relation_ids(r)), r.target_retracted) for r in record.relations
    ]


def registry_references(record: RecordData) -> list[tuple[str, str, bool]]:
    """(pmid, type, retracted) of a registration's result/derived publications."""
    return [
        (pmid, str(r.note or "RESULT"), r.target_retracted)
        for r in record.relations
        if r.kind == "results-in" and (pmid := normalize_pmid(r.pmid))
    ]


# --------------------------------------------------------------------------- features


@dataclass(slots=True)
class Features:
    """What dedupe needs of one record, computed once."""

    source: str
    source_id: str
    ids: tuple[Identifier, ...]  # identifiers() without the record's own source id
    kind: str  # article | notice | registration
    notice: NoticeKind | None
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


def features_of(record: RecordData) -> Features:
    title = normalize_title(record.title)
    words = title.split()
    keys = [spelling_key(w) for w in words]
    notice = notice_kind(record)
    kind = "registration" if is_registration(record) else "notice" if notice else "article"
    return Features(
        source=record.source,
        source_id=record.source_id,
        ids=tuple(sorted(i for i in identifiers(record) if i[0] != "record")),
        kind=kind,
        notice=notice,
        protocol=protocol_status(record),
        preprint=is_preprint(record),
        precedence=precedence(record),
        year=year_of(record.published),
        title=title,
        title_key="".join(keys),
        words=tuple(sorted({k for w, k in zip(words, keys, strict=True) if w not in STOPWORDS})),
        numbers=title_numbers(title, words),
        authors=author_keys(record.authors),
        journal=journal_words(record.journal),
    )


def protocol_status(record: RecordData) -> bool | None:
    """True for a protocol paper, False when its types say otherwise, None when a record
    (a feed item, an imported reference) has no types and its title does not say."""
    if is_protocol(record):
        return True
    known = record.publication_types or record.extra.get("design") or is_registration(record)
    return False if known else None
