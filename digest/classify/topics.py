"""Conditions and interventions of the clinic's topic model, found in a record.

Rules (each one a reason a mention does or does not count):
- MeSH: a topic's `mesh` headings match the record's MeSH descriptors exactly
  (case-insensitive; a "Descriptor/qualifier" or "*Descriptor" form is reduced first).
- Free text: a topic's `terms` match title, abstract and registry fields with word
  boundaries, case-insensitive. The topic's `exclude_terms` are blanked out first
  ("acupuncture-like TENS" never reads as acupuncture).
- Specific beats generic: a mention inside a longer mention of another topic does not
  count ("acupuncture" inside "electro-acupuncture", "needling" inside "trigger point
  needling").
- Negated mentions do not count ("no acupuncture", "without acupuncture", "non-acupoint",
  "acupuncture-naive", "acupuncture-like"), nor shams ("sham acupuncture", "placebo
  electroacupuncture": the control is not the intervention).
- Conditions named in a sentence about adverse events or exclusions do not count
  ("headache and bruising were reported"), nor, in a structured abstract, the background.
- Umbrella topics ("Acupuncture (manual / unspecified)", "Chronic pain (general)") give way
  to specific ones: when a specific topic of the same group is found, an umbrella topic is
  kept only if it is named in the title or with a qualifier ("manual acupuncture",
  "versus acupuncture"). So an electroacupuncture trial is not also tagged manual
  acupuncture, but "electroacupuncture versus manual acupuncture" has both. A topic is an
  umbrella when its label says "general"/"unspecified", or one of its terms sits inside
  terms of two or more other topics.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from digest.classify.text import abstract_sentences, mesh_key
from digest.config import Topic, TopicModel
from digest.model import RecordData

_NEGATED_BEFORE = re.compile(
    r"(?:\b(?:no|not|without|never|except|excluding|nor|neither|instead of|rather than|"
    r"absence of|free of|other than)\s+(?:[\w-]+\s+)?|\bnon-?\s*)$",
    re.IGNORECASE,
)
_SHAM_BEFORE = re.compile(
    r"\b(?:sham|placebo|minimal|simulated|mock|fake|pseudo|non-?penetrating|superficial|"
    r"detuned|inactive|imitation)(?:[\s-]+[\w-]+)?[\s-]+$",
    re.IGNORECASE,
)
_NEGATED_AFTER = re.compile(r"^-?(?:naive|naïve|like)\b", re.IGNORECASE)
_COORDINATED_BEFORE = r"\b(?:versus|vs\.?|compared (?:with|to)|and|or|plus)[\s-]+$"
# what makes an umbrella mention explicit: "manual acupuncture", "EA versus acupuncture"
_QUALIFIED_BEFORE = {
    False: re.compile(
        r"\b(?:manual|traditional|conventional|body|classical|standard|standardi[sz]ed|"
        rf"individuali[sz]ed|chinese)[\s-]+$|{_COORDINATED_BEFORE}",
        re.IGNORECASE,
    ),
    True: re.compile(_COORDINATED_BEFORE, re.IGNORECASE),  # conditions: "... and chronic pain"
}
# Sentences where a condition is a side effect or an exclusion, not the topic.
_CONDITION_NOISE = re.compile(
    r"\b(adverse (events?|effects?|reactions?)|side[- ]effects?|complications?|bruising|"
    r"h(a)?ematoma|dizziness|syncope|exclu(ded|sion))\b",
    re.IGNORECASE,
)
_UMBRELLA_LABEL = re.compile(r"\b(general|unspecified)\b", re.IGNORECASE)
_MIN_BODY_MENTIONS = 2
_WINDOW = 40  # characters looked at before a mention for negation or a qualifier


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of text to search: title, an abstract sentence, or a registry field."""

    text: str
    kind: str  # title | abstract | field
    section: str = ""


def _distinct(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v and v.strip()))


