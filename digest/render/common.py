"""What every renderer shares: url building, date wording, labels, the Jinja environments."""

from __future__ import annotations

import functools
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, NamedTuple
from urllib.parse import quote

import jinja2

from digest.classify.direction import Direction, direction_of
from digest.render import sanitize
from digest.views import (
    DESIGNS,
    Design,
    DigestView,
    Link,
    RegistrationView,
    ResultsPaper,
    StudyView,
    design_of,
)

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Labels for badges the classifier may set; unknown badges read as their words.
BADGE_LABELS = {
    "large-sample": "Large sample",
    "small-sample": "Small sample",
    "sham-controlled": "Sham-controlled",
    "preprint": "Preprint: not peer reviewed",
    "retracted": "Retracted",
    "erratum": "Correction published",
    "has-results": "Results posted",
    "multicenter": "Multicentre",
    "no-sham-control": "No sham control",
    "protocol-only": "Protocol only",
    "animal-or-lab": "Animal or laboratory",
    "no-abstract": "No abstract",
    "non-english": "Not in English",
}

RELATED_LABELS = {
    "registration": "Trial registration",
    "protocol": "Protocol",
    "results": "Results paper",
    "secondary-analysis": "Secondary analysis",
    "erratum": "Erratum",
    "retraction": "Retraction notice",
    "retracts": "Retracts",
    "corrects": "Corrects",
    "comment": "Comment",
    "published-version": "Published version",
    "preprint": "Preprint version",
}


class Urls:
    """Where things live, relative (`../../`) for site pages or absolute for mail/feeds.

    `known_studies`, when given, is the set of slugs that have a page; `study_if_known`
    returns None for the others so no page links to a page that does not exist.
    """

    def __init__(self, base: str, known_studies: frozenset[str] | None = None) -> None:
        self.base = base
        self.known_studies = known_studies

    def _at(self, path: str) -> str:
        return (self.base + path) or "./"

    def home(self) -> str:
        return self._at("")

    def digest(self, week: str) -> str:
        return self._at(f"digests/{quote(week)}/")

    def archive(self) -> str:
        return self._at("digests/")

    def study(self, slug: str) -> str:
        return self._at(f"studies/{quote(slug, safe='')}/")

    def study_if_known(self, slug: str) -> str | None:
        if self.known_studies is not None and slug not in self.known_studies:
            return None
        return self.study(slug)

    def citation(self, slug: str, extension: str) -> str:
        return self._at(f"studies/{quote(slug, safe='')}/citation.{extension}")

    def studies(self) -> str:
        return self._at("studies/")

    def condition(self, slug: str) -> str:
        return self._at(f"conditions/{quote(slug, safe='')}/")

    def condition_feed(self, slug: str) -> str:
        return self._at(f"conditions/{quote(slug, safe='')}/feed.xml")

    def conditions(self) -> str:
        return self._at("conditions/")

    def feed(self) -> str:
        return self._at("feed.xml")

    def search(self) -> str:
        return self._at("search/")

    def evidence_map(self) -> str:
        return self._at("evidence-map/")

    def static(self, name: str) -> str:
        return self._at(f"static/{name}")

    def glossary(self, term: str | None = None) -> str:
        anchor = f"#{quote(term, safe='')}" if term else ""
        return self._at("glossary/") + anchor


# --------------------------------------------------------------------------- wording


def published_text(iso: str | None) -> str:
    """'2018-05-17' -> '17 May 2018', '2017-06' -> 'Jun 2017', '2013' -> '2013'."""
    if not iso:
        return "date not stated"
    parts = iso.split("-")
    try:
        numbers = [int(p) for p in parts[:3]]
    except ValueError:
        return sanitize.one_line(iso)
    if len(numbers) >= 2 and 1 <= numbers[1] <= 12:
        month = MONTHS[numbers[1] - 1]
        if len(numbers) == 3:
            return f"{numbers[2]} {month} {numbers[0]}"
        return f"{month} {numbers[0]}"
    return str(numbers[0])


def day_text(value: date) -> str:
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def period_text(start: date, end: date) -> str:
    """'16–22 Nov 2026', '30 Nov – 6 Dec 2026', '29 Dec 2025 – 4 Jan 2026'."""
    if start.year != end.year:
        return f"{day_text(start)} – {day_text(end)}"
    if start.month != end.month:
        return f"{start.day} {MONTHS[start.month - 1]} – {day_text(end)}"
    return f"{start.day}–{day_text(end)}"


