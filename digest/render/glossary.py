"""The glossary: one entry per label a reader meets, and its anchors."""

from __future__ import annotations

import functools
from typing import NamedTuple

from digest.render.labels import DESIGN_WORDS
from digest.views import DESIGNS

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
            f"{DESIGN_WORDS.get(d.slug, d.label)}. Kind of evidence: {d.tier_label}.",
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
