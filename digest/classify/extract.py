"""Sample size, key finding and comparator, read from a record's text and registry fields.

Sample size: the most plausible *total*, never a subgroup if avoidable. Candidates are
ranked by what the sentence says about the number (randomised > enrolled/included >
"a total of" > a bare count of people > "n = ..."), and the largest of the best kind is
taken. Numbers of people screened, excluded, lost or withdrawn, and numbers of studies in
a review, are not sample sizes.

Key finding: the conclusion of the abstract, cut out of it verbatim (a substring, never
rewritten): the CONCLUSION(S)/INTERPRETATION section when the abstract is structured,
else the sentences from "In conclusion"/"Taken together"/... to the end, else the last one
or two sentences, skipping trailing registration and copyright lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from digest.classify.text import Sentence, abstract_sentences

_UNITS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)  # fmt: skip
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_WORD_VALUES = {word: value for value, word in enumerate(_UNITS)} | {
    word: 20 + 10 * index for index, word in enumerate(_TENS)
}
_NUMBER_WORD = rf"(?:(?:{'|'.join(_TENS)})(?:[- ](?:{'|'.join(_UNITS[1:10])}))?|{'|'.join(_UNITS)})"
_NUMBER = rf"(?P<num>\d{{1,3}}(?:[,\u2009\u202f\u00a0]\d{{3}})+|\d+|{_NUMBER_WORD})"
_PEOPLE = (
    r"(?:patients|participants|subjects|individuals|people|persons|adults|children|"
    r"adolescents|women|men|volunteers|veterans|cases|respondents|infants|neonates|students|"
    r"workers|nurses|athletes|employees|residents|survivors|outpatients|inpatients|mothers|"
    r"girls|boys|soldiers|patient|participant)"
)
# up to three words between the number and the people ("120 eligible adult patients")
_MODIFIERS = (
    r"(?:(?!(?:trials|studies|articles|rcts|groups|arms|weeks|days|months|years|sessions|"
    r"times|of|to|and|or|in|were|was|with)\b)[\w-]+\s+){0,3}"
)
_ALLOCATED = r"(?:randomi[sz]ed|randomly (?:assigned|allocated|divided)|allocated|assigned)"
_SIZE_RULES: tuple[tuple[int, str], ...] = (
    (5, rf"\b{_ALLOCATED}\s+(?:a total of\s+)?{_NUMBER}\s+{_MODIFIERS}{_PEOPLE}\b"),
    (
        5,
        rf"\b{_NUMBER}\s+(?:{_MODIFIERS}{_PEOPLE}\s+)?(?:who\s+)?(?:were|was|had been)\s+"
        rf"(?:then\s+|subsequently\s+|successfully\s+)?{_ALLOCATED}",
    ),
    (5, rf"\b{_NUMBER}\s+randomi[sz]ed\s+{_MODIFIERS}{_PEOPLE}\b"),
    (
        4,
        rf"\b{_NUMBER}\s+(?:{_MODIFIERS}{_PEOPLE}\s+)?(?:were|was)\s+(?:finally\s+)?"
        r"(?:enrol?led|included|recruited|studied|interviewed|surveyed|evaluated)\b",
    ),
    (
        4,
        r"\b(?:enrol?led|included|recruited|involving|including|comprising|totall?ing|"
        rf"with|of)\s+(?:a total of\s+)?{_NUMBER}\s+{_MODIFIERS}{_PEOPLE}\b",
    ),
    (3, rf"\ba total of\s+{_NUMBER}\b"),
    (3, rf"\bsample (?:size )?of\s+{_NUMBER}\b"),
    (2, rf"\b{_NUMBER}\s+{_MODIFIERS}{_PEOPLE}\b"),
)
_SIZE_PATTERNS: tuple[tuple[int, re.Pattern[str]], ...] = (
    *((priority, re.compile(rule, re.IGNORECASE)) for priority, rule in _SIZE_RULES),
    # case matters here: capital N is a total by convention, lower-case n often an arm
    (3, re.compile(rf"\bN\s*=\s*{_NUMBER}\b")),
    (1, re.compile(rf"\bn\s*=\s*{_NUMBER}\b")),
)
# "386 pancreatic cancer cases and 896 matched controls": the study is both groups
_CASES_AND_CONTROLS = re.compile(
    rf"\b{_NUMBER}\s+{_MODIFIERS}(?:cases|patients)\s+and\s+"
    rf"{_NUMBER.replace('?P<num>', '?P<controls>')}\s+{_MODIFIERS}controls\b",
    re.IGNORECASE,
)
_NOT_A_TOTAL_AFTER = re.compile(
    r"^[^.;]{0,25}?\b(screened|assessed|approached|invited|contacted|excluded|declined|lost|"
    r"dropped|withdr[eao]w\w*|discontinued|died|refused|ineligible|did not)\b|"
    r"^\s*\)?\s*(in each|per|each|in the [\w-]+( [\w-]+)?) (group|arm)\b|"
    # "a total of 64 studies were included": publications counted, not people
    r"^\s+([a-z-]+\s+){0,2}(studies|trials|articles|rcts|reviews|papers|publications|records|"
    r"reports|documents|meta-analyses)\b",
    re.IGNORECASE,
)
_NOT_A_TOTAL_BEFORE = re.compile(
    r"\b(of|among|from|in)\s+(the|these|those|whom|them)\s*$|\bexcluding\s*$", re.IGNORECASE
)
_ALLOCATION_SENTENCE = re.compile(r"randomi[sz]|assigned|allocated", re.IGNORECASE)
_MAX_SIZE = 50_000_000


def _number_value(token: str) -> int | None:
    cleaned = re.sub(r"[,\u2009\u202f\u00a0]", "", token)
    if cleaned.isdigit():
        return int(cleaned)
    parts = re.split(r"[- ]", token.lower())
    values = [_WORD_VALUES.get(p) for p in parts]
    return sum(v for v in values if v is not None) if all(v is not None for v in values) else None


def _candidates(sentence: Sentence, allow_n_equals: bool) -> list[tuple[int, int]]:
    """(priority, value) candidates of one sentence."""
    found: list[tuple[int, int]] = []
    text = sentence.text
    for priority, pattern in _SIZE_PATTERNS:
        if priority == 1 and not allow_n_equals:
            continue
        values = []
        for match in pattern.finditer(text):
            value = _number_value(match.group("num") or "")
            if value is None or not 2 <= value <= _MAX_SIZE:
                continue
            if _NOT_A_TOTAL_AFTER.match(text[match.end() :]):
                continue
            if _NOT_A_TOTAL_BEFORE.search(text[: match.start()]):
                continue
            values.append(value)
        if priority == 1 and len(values) >= 2 and _ALLOCATION_SENTENCE.search(text):
            values = [sum(values)]  # "acupuncture (n = 60) or sham (n = 60)": arms of a total
        found.extend((priority, v) for v in values)
    for match in _CASES_AND_CONTROLS.finditer(text):
        cases, controls = _number_value(match.group("num")), _number_value(match.group("controls"))
        if cases and controls:
            found.append((4, cases + controls))
    return found


def sample_size_from_text(sentences: Sequence[Sentence], allow_n_equals: bool = True) -> int | None:
    """The most plausible total number of people studied, or None."""
    candidates = [
        c
        for s in sentences
        if s.section not in {"background", "admin"}
        for c in _candidates(s, allow_n_equals)
    ]
    if not candidates:
        return None
    best = max(priority for priority, _ in candidates)
    return max(value for priority, value in candidates if priority == best)


def enrollment_count(extra: dict[str, Any]) -> int | None:
    """extra["enrollment"]["count"] (or a bare number) of a registration."""
    enrollment = extra.get("enrollment")
    count = enrollment.get("count") if isinstance(enrollment, dict) else enrollment
    if isinstance(count, bool):
        return None
    if isinstance(count, int):
        return count if count > 0 else None
    if isinstance(count, str) and count.strip().isdigit():
        return int(count.strip()) or None
    return None


# --------------------------------------------------------------------------- key finding

_CONCLUSION_START = re.compile(
    r"^(in conclusion|to conclude|we conclude|in summary|to summari[sz]e|taken together|"
    r"collectively|overall,|conclusions?[:,])",
    re.IGNORECASE,
)
_BOILERPLATE = re.compile(
    r"(trial registration|clinicaltrials\.gov|\bNCT\d{8}\b|ChiCTR|ISRCTN|PROSPERO|CRD\d{6,}|"
    r"registered (at|with|in)|copyright|©|all rights reserved|published by|level of evidence|"
    r"this article is protected|keywords?:|funding)",
    re.IGNORECASE,
)
_MAX_CONCLUSION_SENTENCES = 3
_SHORT_SENTENCE = 100
_CAVEAT = re.compile(
    r"^(however|further|future|more|additional|larger)\b|\b(further (research|studies|"
    r"clarification|investigation|work)|(is|are) (still )?(needed|warranted|required))\b",
    re.IGNORECASE,
)


def key_finding(abstract: str | None) -> str | None:
    """The conclusion sentence(s) of an abstract, verbatim; None when there is none."""
    if not abstract or not abstract.strip():
        return None
    sentences = [s for s in abstract_sentences(abstract) if not _BOILERPLATE.search(s.text)]
    sentences = [s for s in sentences if s.section != "admin"]
    if not sentences:
        return None
    chosen = _conclusion_section(sentences) or _marked_conclusion(sentences)
    chosen = chosen or _last_sentences(sentences)
    finding = abstract[chosen[0].start : chosen[-1].end].strip()
    return finding or None


def _conclusion_section(sentences: list[Sentence]) -> list[Sentence] | None:
    for kind in ("conclusions", "discussion"):
        picked = [s for s in sentences if s.section == kind]
        if picked:
            return picked if len(picked) <= _MAX_CONCLUSION_SENTENCES else picked[:2]
    return None


def _marked_conclusion(sentences: list[Sentence]) -> list[Sentence] | None:
    tail = sentences[-_MAX_CONCLUSION_SENTENCES:]
    for index, sentence in enumerate(tail):
        if _CONCLUSION_START.match(sentence.text):
            return tail[index:]
    return None


def _last_sentences(sentences: list[Sentence]) -> list[Sentence]:
    """The last sentence; the last two when it is short or only a caveat ("However, ...")."""
    last = sentences[-1].text
    if len(sentences) >= 2 and (len(last) < _SHORT_SENTENCE or _CAVEAT.search(last)):
        return sentences[-2:]
    return sentences[-1:]


# --------------------------------------------------------------------------- comparator

COMPARATOR_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "sham",
        re.compile(
            r"\bsham\b|\bplacebo\b|\bminimal (acupuncture|needling)\b|\bnon-?penetrating\b|"
            r"\bstreitberger\b|\bpark sham\b|\bsuperficial needling\b|\bnon-?acupoints?\b|"
            r"\bmock (acupuncture|stimulation|treatment)\b|\bsimulated (acupuncture|treatment)\b|"
            r"\bdetuned\b",
            re.IGNORECASE,
        ),
    ),
    (
        "active",
        re.compile(
            r"\bactive (control|comparator)\b|\b(versus|vs\.?|compared (with|to))\s+"
            r"(?!sham|placebo|usual|standard|routine|conventional|no\b|wait|without)"
            r"([\w-]+\s+){0,3}?(drugs?|medications?|physiotherapy|physical therapy|exercise|"
            r"massage|TENS|transcutaneous|injections?|nerve blocks?|NSAIDs?|analgesics?|"
            r"ibuprofen|celecoxib|diclofenac|paracetamol|acetaminophen|opioids?|morphine|"
            r"gabapentin|pregabalin|amitriptyline|topiramate|flunarizine|propranolol|"
            r"manual therapy|chiropractic|cognitive behavio[u]?ral therapy|yoga|electroacupuncture|"
            r"manual acupuncture|acupuncture|moxibustion|cupping|acupressure|dry needling|laser)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "usual-care",
        re.compile(
            r"\busual (medical )?care\b|\bstandard (of |medical )?care\b|\broutine care\b|"
            r"\bconventional (care|treatment|therapy|medicine)\b|\btreatment as usual\b|"
            r"\busual treatment\b|\bstandard (medical )?(treatment|therapy)\b|"
            r"\bguideline-based (care|treatment)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "waitlist",
        re.compile(
            r"\bwait(ing)?[- ]?lists?\b|\bno[- ](treatment|intervention|acupuncture)\b|"
            r"\buntreated (control|group)\b|\bdelayed (treatment|intervention)\b|"
            r"\bno interventions? (were|was) (applied|given)\b",
            re.IGNORECASE,
        ),
    ),
)
COMPARATOR_ORDER = tuple(slug for slug, _ in COMPARATOR_PATTERNS)
# ClinicalTrials.gov arm types (v2 spelling; the parser maps legacy wording onto it).
_ARM_TYPES = {
    "SHAM_COMPARATOR": "sham",
    "PLACEBO_COMPARATOR": "sham",
    "ACTIVE_COMPARATOR": "active",
    "NO_INTERVENTION": "waitlist",
}
_NOT_OWN_COMPARATOR = re.compile(
    r"\b(needed|warranted|future|further|should|placebo effects?|placebo responses?)\b",
    re.IGNORECASE,
)


def comparator_from_text(texts: Iterable[str]) -> set[str]:
    """Comparator slugs named in the given sentences."""
    found: set[str] = set()
    for text in texts:
        if _NOT_OWN_COMPARATOR.search(text):
            continue
        found.update(slug for slug, pattern in COMPARATOR_PATTERNS if pattern.search(text))
    return found


def comparator_from_arms(arm_groups: Any) -> set[str]:
    """Comparator slugs of registry arm groups: type first, then the arm's own words."""
    found: set[str] = set()
    for arm in arm_groups if isinstance(arm_groups, list) else []:
        if not isinstance(arm, dict):
            continue
        arm_type = re.sub(r"[^A-Z]+", "_", str(arm.get("type") or "").upper()).strip("_")
        words = " ".join(str(arm.get(k) or "") for k in ("label", "description"))
        named = comparator_from_text([words])
        if arm_type == "EXPERIMENTAL":
            continue
        slug = _ARM_TYPES.get(arm_type)
        if slug in {"active", "waitlist"} and "usual-care" in named:
            slug = "usual-care"  # "No Intervention: standard of care" is usual care
        found.update({slug} if slug else named - {"active"})
    return found


def pick_comparator(found: set[str]) -> str | None:
    """One slug, the most demanding control first: sham > active > usual-care > waitlist."""
    return next((slug for slug in COMPARATOR_ORDER if slug in found), None)


def rule_patterns() -> list[str]:
    """Every pattern these rules use, for the rules fingerprint."""
    patterns = [p.pattern for _, p in _SIZE_PATTERNS] + [p.pattern for _, p in COMPARATOR_PATTERNS]
    others = (
        _CASES_AND_CONTROLS,
        _NOT_A_TOTAL_AFTER,
        _NOT_A_TOTAL_BEFORE,
        _CONCLUSION_START,
        _BOILERPLATE,
        _CAVEAT,
    )
    return patterns + [p.pattern for p in others] + [repr(sorted(_ARM_TYPES.items()))]