def rfc3339(value: datetime) -> str:
    """An aware datetime as RFC 3339 in UTC ('2026-11-23T06:00:00Z'); naive = UTC."""
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def sample_size_text(n: int | None) -> str:
    return f"n = {n:,}" if n is not None else "n not stated"


COMPARATOR_LABELS = {
    "sham": "sham (simulated) or placebo acupuncture",
    "usual-care": "usual care",
    "waitlist": "waiting list or no treatment",
    "active": "another active treatment",
}


def comparator_label(slug: str | None) -> str:
    return COMPARATOR_LABELS.get(slug or "", (slug or "").replace("-", " "))


# --------------------------------------------------------------------------- glossary
# One entry per label a reader meets; every badge and design label links to its entry.


class GlossaryEntry(NamedTuple):
    anchor: str
    term: str
    text: str


def _entry(anchor: str, term: str, text: str) -> GlossaryEntry:
    return GlossaryEntry(anchor, term, text)


GLOSSARY_LABELS: tuple[GlossaryEntry, ...] = (
    _entry(
        "n",
        "n",
        "The number of people in a study (n = 640 means 640 people). For a "
        "registration it is the number the trial planned or enrolled.",
    ),
    _entry(
        "small-sample",
        "Small sample",
        "Fewer than 50 people took part. Small studies "
        "often find effects that larger studies do not confirm.",
    ),
    _entry(
        "large-sample",
        "Large sample",
        "Many people took part, so chance alone is less "
        "likely to explain the result. A large study can still be biased.",
    ),
    _entry(
        "no-sham-control",
        "No sham control",
        "The trial did not compare acupuncture with "
        "a sham (simulated) treatment, so people usually knew whether they got real acupuncture. "
        "Expectation can explain part of any benefit it reports.",
    ),
    _entry(
        "sham-controlled",
        "Sham-controlled",
        "Acupuncture was compared with a sham "
        "(simulated) treatment that looks like acupuncture, so expectation alone is less "
        "likely to explain the result. Shams differ: some needles touch the skin.",
    ),
    _entry(
        "protocol-only",
        "Protocol only",
        "The plan of a study, published before its "
        "results. It tells you a study is under way, not what it found.",
    ),
    _entry(
        "preprint",
        "Preprint",
        "A paper shared before peer review. Its results may "
        "change, or it may never be published in a journal.",
    ),
    _entry(
        "retracted",
        "Retracted",
        "The journal withdrew the paper (for errors, misconduct "
        "or unreliable data). Its findings should not be relied on. Retracted studies "
        "are never counted on the evidence map.",
    ),
    _entry(
        "erratum",
        "Correction published",
        "The journal published a correction (an "
        "erratum) to the paper. Read it with the correction.",
    ),
    _entry(
        "animal-or-lab",
        "Animal or laboratory",
        "A study in animals or cells, not in "
        "people. It can suggest how something might work, not whether it helps patients.",
    ),
    _entry(
        "no-abstract",
        "No abstract",
        "The record has no summary, so no finding could be quoted. Read the study itself.",
    ),
    _entry("non-english", "Not in English", "No record of the study says it is in English."),
    _entry("has-results", "Results posted", "The trial's results are posted on the registry."),
    _entry("multicenter", "Multicentre", "The study ran at more than one clinic or hospital."),
)

GLOSSARY_TIERS: tuple[GlossaryEntry, ...] = (
    _entry(
        "tier-synthesis",
        "Synthesis",
        "Systematic reviews and meta-analyses pool every "
        "study they could find on a question; guidelines turn such evidence into advice. "
        "The strongest kind of evidence, if the studies in it were good.",
    ),
    _entry(
        "tier-trial",
        "Randomized trial",
        "People are put into groups by chance (one gets "
        "acupuncture, another a comparison), so the groups differ only by the treatment.",
    ),
    _entry(
        "tier-comparative",
        "Comparative",
        "Groups are compared, but not assigned by "
        "chance, so other differences between them can explain the result.",
    ),
    _entry(
        "tier-descriptive",
        "Descriptive",
        "Case reports, qualitative studies and narrative "
        "reviews describe experience or opinion; they cannot show that a treatment works.",
    ),
    _entry(
        "tier-planned",
        "Plan of a study",
        "A trial registration or study protocol: a study "
        "that has been planned or started. It has no findings of its own.",
    ),
    _entry("tier-preclinical", "Not in people", "Animal and laboratory studies."),
    _entry(
        "tier-commentary",
        "Opinion or notice",
        "Editorials, letters, comments, errata and retraction notices: not studies.",
    ),
)