def _strings(value: Any) -> list[str]:
    """Every string in a registry field: a string, a list of them, or of {name/label/...}."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        keys = ("name", "label", "description", "other_names")
        return [s for key in keys for s in _strings(value.get(key))]
    return []


_FIELD_KEYS = ("official_title", "conditions", "keywords", "interventions", "arm_groups")


def topic_segments(records: Sequence[RecordData]) -> list[Segment]:
    """The text a study's topics are searched in: its distinct titles, the sentences of its
    distinct abstracts, and the registry fields that name conditions and interventions."""
    segments: list[Segment] = []
    for title in _distinct(r.title for r in records):
        segments.append(Segment(title, "title", "title"))
    for abstract in _distinct(r.abstract or "" for r in records):
        segments.extend(
            Segment(s.text, "abstract", s.section) for s in abstract_sentences(abstract)
        )
    for record in records:
        for key in _FIELD_KEYS:
            segments.extend(Segment(text, "field") for text in _strings(record.extra.get(key)))
    return segments


@dataclass(slots=True)
class _Mentions:
    title: bool = False
    qualified: bool = False
    count: int = 0
    mesh: bool = False
    primary: bool = False  # in the title, a registry field or MeSH: what the study is about

    @property
    def found(self) -> bool:
        return self.count > 0 or self.mesh


@dataclass(frozen=True, slots=True)
class _CompiledTopic:
    slug: str
    terms: re.Pattern[str] | None
    excludes: re.Pattern[str] | None
    mesh: frozenset[str]
    umbrella: bool
    # Every match of `terms` starts with one of these, lowercased (the literal text of a
    # term up to its first space); None when a term is not ASCII (no safe pre-check).
    starts: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class TopicMatcher:
    interventions: tuple[_CompiledTopic, ...]
    conditions: tuple[_CompiledTopic, ...]
    require_condition: bool = field(default=True)


def _alternation(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """Whole-word, case-insensitive alternation; longest first so the longest wins."""
    parts = sorted({p.strip() for p in phrases if p.strip()}, key=len, reverse=True)
    if not parts:
        return None
    body = "|".join(re.escape(p).replace(r"\ ", r"[\s-]+") for p in parts)
    # a plural still names the topic ("migraines", "headaches")
    return re.compile(rf"(?<![\w-])(?:{body})(?:e?s)?(?![\w])", re.IGNORECASE)


def _is_umbrella(topic: Topic, group: Sequence[Topic]) -> bool:
    if topic.umbrella:  # set in sources.yaml; otherwise guessed from the label and terms
        return True
    if _UMBRELLA_LABEL.search(topic.label):
        return True
    for term in topic.terms:
        inside = re.compile(rf"(?<![\w]){re.escape(term.lower())}(?![\w])")
        holders = {
            other.slug
            for other in group
            if other.slug != topic.slug
            and any(t.lower() != term.lower() and inside.search(t.lower()) for t in other.terms)
        }
        if len(holders) >= 2:
            return True
    return False


def _starts(phrases: Iterable[str]) -> tuple[str, ...] | None:
    parts = [p.strip() for p in phrases if p.strip()]
    if not all(p.isascii() for p in parts):
        return None
    return tuple(sorted({p.split(" ", 1)[0].lower() for p in parts}))


def _compile_group(group: Sequence[Topic]) -> tuple[_CompiledTopic, ...]:
    return tuple(
        _CompiledTopic(
            slug=topic.slug,
            terms=_alternation(topic.terms),
            excludes=_alternation(topic.exclude_terms),
            mesh=frozenset(mesh_key(m) for m in topic.mesh),
            umbrella=_is_umbrella(topic, group),
            starts=_starts(topic.terms),
        )
        for topic in group
    )


@functools.lru_cache(maxsize=16)
def _compile_json(model_json: str) -> TopicMatcher:
    model = TopicModel.model_validate_json(model_json)
    return TopicMatcher(
        interventions=_compile_group(model.interventions),
        conditions=_compile_group(model.conditions),
        require_condition=model.require_condition,
    )


def compile_topics(topics: TopicModel) -> TopicMatcher:
    """Compiled patterns of a topic model (memoised by its content)."""
    return _compile_json(topics.model_dump_json())


def _blank(text: str, pattern: re.Pattern[str] | None) -> str:
    if pattern is None:
        return text
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


def _spans(segment: Segment, topics: Sequence[_CompiledTopic]) -> list[tuple[int, int, str]]:
    """(start, end, slug) of every term match, with shadowed generic matches removed."""
    found: list[tuple[int, int, str]] = []
    by_slug: dict[str, list[tuple[int, int]]] = {}
    # ASCII text against ASCII terms: a case-insensitive match contains the term's first
    # word in lowercase, so a topic none of whose first words occurs cannot match (most
    # topics, in most sentences; the regex scan was most of the classification time)
    lowered = segment.text.lower() if segment.text.isascii() else None
    for topic in topics:
        if topic.terms is None:
            continue
        if (
            lowered is not None
            and topic.starts is not None
            and not any(start in lowered for start in topic.starts)
        ):
            continue
        text = _blank(segment.text, topic.excludes)
        spans = [(m.start(), m.end()) for m in topic.terms.finditer(text)]
        if spans:
            found.extend((s, e, topic.slug) for s, e in spans)
            by_slug[topic.slug] = spans
    if len(by_slug) < 2:  # one topic's matches never shadow each other
        return found
    others = {
        slug: [span for other, spans in by_slug.items() if other != slug for span in spans]
        for slug in by_slug
    }
    return [
        (s, e, slug)
        for s, e, slug in found
        if not any(os <= s and oe >= e and (oe - os) > (e - s) for os, oe in others[slug])
    ]


def _counts(text: str, start: int, end: int, sham_matters: bool) -> bool:
    before = text[max(0, start - _WINDOW) : start]
    if _NEGATED_BEFORE.search(before) or _NEGATED_AFTER.match(text[end : end + 8]):
        return False
    return not (sham_matters and _SHAM_BEFORE.search(before))


def _find(
    topics: Sequence[_CompiledTopic],
    segments: Sequence[Segment],
    mesh: set[str],
    is_condition: bool,
) -> list[str]:
    mentions = {t.slug: _Mentions() for t in topics}
    for topic in topics:
        mentions[topic.slug].mesh = bool(topic.mesh & mesh)
    for segment in segments:
        if is_condition and segment.kind == "abstract" and _CONDITION_NOISE.search(segment.text):
            continue
        for start, end, slug in _spans(segment, topics):
            if not _counts(segment.text, start, end, sham_matters=not is_condition):
                continue
            entry = mentions[slug]
            entry.count += 1
            entry.title = entry.title or segment.kind == "title"
            entry.primary = entry.primary or segment.kind != "abstract"
            before = segment.text[max(0, start - _WINDOW) : start]
            qualified = _QUALIFIED_BEFORE[is_condition].search(before)
            entry.qualified = entry.qualified or bool(qualified)
    return _keep(topics, mentions, is_condition)


def _keep(
    topics: Sequence[_CompiledTopic], mentions: dict[str, _Mentions], is_condition: bool
) -> list[str]:
    """Umbrella topics give way to specific ones; for conditions, when the title, a registry
    field or MeSH names what the study is about, a condition the abstract names only once
    in passing ("associated with sleep disorders and headaches") does not count."""
    specific = any(mentions[t.slug].found for t in topics if not t.umbrella)
    has_primary = any(m.primary or m.mesh for m in mentions.values())
    kept = []
    for topic in topics:
        entry = mentions[topic.slug]
        if not entry.found:
            continue
        if topic.umbrella and specific and not (entry.title or entry.qualified):
            continue
        passing = not (entry.primary or entry.mesh) and entry.count < _MIN_BODY_MENTIONS
        if is_condition and has_primary and passing:
            continue
        kept.append(topic.slug)
    return kept


def find_topics(
    matcher: TopicMatcher, segments: Sequence[Segment], mesh_terms: Iterable[str]
) -> tuple[list[str], list[str]]:
    """(conditions, interventions) slugs in topic-model order."""
    mesh = {mesh_key(m) for m in mesh_terms}
    structured = any(s.section == "background" for s in segments)
    usable = [s for s in segments if not (structured and s.section == "background")]
    conditions = _find(matcher.conditions, usable, mesh, is_condition=True)
    interventions = _find(matcher.interventions, usable, mesh, is_condition=False)
    return conditions, interventions


def is_in_scope(matcher: TopicMatcher, conditions: list[str], interventions: list[str]) -> bool:
    """An acupuncture-family intervention and, if the model requires it, a pain condition."""
    return bool(interventions) and (bool(conditions) or not matcher.require_condition)
