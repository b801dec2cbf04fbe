"""The evidence map: studies per condition by comparator and design, retractions apart."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from digest.classify.direction import DIRECTIONS, direction_of
from digest.views import ConditionView, Design, StudyView, design_of

# --------------------------------------------------------------------------- evidence map
# Volume (how many studies) and confidence (how big, how controlled, what the authors
# concluded) are shown apart, and nothing is coloured as if it meant "it works".
# Retracted studies are never counted: they are listed apart.

MAP_COMPARATORS: tuple[tuple[str, str], ...] = (
    ("sham", "Sham (simulated) acupuncture"),
    ("usual-care", "Usual care"),
    ("waitlist", "Waiting list or no treatment"),
    ("active", "Another active treatment (e.g. drugs, exercise)"),
    ("", "Comparison not stated"),
)
MAP_TRIAL_DESIGNS = ("rct", "non-randomized-trial")
MAP_WEIGHTY_DESIGNS = ("systematic-review", "rct")


@dataclass(frozen=True, slots=True)
class MapRow:
    """One condition of the evidence map; every count leaves retracted studies out."""

    slug: str
    label: str
    by_design: dict[str, int]
    by_comparator: dict[str, int]
    reviews: int
    rcts: int
    largest_rct: int | None
    sham_rcts: int
    directions: dict[str, int]  # over systematic reviews and RCTs
    registered: int  # trial registrations and protocols: plans, with no findings
    total: int
    retracted: tuple[StudyView, ...]

    @property
    def sham_share(self) -> str:
        if not self.rcts:
            return "no RCTs"
        return f"{self.sham_rcts} of {self.rcts} ({round(100 * self.sham_rcts / self.rcts)}%)"


@dataclass(frozen=True, slots=True)
class EvidenceMap:
    rows: tuple[MapRow, ...]
    designs: tuple[Design, ...]  # the design columns: any with a study, and SR and RCT
    comparators: tuple[tuple[str, str], ...] = MAP_COMPARATORS

    @property
    def retracted(self) -> tuple[tuple[MapRow, StudyView], ...]:
        return tuple((row, s) for row in self.rows for s in row.retracted)


def evidence_map(conditions: Iterable[ConditionView], designs: tuple[Design, ...]) -> EvidenceMap:
    """The map's rows from each condition's studies (a study counts once per condition)."""
    rows = []
    for condition in conditions:
        unique = list({s.slug: s for s in condition.studies}.values())
        counted = [s for s in unique if not s.retracted]
        by_design = {d.slug: 0 for d in designs}
        for study in counted:
            slug = design_of(study.design).slug
            by_design[slug] = by_design.get(slug, 0) + 1
        trials = [s for s in counted if s.design in MAP_TRIAL_DESIGNS]
        by_comparator = {slug: 0 for slug, _ in MAP_COMPARATORS}
        for study in trials:
            key = study.comparator if study.comparator in by_comparator else ""
            by_comparator[key] += 1
        rcts = [s for s in counted if s.design == "rct"]
        sizes = [s.sample_size for s in rcts if s.sample_size is not None]
        directions = {d: 0 for d in DIRECTIONS}
        for study in counted:
            if study.design in MAP_WEIGHTY_DESIGNS:
                directions[direction_of(study.key_finding).value] += 1
        rows.append(
            MapRow(
                slug=condition.slug,
                label=condition.label,
                by_design=by_design,
                by_comparator=by_comparator,
                reviews=by_design.get("systematic-review", 0),
                rcts=len(rcts),
                largest_rct=max(sizes) if sizes else None,
                sham_rcts=sum(1 for s in rcts if s.comparator == "sham"),
                directions=directions,
                registered=by_design.get("trial-registration", 0) + by_design.get("protocol", 0),
                total=len(counted),
                retracted=tuple(sorted((s for s in unique if s.retracted), key=lambda s: s.slug)),
            )
        )
    # the designs any row has, and always the two that carry most weight, so their gaps show
    shown = tuple(
        d
        for d in designs
        if d.slug in MAP_WEIGHTY_DESIGNS or any(row.by_design.get(d.slug) for row in rows)
    )
    return EvidenceMap(rows=tuple(rows), designs=shown)