GLOSSARY_REGISTRY: tuple[GlossaryEntry, ...] = (
    _entry(
        "registered",
        "Registered",
        "The date the trial was first posted on the registry. "
        "A registration is a plan, not a publication.",
    ),
    _entry(
        "trial-status",
        "Trial status",
        "What the registry last said about the trial: "
        "Recruiting or Not yet recruiting (still looking for people), Active (running, "
        "no longer recruiting), Completed (finished), Terminated (stopped early), "
        "Withdrawn (stopped before anyone took part), Unknown (the sponsor stopped "
        "updating the record, so the registry no longer knows).",
    ),
    _entry(
        "enrolment",
        "Enrolment",
        "How many people the trial enrolled (actual) or plans to enrol (estimated).",
    ),
    _entry(
        "results-published",
        "Results published",
        "The registry names a paper reporting "
        "the trial's results. We link it; read the paper for what was found.",
    ),
    _entry(
        "no-results-yet",
        "No results yet",
        "The registry cites no results paper. Results "
        "may exist anyway: the search link looks for papers naming the trial's number.",
    ),
    _entry(
        "direction",
        "Direction of the conclusion",
        "Whether the authors' own conclusion "
        "says the treatment helped (benefit), did no better than the comparison (no "
        "difference) or that the evidence cannot tell (unclear), read from fixed phrases "
        "in the quoted finding. Not stated: the finding states no direction.",
    ),
)


def glossary_entries() -> tuple[tuple[str, tuple[GlossaryEntry, ...]], ...]:
    designs = tuple(
        _entry(
            d.slug,
            d.label,
            f"{_DESIGN_WORDS.get(d.slug, d.label)}. Kind of evidence: {d.tier_label}.",
        )
        for d in DESIGNS
    )
    return (
        ("Labels", GLOSSARY_LABELS),
        ("Kinds of evidence", GLOSSARY_TIERS),
        ("Study designs", designs),
        ("Trial registrations", GLOSSARY_REGISTRY),
    )


def glossary_anchor(term: str) -> str | None:
    """The glossary anchor of a badge or design slug, or None when it has no entry."""
    return term if term in _glossary_anchors() else None


@functools.cache
def _glossary_anchors() -> frozenset[str]:
    return frozenset(e.anchor for _, entries in glossary_entries() for e in entries)


# --------------------------------------------------------------------------- plain words

_DESIGN_WORDS = {
    "systematic-review": "A systematic review (a study that pools the earlier studies on a "
    "question)",
    "guideline": "A guideline (advice from an expert body)",
    "rct": "A randomised controlled trial (people put into groups by chance)",
    "non-randomized-trial": "A trial without random groups",
    "observational": "An observational study (people followed, not assigned a treatment)",
    "qualitative": "A qualitative study (interviews or experiences, not measurements)",
    "case-report": "A case report (one or a few patients)",
    "review": "A narrative review (an expert's summary, not a systematic search)",
    "protocol": "A study protocol (the plan of a study, before its results)",
    "trial-registration": "A trial registration (the plan of a trial, posted on a registry)",
    "animal-or-lab": "An animal or laboratory study (not in people)",
    "editorial": "An editorial, comment or letter (opinion, not a study)",
    "notice": "A notice (an erratum or a retraction)",
    "other": "A publication of another kind",
}
_SIZELESS = frozenset(
    {"systematic-review", "guideline", "review", "editorial", "notice", "animal-or-lab", "other"}
)
_ARM_COMPARATOR = {
    "SHAM_COMPARATOR": "sham (simulated) treatment",
    "PLACEBO_COMPARATOR": "placebo",
    "NO_INTERVENTION": "no treatment",
    "ACTIVE_COMPARATOR": "another active treatment",
}
ARM_LABELS = {
    "EXPERIMENTAL": "treatment being tested",
    **_ARM_COMPARATOR,
    "OTHER": "other",
}


def design_words(slug: str) -> str:
    return _DESIGN_WORDS.get(slug, _DESIGN_WORDS["other"])


def arm_label(kind: str | None) -> str:
    return ARM_LABELS.get(kind or "", (kind or "type not stated").replace("_", " ").lower())


