"""The view model: plain, frozen data that every renderer reads and nothing else.

The lead builds these from the database (or reloads a stored digest with
`digest_from_json`); renderers in `digest.render` turn them into Markdown, text, email
HTML, Atom and site pages without touching a database, a clock or a file.

Everything here that came from outside (titles, abstracts, journals, findings, source
urls, error messages) is untrusted plain text; renderers escape it and check urls.
Sequences are tuples so a view cannot change under a renderer.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from pydantic import TypeAdapter

# --------------------------------------------------------------------------- vocabulary


class Design(NamedTuple):
    """One study design of PRODUCT.md's vocabulary, with how much weight it carries."""

    slug: str
    label: str
    tier: str  # synthesis | trial | comparative | descriptive | planned | preclinical | ...
    tier_label: str


# Ordered strongest first: the evidence map's columns and a condition page's groups.
DESIGNS: tuple[Design, ...] = (
    Design("systematic-review", "Systematic review / meta-analysis", "synthesis", "Synthesis"),
    Design("guideline", "Guideline", "synthesis", "Synthesis"),
    Design("rct", "Randomized controlled trial", "trial", "Randomized trial"),
    Design("non-randomized-trial", "Non-randomized trial", "comparative", "Comparative"),
    Design("observational", "Observational study", "comparative", "Comparative"),
    Design("qualitative", "Qualitative study", "descriptive", "Descriptive"),
    Design("case-report", "Case report", "descriptive", "Descriptive"),
    Design("review", "Narrative review", "descriptive", "Descriptive"),
    Design("protocol", "Study protocol", "planned", "Plan of a study"),
    Design("trial-registration", "Trial registration", "planned", "Plan of a study"),
    Design("animal-or-lab", "Animal or laboratory study", "preclinical", "Not in people"),
    Design(
        "patient-information",
        "Patient information (not a guideline)",
        "information",
        "Patient information",
    ),
    Design("editorial", "Editorial, comment or letter", "commentary", "Opinion"),
    Design("notice", "Erratum or retraction notice", "commentary", "Notice"),
    Design("other", "Other", "other", "Other"),
)
DESIGN_BY_SLUG: Mapping[str, Design] = {d.slug: d for d in DESIGNS}


def design_of(slug: str) -> Design:
    """The vocabulary entry for a design slug; unknown slugs read as "other"."""
    return DESIGN_BY_SLUG.get(slug, DESIGN_BY_SLUG["other"])


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


@dataclass(frozen=True, slots=True)
class ChangeView:
    """Something already known that changed: a registration, an NCCIH page."""

    what: str  # e.g. "registration updated", "NCCIH guidance changed"
    summary: str
    on: date
    study_slug: str | None = None
    study_title: str | None = None
    url: str | None = None  # the changed page itself (NCCIH); http(s) only is rendered


@dataclass(frozen=True, slots=True)
class CorrectionView:
    """A retraction, erratum or concern found this week for a study already sent."""

    kind: str  # retraction | erratum | expression-of-concern | ...
    study: StudyView
    noted_on: date
    notice_slug: str | None = None
    notice_title: str | None = None
    first_sent_week: str | None = None  # the digest that carried the study, e.g. 2026-W45


@dataclass(frozen=True, slots=True)
class ConditionSection:
    """One condition's new studies in a digest, ranked by the caller."""

    slug: str
    label: str
    studies: tuple[StudyView, ...]


