"""Classify a study honestly: design, topics, comparator, sample size, key finding, badges.

Pure: records in, a `Classification` out; no I/O. Decisions worth knowing:

- Design (digest/classify/design.py, tables in design_rules.py): records of a registry
  kind (`SourceTraits.registry`: ClinicalTrials.gov, ...) are always
  `trial-registration`; a page of a `page_design` kind (NCCIH) carries extra["design"]
  (sources.yaml's `design:`; a "What You Need To Know" fact sheet is
  `patient-information`, ranked below every design of evidence and never a guideline);
  then publication types
  (PubMed / Europe PMC / PMC); then the title and abstract text; MeSH only fills gaps,
  except Animals-without-Humans and cell/in-vitro headings: always `animal-or-lab`.
- Randomisation in the text promotes an untagged (or "Clinical Trial"-tagged) paper to
  `rct`. A *protocol* of an RCT is `protocol` (no results). A secondary, post-hoc or
  economic analysis of an RCT stays `rct`, and `design_evidence` says "secondary analysis
  of a randomised trial", so the digest can say so without ranking it below cohorts.
  A scoping review and a bibliometric analysis are `review`; a case series is
  `case-report` when its title says case report/series, otherwise `observational`.
- Topics (digest/classify/topics.py): MeSH exact + whole-word terms, exclude_terms
  blanked first, specific beats generic, negated and sham mentions do not count.
- In scope: an intervention of the topic model and, if `require_condition`, a condition.
- Comparator (trials, trial protocols and interventional registrations only):
  sham > active > usual-care > waitlist, the most demanding control the trial has; a
  registration's typed arms (SHAM_COMPARATOR, ...) decide before its summary text.
- Sample size: registrations' enrollment count, else the most plausible total in the
  abstract (digest/classify/extract.py). None for designs where a head count says nothing
  about strength (reviews, guidelines, editorials, notices, case reports, animal/lab).
- Key finding: verbatim conclusion of the abstract, read first from the record of the
  best-precedence kind (PubMed's abstract is the most complete and best sectioned), then
  the longest; a page's (NCCIH) first statement about acupuncture. None without an
  abstract and for registrations, protocols and notices (they have no findings).
- Badges: small-sample (< 50, for trials, observational studies, registrations and
  protocols), no-sham-control (a trial whose comparator is not sham/placebo),
  protocol-only (protocols, and registrations with neither posted results nor a results
  paper they cite), animal-or-lab,
  no-abstract, non-english (no record says English). The status badges (retracted,
  erratum, preprint) are not the classifier's: they come from the study's own flags
  (`digest.facts.status_badges`), so badge, banner and corrections never disagree.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from digest.classify import extract
from digest.classify import topics as topic_rules
from digest.classify.design import (
    DESIGNS,
    DesignCall,
    TextView,
    animal_from_mesh,
    bibliometric_title,
    design_from_mesh,
    design_from_tags,
    has_randomisation,
    rule_order,
    rule_patterns,
    text_design,
)
from digest.classify.text import abstract_sentences, title_sentence
from digest.config import TopicModel
from digest.facts import normalize_registry_id
from digest.model import RecordData
from digest.sources import traits_of

__all__ = [
    "BADGES",
    "COMPARATORS",
    "DESIGNS",
    "RULES_VERSION",
    "Classification",
    "classify",
    "classify_merged",
    "rules_fingerprint",
]

# Bump when a rule changes meaning without a pattern changing (the hash covers patterns).
# 3: key finding by kind precedence; registry and page kinds from the kinds' traits
# 4: patient-information design; bibliometric analyses are reviews (asked before a
#    systematic review's abstract cues); the overview rule ignores "it was demonstrated";
#    a study calling itself observational beats a mention of a trial; the text rules'
#    order is part of the hash
# 6: a bibliometric title beats a "Systematic Review" tag; "64 studies" is not a sample
RULES_REVISION = "6"
BADGES = (
    "small-sample",
    "no-sham-control",
    "protocol-only",
    "animal-or-lab",
    "no-abstract",
    "non-english",
)
COMPARATORS = ("sham", "usual-care", "waitlist", "active")
SMALL_SAMPLE = 50

_NO_SIZE_DESIGNS = frozenset(
    {
        "review",
        "guideline",
        "editorial",
        "notice",
        "case-report",
        "animal-or-lab",
        "other",
        "patient-information",
    }
)
_SIZE_BADGE_DESIGNS = frozenset(
    {"rct", "non-randomized-trial", "observational", "trial-registration", "protocol"}
)
_NO_FINDING_DESIGNS = frozenset({"trial-registration", "protocol", "notice"})
_ENGLISH = frozenset({"eng", "en", "english"})
_UNKNOWN_LANGUAGE = frozenset({"", "und", "mul", "zxx"})
_TRIAL_WORD = re.compile(r"\btrial\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Classification:
    """What digest.classify decided about a study, and why (`design_evidence`)."""

    design: str
    conditions: list[str] = field(default_factory=list)
    interventions: list[str] = field(default_factory=list)
    comparator: str | None = None
    sample_size: int | None = None
    key_finding: str | None = None
    badges: list[str] = field(default_factory=list)
    in_scope: bool = False
    design_evidence: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- fingerprint


def _rules_hash() -> str:
    parts = [
        RULES_REVISION,
        *rule_patterns(),
        *rule_order(),
        *extract.rule_patterns(),
        *(p.pattern for p in vars(topic_rules).values() if isinstance(p, re.Pattern)),
        repr((sorted(_NO_SIZE_DESIGNS), sorted(_SIZE_BADGE_DESIGNS), SMALL_SAMPLE, BADGES)),
        repr((DESIGNS, sorted(_NO_FINDING_DESIGNS))),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


RULES_VERSION = f"r{RULES_REVISION}-{_rules_hash()}"


def rules_fingerprint(topics: TopicModel) -> str:
    """RULES_VERSION plus a hash of the topic model: a change of either means reclassify."""
    model = hashlib.sha256(topics.model_dump_json().encode()).hexdigest()[:12]
    return f"{RULES_VERSION}+{model}"


# --------------------------------------------------------------------------- public API


def classify(record: RecordData, topics: TopicModel) -> Classification:
    """Classify one record."""
    return classify_merged([record], topics)


def classify_merged(records: Sequence[RecordData], topics: TopicModel) -> Classification:
    """Classify one study from all its records (every source's text; any record's tags)."""
    if not records:
        raise ValueError("classify_merged needs at least one record")
    publications = [r for r in records if not traits_of(r.source).registry]
    registrations = [r for r in records if traits_of(r.source).registry]
    view = _text_view(publications or registrations)
    call = _design(publications, registrations, view)
    matcher = topic_rules.compile_topics(topics)
    conditions, interventions = topic_rules.find_topics(
        matcher, topic_rules.topic_segments(records), [m for r in records for m in _mesh_of(r)]
    )
    comparator = _comparator(call.design, records, registrations, view)
    size = _sample_size(call.design, publications, registrations, view)
    return Classification(
        design=call.design,
        conditions=conditions,
        interventions=interventions,
        comparator=comparator,
        sample_size=size,
        key_finding=None if call.design in _NO_FINDING_DESIGNS else _key_finding(publications),
        badges=_badges(call.design, comparator, size, records, publications, registrations),
        in_scope=topic_rules.is_in_scope(matcher, conditions, interventions),
        design_evidence=call.evidence,
    )


# --------------------------------------------------------------------------- design


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v and v.strip()))


def _text_view(records: Sequence[RecordData]) -> TextView:
    titles = [s for t in _unique(r.title for r in records) for s in title_sentence(t)]
    abstracts = _unique(r.abstract or "" for r in records)
    return TextView(titles=titles, abstract=[s for a in abstracts for s in abstract_sentences(a)])


def _registration_evidence(registration: RecordData) -> str:
    """'registration NCT01234567 (interventional, randomized)': the registry id names the
    registry, so the words hold for any registry kind."""
    extra = registration.extra
    details = [
        str(extra.get(key)).lower().replace("_", " ")
        for key in ("study_type", "allocation")
        if extra.get(key)
    ]
    own_id = normalize_registry_id(registration.source_id)
    named = f"registration {own_id}" if own_id else "trial registration"
    return named + (f" ({', '.join(details)})" if details else "")


def _design(
    publications: Sequence[RecordData], registrations: Sequence[RecordData], view: TextView
) -> DesignCall:
    if not publications:
        return DesignCall("trial-registration", _registration_evidence(registrations[0]))
    for record in publications:
        page_design = record.extra.get("design")
        if traits_of(record.source).page_design and page_design in DESIGNS:
            return DesignCall(str(page_design), f"page marked {page_design}")
    tagged = design_from_tags(t for r in publications for t in r.publication_types)
    if tagged is not None:
        if tagged.design == "systematic-review" and (counted := bibliometric_title(view)):
            return DesignCall("review", f"{counted.evidence}, over {tagged.evidence}")
        return _promote_trial(tagged, view)
    mesh = [m for r in publications for m in _mesh_of(r)]
    animal = animal_from_mesh(mesh)
    if animal is not None:
        return animal
    from_text = text_design(view)
    from_mesh = design_from_mesh(mesh)
    if from_text is not None:
        if from_mesh and from_mesh.design == "qualitative" and from_text.design == "observational":
            return from_mesh
        return from_text
    return from_mesh or DesignCall("other", "no design cue in tags or text")


def _promote_trial(tagged: DesignCall, view: TextView) -> DesignCall:
    """A 'Clinical Trial'-type tag plus randomisation in the text is an RCT."""
    if tagged.design != "non-randomized-trial":
        return tagged
    randomised = has_randomisation(view)
    if randomised is None:
        return tagged
    return DesignCall("rct", f"{tagged.evidence}; {randomised.evidence}")


def _mesh_of(record: RecordData) -> list[str]:
    extra = record.extra
    registry_mesh = [
        m
        for key in ("condition_mesh", "intervention_mesh")
        for m in (extra.get(key) or [])
        if isinstance(m, str)
    ]
    return [*record.mesh_terms, *registry_mesh]


# --------------------------------------------------------------------------- comparator


def _is_trial(design: str, registrations: Sequence[RecordData], view: TextView) -> bool:
    if design in {"rct", "non-randomized-trial"}:
        return True
    if design == "trial-registration":
        study_type = str(registrations[0].extra.get("study_type") or "INTERVENTIONAL")
        return study_type.upper() == "INTERVENTIONAL"
    if design == "protocol":
        texts = [s.text for s in (*view.titles, *view.own)]
        return any(_TRIAL_WORD.search(t) for t in texts)
    return False


def _comparator(
    design: str,
    records: Sequence[RecordData],
    registrations: Sequence[RecordData],
    view: TextView,
) -> str | None:
    if not _is_trial(design, registrations, view):
        return None
    # a registry's typed arms say what the comparator is; its summary text only fills in
    arms = {c for r in records for c in extract.comparator_from_arms(r.extra.get("arm_groups"))}
    if arms:
        return extract.pick_comparator(arms)
    return extract.pick_comparator(
        extract.comparator_from_text(s.text for s in (*view.titles, *view.own))
    )


# --------------------------------------------------------------------------- size, finding


def _sample_size(
    design: str,
    publications: Sequence[RecordData],
    registrations: Sequence[RecordData],
    view: TextView,
) -> int | None:
    if design in _NO_SIZE_DESIGNS:
        return None
    enrollment = next(
        (c for r in registrations if (c := extract.enrollment_count(r.extra)) is not None), None
    )
    if not publications:
        return enrollment
    from_text = extract.sample_size_from_text(
        view.abstract, allow_n_equals=design != "systematic-review"
    )
    return from_text if from_text is not None else enrollment


def _key_finding(publications: Sequence[RecordData]) -> str | None:
    with_abstract = [r for r in publications if r.abstract and r.abstract.strip()]
    # the best-precedence kind's abstract (PubMed's: the most complete and best
    # sectioned); then the longest one
    with_abstract.sort(key=lambda r: (traits_of(r.source).precedence, -len(r.abstract or "")))
    for record in with_abstract:
        finding = (
            _page_statement(record.abstract)
            if traits_of(record.source).page_design
            else extract.key_finding(record.abstract)
        )
        if finding:
            return finding
    return None


_ABOUT_ACUPUNCTURE = re.compile(r"acupunct|needling|acupressure", re.IGNORECASE)


def _page_statement(abstract: str | None) -> str | None:
    """A page (NCCIH) has no conclusion section: its summary's first statement about
    acupuncture, verbatim (bullet marker dropped), or None when it says nothing about it."""
    for paragraph in (abstract or "").split("\n"):
        text = paragraph.strip().lstrip("-•* ").strip()
        if text and not text.endswith("?") and _ABOUT_ACUPUNCTURE.search(text):
            return text
    return None


# --------------------------------------------------------------------------- badges


def _non_english(records: Sequence[RecordData]) -> bool:
    languages = {(r.language or "").strip().lower() for r in records} - _UNKNOWN_LANGUAGE
    return bool(languages) and not languages & _ENGLISH


def _badges(
    design: str,
    comparator: str | None,
    size: int | None,
    records: Sequence[RecordData],
    publications: Sequence[RecordData],
    registrations: Sequence[RecordData],
) -> list[str]:
    trial = design in {"rct", "non-randomized-trial"} or (
        design == "trial-registration"
        and str(registrations[0].extra.get("study_type") or "INTERVENTIONAL").upper()
        == "INTERVENTIONAL"
    )
    # results posted on the registry, or a results paper the registry cites
    has_results = any(
        r.extra.get("has_results") is True or any(x.kind == "results-in" for x in r.relations)
        for r in registrations
    )
    flags = {
        "small-sample": size is not None and size < SMALL_SAMPLE and design in _SIZE_BADGE_DESIGNS,
        "no-sham-control": trial and comparator != "sham",
        "protocol-only": design == "protocol"
        or (design == "trial-registration" and not has_results),
        "animal-or-lab": design == "animal-or-lab",
        "no-abstract": not any(r.abstract and r.abstract.strip() for r in records),
        "non-english": _non_english(records),
    }
    return [badge for badge in BADGES if flags[badge]]
