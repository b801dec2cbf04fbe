"""The study-design vocabulary: every design slug, its label, tier and section."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

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
    Design("review", "Review (not systematic)", "descriptive", "Descriptive"),
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
