"""A study in plain words: design words, the plain lead, badges, labels and links."""

from __future__ import annotations

import re

from digest.classify.direction import Direction, direction_of
from digest.render import sanitize
from digest.render.wording import comparator_label
from digest.views import Link, RegistrationView, StudyView, design_of

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
    "withdrawal": "Withdrawal notice",
    "correction": "Correction notice",
    "expression-of-concern": "Expression of concern",
    "new-version": "New version",
    "reinstatement": "Retraction reversed",
    "retracts": "Retracts",
    "corrects": "Corrects",
    "comment": "Comment",
    "published-version": "Published version",
    "preprint": "Preprint version",
}


# --------------------------------------------------------------------------- plain words

DESIGN_WORDS = {
    "systematic-review": "A systematic review (a study that pools the earlier studies on a "
    "question)",
    "guideline": "A guideline (advice from an expert body)",
    "rct": "A randomised controlled trial (people put into groups by chance)",
    "non-randomized-trial": "A trial without random groups",
    "observational": "An observational study (people followed, not assigned a treatment)",
    "qualitative": "A qualitative study (interviews or experiences, not measurements)",
    "case-report": "A case report (one or a few patients)",
    "review": (
        "A review that is not systematic (a summary or a count of the literature,"
        " not a systematic search that pools results)"
    ),
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
    return DESIGN_WORDS.get(slug, DESIGN_WORDS["other"])


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
def conclusion_direction(study: StudyView) -> Direction:
    return direction_of(study.key_finding)


def badge_label(slug: str) -> str:
    return BADGE_LABELS.get(slug, slug.replace("-", " ").capitalize())


def related_label(kind: str) -> str:
    return RELATED_LABELS.get(kind, kind.replace("-", " ").capitalize())


_ASSERTERS = {
    "publisher": "the publisher",
    "retraction-watch": "Retraction Watch (through Crossref)",
    "pubmed": "PubMed",
    "europepmc": "Europe PMC",
    "crossref": "Crossref",
}


def asserted_text(asserted_by: str) -> str:
    """Who records a notice, in words: 'the publisher and Retraction Watch (through Crossref)'."""
    names = [_ASSERTERS.get(a, a) for a in asserted_by.split("+") if a]
    return " and ".join(names) or "its source"


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