def registration_comparators(reg: RegistrationView) -> list[str]:
    """The comparison arms of a registration, in words, each once, in registry order."""
    found: dict[str, None] = {}
    for arm in reg.arms:
        if arm.kind in _ARM_COMPARATOR:
            found.setdefault(_ARM_COMPARATOR[arm.kind])
    return list(found)


def _and_list(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def plain_lead(study: StudyView) -> str:
    """One line in plain words from extracted facts only: what kind of study, how many
    people, compared with what. What the authors concluded is quoted beside it."""
    words = design_words(study.design)
    treatment = study.interventions[0].label.lower() if study.interventions else "acupuncture"
    size = (
        study.registration.enrollment
        if study.registration and study.registration.enrollment is not None
        else study.sample_size
    )
    parts = [words]
    if study.design not in _SIZELESS:
        parts.append(
            f"with {size:,} {'person' if size == 1 else 'people'}"
            if size is not None
            else "number of people not stated"
        )
    if study.registration and registration_comparators(study.registration):
        versus = _and_list(registration_comparators(study.registration))
        parts.append(f"comparing {treatment} with {versus}")
    elif study.comparator:
        parts.append(f"comparing {treatment} with {comparator_label(study.comparator)}")
    elif study.design in ("rct", "non-randomized-trial", "trial-registration", "protocol"):
        parts.append("comparison not stated")
    return sanitize.one_line(", ".join(parts)) + "."


# Overall status enum -> (group, words, explanation). Groups: recruiting, active,
# completed, terminated, withdrawn, unknown.
_STATUS = {
    "NOT_YET_RECRUITING": ("recruiting", "Not yet recruiting", ""),
    "RECRUITING": ("recruiting", "Recruiting", ""),
    "ENROLLING_BY_INVITATION": ("recruiting", "Enrolling by invitation", ""),
    "ACTIVE_NOT_RECRUITING": ("active", "Active, not recruiting", "running"),
    "SUSPENDED": ("active", "Suspended", "paused"),
    "COMPLETED": ("completed", "Completed", ""),
    "TERMINATED": ("terminated", "Terminated", "stopped early"),
    "WITHDRAWN": ("withdrawn", "Withdrawn", "stopped before anyone took part"),
    "UNKNOWN": ("unknown", "Unknown", "the sponsor stopped updating the record"),
}


def trial_status(reg: RegistrationView) -> tuple[str, str]:
    """(group, words) of a registration's overall status. A legacy record's own wording
    ("Unknown status") is what is shown, with a plain explanation beside it."""
    group, words, why = _STATUS.get(reg.status or "", ("unknown", "Not stated by the registry", ""))
    shown = sanitize.one_line(reg.status_raw) if reg.status_raw else words
    return group, f"{shown} ({why})" if why else shown


def enrolment_text(reg: RegistrationView) -> str:
    if reg.enrollment is None:
        return "not stated"
    kind = {"ACTUAL": "actual", "ESTIMATED": "estimated"}.get(reg.enrollment_type or "")
    count = f"{reg.enrollment:,} {'person' if reg.enrollment == 1 else 'people'}"
    return f"{count} ({kind})" if kind else f"{count} (registry does not say actual or planned)"


def results_search_url(registry_id: str) -> str:
    return "https://pubmed.ncbi.nlm.nih.gov/?term=" + quote(registry_id, safe="")


def results_paper_label(paper: ResultsPaper) -> str:
    if paper.pmid:
        return f"PubMed {paper.pmid}"
    return f"DOI {paper.doi}" if paper.doi else "a paper"


def registry_summary(reg: RegistrationView) -> str:
    """'Trial status: Completed · started Apr 2004 · completed Jun 2007 · enrolment …'."""
    group, status = trial_status(reg)
    parts = [f"Trial status: {status}"]
    if reg.start_date:
        parts.append(f"started {published_text(reg.start_date)}")
    if reg.completion_date:
        word = "completed" if group == "completed" else "completion"
        parts.append(f"{word} {published_text(reg.completion_date)}")
    if reg.enrollment is not None:
        parts.append(f"enrolment {enrolment_text(reg)}")
    return " · ".join(parts)


def results_summary(reg: RegistrationView) -> tuple[str, tuple[str, ...]]:
    """The results line of a registration in plain text, and the urls it points to."""
    if reg.results:
        names = [
            results_paper_label(p) + (" (retracted)" if p.retracted else "") for p in reg.results
        ]
        urls = tuple(u for u in (sanitize.pubmed_url(p.pmid) for p in reg.results) if u)
        return "Results published: " + "; ".join(names), urls
    if reg.has_posted_results:
        url = sanitize.registry_url(reg.registry_id)
        return "Results are posted on the registry.", (url,) if url else ()
    return (
        "No results yet: the registry cites no paper reporting them. Look for them in PubMed:",
        (results_search_url(reg.registry_id),),
    )


def conclusion_direction(study: StudyView) -> Direction:
    return direction_of(study.key_finding)


SOURCE_LABELS = {
    "pubmed": "PubMed",
    "pubmed_rss": "PubMed (saved search feed)",
    "clinicaltrials": "ClinicalTrials.gov (trial registry)",
    "europepmc": "Europe PMC",
    "nccih": "NCCIH (US National Center for Complementary and Integrative Health)",
    "rss": "a journal's news feed",
    "library": "the clinic's own reference library",
    "import": "an imported reference list",
}


def source_label(source: str) -> str:
    return SOURCE_LABELS.get(source, source)


def how_made_line(digest: DigestView) -> str:
    """The subscriber's one plain line on how the digest was made (no pipeline counts)."""
    total = len(digest.health)
    if digest.no_fetch_recorded:
        return (
            "No research source was searched this week, so this digest cannot say whether "
            "anything new was published."
        )
    failed = len(digest.failed_sources)
    base = (
        f"A computer searched {total} research source{'s' if total != 1 else ''} (such as "
        "PubMed and ClinicalTrials.gov), sorted what it found by study design and quoted "
        "each conclusion as the authors wrote it; no one rated the studies."
    )
    if failed == total:
        return (
            f"No research source could be searched this week ({total} tried), so this "
            "digest cannot say whether anything new was published."
        )
    if failed:
        return (
            base + f" {failed} of {total} sources could not be reached, so some studies "
            "may be missing; they will appear once the source is searched again."
        )
    return base


def failure_notice(digest: DigestView) -> str | None:
    """The plain warning a digest opens with when its sources failed, else None."""
    if digest.no_fetch_recorded:
        return (
            "No research source was searched this week. This is not a quiet week: we "
            "cannot say whether anything new was published."
        )
    failed, total = len(digest.failed_sources), len(digest.health)
    if failed == total:
        return (
            f"Every research source failed this week ({total} of {total}). This is not a "
            "quiet week: we could not look, so we cannot say whether anything new was "
            "published."
        )
    if failed:
        return (
            f"{failed} of {total} research sources could not be searched this week, so this "
            "digest may be missing studies. They will appear once the source is searched "
            "again."
        )
    return None


def badge_label(slug: str) -> str:
    return BADGE_LABELS.get(slug, slug.replace("-", " ").capitalize())


def related_label(kind: str) -> str:
    return RELATED_LABELS.get(kind, kind.replace("-", " ").capitalize())


def design_label(study: StudyView) -> str:
    return study.design_label or design_of(study.design).label


def design_tier(study: StudyView) -> str:
    return design_of(study.design).tier


def retracted_prefix(study: StudyView) -> bool:
    """Whether to put "[Retracted]" before a title: not when the title itself already says
    so ("RETRACTED: …"), which would read "[Retracted] RETRACTED: …"."""
    return study.retracted and not re.match(r"\W*retract", study.title, re.IGNORECASE)


def shows_n(study: StudyView) -> bool:
    """A head count says nothing for reviews, guidelines, opinion and notices: no "n not
    stated" for them (a stated n is always shown)."""
    return study.sample_size is not None or study.design not in _SIZELESS


def shown_badges(study: StudyView) -> tuple[str, ...]:
    """The labels to show: "protocol-only" is left out where the item already says, once,
    that it has no results (registrations and protocols), and never shown for a
    registration whose registry cites results."""
    if study.design in ("trial-registration", "protocol"):
        return tuple(b for b in study.badges if b != "protocol-only")
    return study.badges


def no_results_yet(study: StudyView) -> bool:
    """Registrations and protocols have no findings to report, by their nature."""
    return study.design in ("trial-registration", "protocol")


NO_RESULTS_TEXT = {
    "trial-registration": "No results yet: this is a trial registration (the plan of a study).",
    "protocol": "No results yet: this is a study protocol (the plan of a study).",
}


def no_results_text(study: StudyView) -> str:
    return NO_RESULTS_TEXT.get(study.design, "No results yet.")


def study_links(study: StudyView) -> tuple[Link, ...]:
    """PubMed, DOI, PMC and registry links from the ids, then the extra links; http(s) only."""
    links: list[Link] = []
    for kind, label, url in (
        ("pubmed", f"PubMed {study.pmid}", sanitize.pubmed_url(study.pmid)),
        ("doi", f"DOI {study.doi}", sanitize.doi_url(study.doi)),
        ("pmc", f"PubMed Central {study.pmcid}", sanitize.pmc_url(study.pmcid)),
    ):
        if url:
            links.append(Link(kind, label, url))
    for nct in study.nct_ids:
        url = sanitize.registry_url(nct)
        if url:
            links.append(Link("registry", f"ClinicalTrials.gov {nct.upper()}", url))
    for link in study.links:
        url = sanitize.safe_url(link.url)
        if url:
            links.append(Link(link.kind, link.label, url))
    unique: dict[str, Link] = {}
    for link in links:
        unique.setdefault(link.url, link)  # the first link to a url wins
    return tuple(unique.values())


def wrap_text(text: str | None, first: str = "", rest: str = "", width: int = 72) -> str:
    """One paragraph folded at `width`; urls and long words are never broken."""
    return textwrap.fill(
        sanitize.one_line(text),
        width=width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )


def authors_text(authors: tuple[str, ...], limit: int = 6) -> str:
    if not authors:
        return ""
    shown = ", ".join(authors[:limit])
    return f"{shown}, et al." if len(authors) > limit else shown


# --------------------------------------------------------------------------- Jinja


@dataclass(frozen=True, slots=True)
class _Helpers:
    """Functions templates call; kept in one place so every format words things alike."""

    published: Callable[[str | None], str] = published_text
    day: Callable[[date], str] = day_text
    period: Callable[[date, date], str] = period_text
    sample_size: Callable[[int | None], str] = sample_size_text
    badge: Callable[[str], str] = badge_label
    related: Callable[[str], str] = related_label
    design_label: Callable[[StudyView], str] = design_label
    tier: Callable[[StudyView], str] = design_tier
    no_results_yet: Callable[[StudyView], bool] = no_results_yet
    no_results_text: Callable[[StudyView], str] = no_results_text
    links: Callable[[StudyView], tuple[Link, ...]] = study_links
    safe_url: Callable[[str | None], str | None] = sanitize.safe_url
    authors: Callable[..., str] = authors_text
    lead: Callable[[StudyView], str] = plain_lead
    status: Callable[[RegistrationView], tuple[str, str]] = trial_status
    enrolment: Callable[[RegistrationView], str] = enrolment_text
    arm: Callable[[str | None], str] = arm_label
    results_search: Callable[[str], str] = results_search_url
    paper: Callable[[ResultsPaper], str] = results_paper_label
    pubmed_url: Callable[[str | None], str | None] = sanitize.pubmed_url
    registry_url: Callable[[str | None], str | None] = sanitize.registry_url
    source: Callable[[str], str] = source_label
    how_made: Callable[[DigestView], str] = how_made_line
    failure: Callable[[DigestView], str | None] = failure_notice
    gloss: Callable[[str], str | None] = glossary_anchor
    direction: Callable[[StudyView], Direction] = conclusion_direction
    shown_badges: Callable[[StudyView], tuple[str, ...]] = shown_badges
    shows_n: Callable[[StudyView], bool] = shows_n
    retracted_prefix: Callable[[StudyView], bool] = retracted_prefix
    registry_summary: Callable[[RegistrationView], str] = registry_summary
    results_summary: Callable[[RegistrationView], tuple[str, tuple[str, ...]]] = results_summary


HELPERS = _Helpers()


def _globals() -> dict[str, Any]:
    designs: tuple[Design, ...] = DESIGNS
    return {"h": HELPERS, "designs": designs}


def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("digest", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(_globals())
    env.filters["comparator"] = comparator_label
    return env


@functools.cache
def html_env() -> jinja2.Environment:
    """HTML: autoescape on, undefined names are errors."""
    return _environment(autoescape=True)


@functools.cache
def text_env() -> jinja2.Environment:
    """Markdown and plain text: no HTML escaping; templates escape Markdown with `md`."""
    env = _environment(autoescape=False)
    env.filters["md"] = sanitize.markdown_escape
    env.filters["line"] = sanitize.one_line
    env.filters["wrap"] = wrap_text
    env.filters["badge"] = badge_label
    return env
