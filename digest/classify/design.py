"""Study design: from publication types and MeSH when a source gives them, else from text.

Order of authority (documented in digest/classify/classify.py):
1. Registry records (ClinicalTrials.gov, ...) are `trial-registration`; a page (NCCIH)
   carries its design.
2. Publication types (PubMed's, Europe PMC's pubTypeList, PMC's JATS article types), in
   the order of `design_rules.TAG_DESIGNS`; a trial type without "randomized" is
   promoted to `rct` when the text shows randomisation (only ~85% of RCTs carry PubMed's
   RCT tag).
3. The text of title and abstract, `text_design` (RSS, Europe PMC lite and imports carry
   no tags, so this path must stand on its own).
4. MeSH check tags only fill what the text leaves open, except Animals without Humans and
   cell/in-vitro headings, which always win ("rats were randomly divided" is not an RCT).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from digest.classify.design_rules import (
    ABOUT_OTHERS,
    ANIMAL,
    ANIMAL_MESH,
    BIBLIOMETRIC,
    CASE_ABSTRACT,
    CASE_TITLE,
    DESIGNS,
    EDITORIAL_TITLE,
    GUIDELINE_ABSTRACT,
    GUIDELINE_TITLE,
    GUIDELINE_TITLE_NOT,
    HUMAN,
    HUMAN_MESH,
    LAB,
    LAB_MESH,
    MIN_OVERVIEW_SENTENCES,
    NOT_RANDOM,
    NOT_REVIEW,
    NOTICE_TITLE,
    NRT,
    OBSERVATIONAL,
    OBSERVATIONAL_MESH,
    OBSERVATIONAL_SELF,
    OTHERS_REPORTED,
    OWN_EXPERIMENT,
    OWN_SECTIONS,
    OWN_STUDY,
    PROTOCOL_FUTURE,
    PROTOCOL_TITLE,
    QUALITATIVE,
    QUALITATIVE_MESH,
    REVIEW_ABSTRACT,
    REVIEW_TITLE,
    SECONDARY,
    SR_ABSTRACT,
    SR_TITLE,
    TAG_DESIGNS,
    TITLE_RANDOM,
    TRIAL_RANDOM,
    rule_patterns,
)
from digest.classify.text import Sentence, mesh_key

__all__ = ["DESIGNS", "DesignCall", "TextView", "rule_order", "rule_patterns"]


@dataclass(frozen=True, slots=True)
class DesignCall:
    design: str
    evidence: str


# --------------------------------------------------------------------------- tags


def normalise_tag(value: str) -> str:
    return " ".join(value.lower().replace("_", " ").split())


def design_from_tags(publication_types: Iterable[str]) -> DesignCall | None:
    """The most authoritative design the publication types name, or None."""
    tags = {normalise_tag(t) for t in publication_types}
    for design, names in TAG_DESIGNS:
        hit = sorted(tags & names)
        if hit:
            return DesignCall(design, f"publication type: {hit[0]}")
    return None


def _mesh_set(mesh_terms: Iterable[str]) -> set[str]:
    return {mesh_key(m) for m in mesh_terms}


def animal_from_mesh(mesh_terms: Iterable[str]) -> DesignCall | None:
    """Animals without Humans, or cell/in-vitro headings (human cells included): an animal or
    lab study, whatever the text says ("rats were randomly divided" is not an RCT)."""
    mesh = _mesh_set(mesh_terms)
    if mesh & LAB_MESH:
        return DesignCall("animal-or-lab", f"MeSH: {sorted(mesh & LAB_MESH)[0]}")
    if mesh & ANIMAL_MESH and not mesh & HUMAN_MESH:
        return DesignCall("animal-or-lab", "MeSH: Animals (no Humans)")
    return None


def design_from_mesh(mesh_terms: Iterable[str]) -> DesignCall | None:
    """Design headings that only fill what tags and text leave open."""
    mesh = _mesh_set(mesh_terms)
    for design, names in (
        ("qualitative", QUALITATIVE_MESH),
        ("observational", OBSERVATIONAL_MESH),
    ):
        if mesh & names:
            return DesignCall(design, f"MeSH: {sorted(mesh & names)[0]}")
    return None


# --------------------------------------------------------------------------- text


@dataclass(frozen=True, slots=True)
class TextView:
    """The sentences the text rules look at: the title(s), and the abstract's."""

    titles: list[Sentence]
    abstract: list[Sentence]

    @property
    def own(self) -> list[Sentence]:
        """Abstract sentences about this study (not background, not admin)."""
        return [s for s in self.abstract if s.section in OWN_SECTIONS]