@dataclass(frozen=True, slots=True)
class DigestView:
    """One weekly digest. `built_at` is passed in (never now()) so builds reproduce."""

    week: str  # ISO week, "2026-W47"
    title: str
    period_start: date
    period_end: date
    built_at: datetime  # aware (UTC)
    sections: tuple[ConditionSection, ...] = ()
    registrations_changed: tuple[ChangeView, ...] = ()
    guidance_changes: tuple[ChangeView, ...] = ()
    corrections: tuple[CorrectionView, ...] = ()
    health: tuple[SourceHealth, ...] = ()
    out_of_scope_count: int = 0

    def studies(self) -> tuple[StudyView, ...]:
        """Each study once, in section order (a study may sit under two conditions)."""
        seen: dict[str, StudyView] = {}
        for section in self.sections:
            for study in section.studies:
                seen.setdefault(study.slug, study)
        return tuple(seen.values())

    # ------------------------------------------------------------ honest counts
    # "New" in a digest means "first found this week", not "new research": a study found
    # this week may have been published years ago. These say which is which.

    def timing(self, study: StudyView) -> str:
        """'this-week' (its stated date falls in the week), 'earlier' (its stated date,
        however coarse, ended before the week began) or 'unclear' (no date, a date not
        exact enough to tell, or a date after the week)."""
        return publication_timing(study.published, self.period_start, self.period_end)

    @property
    def published_this_week_count(self) -> int:
        return sum(1 for s in self.studies() if self.timing(s) == "this-week")

    @property
    def found_earlier_count(self) -> int:
        """Newly found this week, but published before the week."""
        return sum(1 for s in self.studies() if self.timing(s) == "earlier")

    @property
    def unclear_date_count(self) -> int:
        """Newly found this week, publication date not exact enough to tell."""
        return sum(1 for s in self.studies() if self.timing(s) == "unclear")

    @property
    def week_label(self) -> str:
        """'Week of 30 Nov 2026': the week in words (the ISO week goes beside it)."""
        return f"Week of {_day_words(self.period_start)}"

    # ------------------------------------------------------------ run health

    @property
    def failed_sources(self) -> tuple[str, ...]:
        return tuple(h.source for h in self.health if h.failed)

    @property
    def no_fetch_recorded(self) -> bool:
        """No source was fetched at all during the week."""
        return not self.health

    @property
    def all_sources_failed(self) -> bool:
        """Every source fetched this week failed (or none was fetched at all)."""
        return self.no_fetch_recorded or all(h.failed for h in self.health)

    @property
    def hold_send(self) -> bool:
        """True when the digest must not go to subscribers: no source could be searched,
        so "nothing found" would be untrue. The weekly job holds the send."""
        return self.all_sources_failed

    # ------------------------------------------------------------ ready wording

    @property
    def headline(self) -> str:
        """The honest one-line count, e.g. '1 study published this week · 4 found this
        week that were published earlier'."""
        if self.all_sources_failed and not self.studies():
            if self.no_fetch_recorded:
                return "No sources were searched this week"
            return "No source could be searched this week"
        parts = []
        if self.published_this_week_count:
            n = self.published_this_week_count
            parts.append(f"{_count(n, 'study', 'studies')} published this week")
        if self.found_earlier_count:
            n = self.found_earlier_count
            verb = "was" if n == 1 else "were"
            parts.append(f"{_count(n, 'study', 'studies')} newly found ({verb} published earlier)")
        if self.unclear_date_count:
            n = self.unclear_date_count
            parts.append(f"{_count(n, 'study', 'studies')} newly found (date not exact)")
        if not parts:
            return "No new studies found this week"
        return " · ".join(parts)

    @property
    def subject(self) -> str:
        """The email subject: title, the week in words, the honest count."""
        return _one_line(f"{self.title}, week of {_day_words(self.period_start)}: {self.headline}")


def _one_line(text: str) -> str:
    return " ".join(text.split())


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _day_words(value: date) -> str:
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _last_day(iso: str) -> tuple[date, date] | None:
    """The first and last day a stated date ('2026', '2026-11', '2026-11-30') can mean."""
    parts = iso.split("-")
    try:
        numbers = [int(p) for p in parts[:3]]
        if len(numbers) == 3:
            day = date(*numbers)
            return day, day
        if len(numbers) == 2:
            first = date(numbers[0], numbers[1], 1)
            following = date(numbers[0] + numbers[1] // 12, numbers[1] % 12 + 1, 1)
            return first, following - timedelta(days=1)
        return date(numbers[0], 1, 1), date(numbers[0], 12, 31)
    except (ValueError, IndexError):
        return None


def publication_timing(published: str | None, start: date, end: date) -> str:
    """'this-week', 'earlier' or 'unclear' for a stated publication date and a week."""
    span = _last_day(published) if published else None
    if span is None:
        return "unclear"
    first, last = span
    if first >= start and last <= end:
        return "this-week"
    if last < start:
        return "earlier"
    return "unclear"


# --------------------------------------------------------------------------- the site


@dataclass(frozen=True, slots=True)
class SiteSettings:
    title: str
    site_url: str  # absolute, e.g. https://digest.example.org/ (feeds need absolute urls)
    tag_authority: str  # "digest.example.org,2026": minted once, never changed
    recent_weeks_on_home: int = 8
    language: str = "en"

    @property
    def base_url(self) -> str:
        return self.site_url if self.site_url.endswith("/") else self.site_url + "/"


@dataclass(frozen=True, slots=True)
class ConditionView:
    """A condition's running evidence list (newest first, as the caller orders it)."""

    slug: str
    label: str
    studies: tuple[StudyView, ...]


@dataclass(frozen=True, slots=True)
class SiteView:
    """Everything the static archive shows. `built_at` is the newest digest's, passed in."""

    settings: SiteSettings
    built_at: datetime
    digests: tuple[DigestView, ...] = ()  # newest first
    studies: tuple[StudyView, ...] = ()
    conditions: tuple[ConditionView, ...] = ()
    slug_aliases: Mapping[str, str] = field(default_factory=dict)  # old slug -> current
    designs: tuple[Design, ...] = DESIGNS


# --------------------------------------------------------------------------- JSON form
# A built digest is stored as JSON (Digest.content) so the archive shows what was sent.


@functools.cache
def _digest_adapter() -> TypeAdapter[DigestView]:
    return TypeAdapter(DigestView)  # built on first use, once every view class exists


def digest_to_json(digest: DigestView) -> dict[str, Any]:
    """The JSON form of a built digest (dates as ISO strings), validated by pydantic."""
    result: dict[str, Any] = _digest_adapter().dump_python(digest, mode="json")
    return result


def digest_from_json(data: Mapping[str, Any]) -> DigestView:
    """A stored digest back as a DigestView (also reads the older named-tuple-as-object
    form that digests stored before this codec use)."""
    return _digest_adapter().validate_python(data)
