"""One study as readers see it, and the small parts (tags, links, sources, registrations)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

# --------------------------------------------------------------------------- small parts


class Tag(NamedTuple):
    """A condition or intervention of the topic model."""

    slug: str
    label: str


class Link(NamedTuple):
    """An extra outbound link of a study (kind: pubmed, doi, pmc, registry, other)."""

    kind: str
    label: str
    url: str


class SourceRef(NamedTuple):
    """One source that reported a study, as that source identified it."""

    source: str
    source_id: str
    url: str | None = None


class RelatedRef(NamedTuple):
    """A link to another work (kind: registration, erratum, retraction, comment, ...)."""

    kind: str
    slug: str
    title: str


class SourceHealth(NamedTuple):
    """How one source's fetches went during the digest's week."""

    source: str
    fetched: int
    new: int
    failed: bool
    error: str | None = None


# --------------------------------------------------------------------------- registrations


class Arm(NamedTuple):
    """One arm of a registered trial, in the registry's words; `kind` is the registry's
    arm type (EXPERIMENTAL, SHAM_COMPARATOR, PLACEBO_COMPARATOR, NO_INTERVENTION, ...)."""

    label: str
    kind: str | None = None


class ResultsPaper(NamedTuple):
    """A results paper the registry itself cites (a `results-in` relation).

    `slug` is the paper's study page when the archive holds it, else None."""

    pmid: str | None = None
    doi: str | None = None
    slug: str | None = None
    title: str | None = None
    retracted: bool = False


@dataclass(frozen=True, slots=True)
class RegistrationView:
    """What a trial registry says about a trial, from the registration record.

    `status` is the registry's overall status as an enum (COMPLETED, RECRUITING, ...,
    UNKNOWN); `status_raw` keeps a legacy record's own wording ("Unknown status").
    Dates are ISO, as precise as the registry gives them. `registered` is the date the
    registration was first posted: a registration is registered, never "published"."""

    registry_id: str
    status: str | None = None
    status_raw: str | None = None
    last_known_status: str | None = None
    why_stopped: str | None = None
    registered: str | None = None
    start_date: str | None = None
    primary_completion_date: str | None = None
    completion_date: str | None = None
    enrollment: int | None = None
    enrollment_type: str | None = None  # ACTUAL | ESTIMATED | None (not stated)
    arms: tuple[Arm, ...] = ()
    results: tuple[ResultsPaper, ...] = ()  # papers the registry cites as its results
    has_posted_results: bool = False  # results posted on the registry itself


# --------------------------------------------------------------------------- the clinic's words


@dataclass(frozen=True, slots=True)
class StaffTake:
    """What the clinic's staff said about a study in a sent issue (the staff desk):
    their "our take" note and the scarce "changes the picture for <condition>" label.
    Plain text, the clinic's own words, never the study's: renderers escape it and mark
    it as the clinic's."""

    note: str | None = None
    label: Tag | None = None  # the condition whose picture it changes
    label_reason: str | None = None
    week: str | None = None  # the issue that carried it


# --------------------------------------------------------------------------- notices


@dataclass(frozen=True, slots=True)
class NoticeRef:
    """A notice about a study the re-check found (digest.facts.notices): its kind, its
    words, its own date and link, who asserts it, when the digest first saw it."""

    kind: str  # digest.facts.NOTICE_TYPES
    label: str  # "Retracted", "Expression of concern", ...
    sentence: str
    dated: str | None = None  # the notice's own date, as its source gave it
    url: str | None = None  # the notice itself (doi.org or PubMed)
    asserted_by: str = "publisher"
    first_seen: date | None = None


# --------------------------------------------------------------------------- studies


@dataclass(frozen=True, slots=True)
class StudyView:
    """One study as readers see it. `published` is an ISO date as precise as known."""

    slug: str
    title: str
    design: str
    design_label: str
    authors: tuple[str, ...] = ()
    journal: str | None = None
    published: str | None = None
    conditions: tuple[Tag, ...] = ()
    interventions: tuple[Tag, ...] = ()
    comparator: str | None = None
    sample_size: int | None = None
    key_finding: str | None = None  # verbatim from the abstract, never paraphrased
    badges: tuple[str, ...] = ()
    abstract: str | None = None
    pmid: str | None = None
    doi: str | None = None
    pmcid: str | None = None
    nct_ids: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()  # extra links; PubMed/DOI/PMC/registry come from the ids
    sources: tuple[SourceRef, ...] = ()
    retracted: bool = False
    has_erratum: bool = False
    related: tuple[RelatedRef, ...] = ()
    first_seen: date | None = None
    is_preprint: bool = False
    language: str | None = None
    # for citations (PubMed's journal data); optional
    journal_abbrev: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    # Atom: the key the study's entry id was minted from. Pass the study's FIRST slug so
    # the id survives a merge that changes the slug; None means the current slug.
    feed_key: str | None = None
    # Atom: the last change readers should hear about (e.g. a retraction flagged)
    updated: datetime | None = None
    # a trial registration's registry facts (status, dates, arms, cited results)
    registration: RegistrationView | None = None
    # the clinic's note and label from the issue that carried it (None: staff said nothing)
    take: StaffTake | None = None
    # notices the re-check found (retraction, concern, correction, ...), oldest first, and
    # the one the banner leads with (digest.facts.standing); None: no notice known
    notices: tuple[NoticeRef, ...] = ()
    standing: str | None = None