def _quote(match: re.Match[str], where: str) -> str:
    return f'text: "{match.group(0).strip()}" ({where})'


def _first(pattern: re.Pattern[str], sentences: Iterable[Sentence]) -> re.Match[str] | None:
    for sentence in sentences:
        match = pattern.search(sentence.text)
        if match:
            return match
    return None


def _blank(pattern: re.Pattern[str], text: str) -> str:
    """Text with the pattern's matches replaced by spaces (offsets unchanged)."""
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


def _random_cue(sentence: Sentence) -> re.Match[str] | None:
    """A cue that *this* study randomised, ignoring 'Mendelian randomization', 'non-randomised',
    'randomly selected' and sentences about other studies or future needs."""
    cleaned = _blank(NOT_RANDOM, sentence.text)
    match = TRIAL_RANDOM.search(cleaned)
    if match is None:
        return None
    if ABOUT_OTHERS.search(sentence.text) and not OWN_STUDY.search(cleaned):
        return None
    return match


def _title_rule(
    view: TextView, design: str, pattern: re.Pattern[str], veto: re.Pattern[str] | None = None
) -> DesignCall | None:
    for title in view.titles:
        if veto is not None and veto.search(title.text):
            continue
        match = pattern.search(title.text)
        if match:
            return DesignCall(design, _quote(match, "title"))
    return None


def bibliometric_title(view: TextView) -> DesignCall | None:
    """A title naming a bibliometric analysis: indexers sometimes tag one "Systematic
    Review", but it counts publications and pools no effects, so it is a `review`."""
    return _title_rule(view, "review", BIBLIOMETRIC)


def _abstract_rule(view: TextView, design: str, pattern: re.Pattern[str]) -> DesignCall | None:
    match = _first(pattern, view.own)
    return DesignCall(design, _quote(match, "abstract")) if match else None


def _protocol(view: TextView) -> DesignCall | None:
    call = _title_rule(view, "protocol", PROTOCOL_TITLE)
    if call:
        return call
    future = _first(PROTOCOL_FUTURE, view.own)
    if future:
        return DesignCall("protocol", _quote(future, "abstract, future tense"))
    if any(s.section == "protocol" for s in view.abstract):
        return DesignCall("protocol", "abstract section: Ethics and dissemination")
    return None


def _animal_title(view: TextView) -> DesignCall | None:
    for title in view.titles:
        match = ANIMAL.search(title.text) or LAB.search(title.text)
        if match and not HUMAN.search(title.text):
            return DesignCall("animal-or-lab", _quote(match, "title"))
    return None


def _animal_abstract(view: TextView) -> DesignCall | None:
    """Animals or lab work in the methods and results, and (almost) no people."""
    hits = [s for s in view.own if ANIMAL.search(s.text) or LAB.search(s.text)]
    humans = [s for s in view.own if HUMAN.search(s.text)]
    if (len(hits) >= 2 and len(hits) > 2 * len(humans)) or (len(hits) == 1 and not humans):
        match = ANIMAL.search(hits[0].text) or LAB.search(hits[0].text)
        assert match is not None
        return DesignCall("animal-or-lab", _quote(match, f"abstract, {len(hits)} sentences"))
    return None


def _randomised_title(view: TextView) -> DesignCall | None:
    for title in view.titles:
        match = TITLE_RANDOM.search(_blank(NOT_RANDOM, title.text))
        if match:
            return _rct_call(view, f'text: "{match.group(0)}" (title)')
    return None


def _randomised_abstract(view: TextView) -> DesignCall | None:
    """Randomisation of *this* study, outnumbering explicit non-randomisation."""
    nrt = [s for s in view.own if NOT_RANDOM.search(s.text) and NRT.search(s.text)]
    randomised = [(s, m) for s in view.own if (m := _random_cue(s))]
    if randomised and len(randomised) > len(nrt):
        return _rct_call(view, _quote(randomised[0][1], "abstract"))
    return None


def _randomised(view: TextView) -> DesignCall | None:
    return _randomised_title(view) or _randomised_abstract(view)


def _rct_call(view: TextView, evidence: str) -> DesignCall:
    """An RCT; a secondary analysis of one is still `rct` (the evidence says so)."""
    secondary = _first(SECONDARY, [*view.titles, *view.own])
    if secondary:
        evidence += f"; {secondary.group(0).lower()} of a randomised trial"
    return DesignCall("rct", evidence)


def _review(view: TextView) -> DesignCall | None:
    for title in view.titles:
        cleaned = NOT_REVIEW.sub(" ", title.text)
        match = REVIEW_TITLE.search(cleaned)
        if match:
            return DesignCall("review", f'text: "{match.group(0).strip()}" (title)')
    for sentence in view.own:
        cleaned = NOT_REVIEW.sub(" ", sentence.text)
        match = REVIEW_ABSTRACT.search(cleaned)
        if match:
            return DesignCall("review", f'text: "{match.group(0).strip()}" (abstract)')
    return None


def _overview(view: TextView) -> DesignCall | None:
    """A narrative review that never says so: several sentences, none in the past tense of
    an experiment ("was", "were", "we measured"), none reporting a case."""
    own = view.own
    if len(own) < MIN_OVERVIEW_SENTENCES:
        return None
    if any(
        OWN_EXPERIMENT.search(_blank(OTHERS_REPORTED, s.text)) or CASE_ABSTRACT.search(s.text)
        for s in own
    ):
        return None
    return DesignCall(
        "review", f"text: {len(own)} sentences, none reporting own methods or results"
    )


_Rule = Callable[[TextView], DesignCall | None]


def _named(rule: _Rule, name: str) -> _Rule:
    """A rule with a name that says what it asks: the order of TEXT_RULES is part of
    what the rules mean, so `rule_order` (and RULES_VERSION) lists these names."""
    rule.__name__ = rule.__qualname__ = name
    return rule


def _pattern_name(pattern: re.Pattern[str]) -> str:
    names = [k for k, v in globals().items() if v is pattern and k.isupper()]
    return names[0] if names else pattern.pattern


def _title_only(design: str, pattern: re.Pattern[str]) -> _Rule:
    return _named(
        lambda view: _title_rule(view, design, pattern),
        f"title({design}, {_pattern_name(pattern)})",
    )


def _abstract_only(design: str, pattern: re.Pattern[str]) -> _Rule:
    return _named(
        lambda view: _abstract_rule(view, design, pattern),
        f"abstract({design}, {_pattern_name(pattern)})",
    )


def _both(design: str, title: re.Pattern[str], abstract: re.Pattern[str]) -> _Rule:
    return _named(
        lambda view: _title_rule(view, design, title) or _abstract_rule(view, design, abstract),
        f"title-or-abstract({design}, {_pattern_name(title)}, {_pattern_name(abstract)})",
    )


def _guideline(view: TextView) -> DesignCall | None:
    call = _title_rule(view, "guideline", GUIDELINE_TITLE, veto=GUIDELINE_TITLE_NOT)
    return call or _abstract_rule(view, "guideline", GUIDELINE_ABSTRACT)


# The text rules, strongest first. What a paper *is* (a notice, a protocol, a synthesis)
# beats what it *mentions* (randomised trials, rats, cohorts); a design named in the title
# beats one read from the abstract.
TEXT_RULES: tuple[_Rule, ...] = (
    _title_only("notice", NOTICE_TITLE),
    _title_only("editorial", EDITORIAL_TITLE),
    _protocol,
    _title_only("systematic-review", SR_TITLE),
    _both("review", BIBLIOMETRIC, BIBLIOMETRIC),
    _abstract_only("systematic-review", SR_ABSTRACT),
    _guideline,
    _title_only("case-report", CASE_TITLE),
    _review,
    _animal_title,
    _title_only("qualitative", QUALITATIVE),
    _randomised_title,
    _title_only("non-randomized-trial", NRT),
    _title_only("observational", OBSERVATIONAL),
    _overview,
    _animal_abstract,
    _randomised_abstract,
    _abstract_only("observational", OBSERVATIONAL_SELF),
    _abstract_only("non-randomized-trial", NRT),
    _abstract_only("qualitative", QUALITATIVE),
    _abstract_only("case-report", CASE_ABSTRACT),
    _abstract_only("observational", OBSERVATIONAL),
)


def rule_order() -> list[str]:
    """The text rules' names in the order they are asked (part of RULES_VERSION)."""
    return [rule.__name__ for rule in TEXT_RULES]


def text_design(view: TextView) -> DesignCall | None:
    """The design the title and abstract show, or None when they show none."""
    for rule in TEXT_RULES:
        call = rule(view)
        if call is not None:
            return call
    return None


def has_randomisation(view: TextView) -> DesignCall | None:
    """Text evidence that this study randomised (for promoting a 'Clinical Trial' tag)."""
    return _randomised(view)
