"""The claim rules: transparent phrase patterns, each with an id, a plain reason and a fix.

No language model. A phrase rule fires on its first match in a sentence unless that match
is defused:
- negation: a negator (not, no, never, can't ...) earlier in the same clause
  ("acupuncture is not a cure"); "not only" / "not just" do not negate;
- hedge (only for rules marked `hedge`): may, might, some, suggest, mixed, slightly, small
  ... before the match, or anywhere in the sentence for "studies show"-type wording;
- attribution (only for rules marked `attributed_ok`): "in traditional Chinese medicine",
  "is said to", "is believed" ... anywhere in the sentence (the qi rule: a tradition's idea
  stated as such is not a mechanism stated as fact).
Absolute safety and cure/guarantee wording are never defused by a hedge.
The per-policy citations for each rule live in the policy YAML, not here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Hedge = Literal["never", "before", "anywhere"]

# Curly quotes and dashes -> ASCII, one character for one, so match offsets stay valid.
_FOLD = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "‐": "-", "‑": "-"})

_CLAUSE_BREAK = re.compile(
    r"[,;:!?()|\u2013\u2014]|\s-\s|\b(?:and|but|while|whereas|so|because|although|though)\b",
    re.IGNORECASE,
)
_NEGATOR = re.compile(
    r"\b(?:not|no|never|nor|neither|none|cannot)\b(?!\s+(?:only|just)\b)|n't\b", re.IGNORECASE
)
HEDGE_WORDS = re.compile(
    r"\b(?:may|might|some|suggests?|suggested|suggesting|mixed|slight|slightly|small|smaller"
    r"|modest|modestly|possibly|limited|uncertain)\b",
    re.IGNORECASE,
)
_ATTRIBUTION = re.compile(
    r"\b(?:traditional(?:ly)?|chinese medicine|tcm|(?:is|are) said to|(?:is|are) believed"
    r"|believe[sd]?|theory|concept|described as|according to)\b",
    re.IGNORECASE,
)


def fold(text: str) -> str:
    return text.translate(_FOLD)


def _phrases(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(rf"\b(?:{p})\b", re.IGNORECASE) for p in patterns)


@dataclass(frozen=True)
class Rule:
    id: str
    why: str  # plain reason, shown with every flag
    suggestion: str  # an honest alternative
    patterns: tuple[re.Pattern[str], ...] = ()
    hedge: Hedge = "never"
    attributed_ok: tuple[re.Pattern[str], ...] = ()  # patterns that attribution defuses


_DRUGS = (
    r"drugs|medications?|medicines?|painkillers|pain killers|pain-killers|pills|tablets"
    r"|opioids|steroids|injections|surgery|operations?|conventional (?:medicine|treatments?)"
    r"|western medicine|physiotherapy|physio"
)
_QI = r"balanc(?:e|es|ed|ing) (?:out )?(?:your |the |the body's |your body's )?(?:qi|chi|energy)"

ABSOLUTE_SAFETY = Rule(
    id="absolute-safety",
    why="States that acupuncture carries no risk at all. No treatment is free of side "
    "effects, and an absolute safety claim cannot be backed by evidence.",
    suggestion="Say that serious side effects are rare with a trained practitioner, and "
    "name the common minor ones (for example soreness or bruising where the needles go in).",
    patterns=_phrases(
        r"no (?:negative |harmful |bad |nasty |unwanted |known )?side[- ]effects?",
        r"(?:without|zero|free of|free from) (?:any )?(?:negative )?side[- ]effects?",
        r"side[- ]effects?[- ]free",
        r"(?:completely|totally|perfectly|entirely|absolutely) (?:safe|harmless|risk[- ]free)",
        r"risk[- ]free",
    ),
)
SUPERIORITY = Rule(
    id="superiority",
    why="Claims acupuncture is better than, or should come before, conventional treatment. "
    "That is a comparative claim the evidence would have to show head to head.",
    suggestion="Describe acupuncture as one option to discuss alongside the care a GP or "
    "physiotherapist offers, without ranking it above them.",
    patterns=_phrases(
        r"(?:the )?first[- ]line (?:of )?(?:defen[cs]e|treatment|therapy|option)",
        rf"(?:better|more effective|safer|superior|stronger) (?:than|to) (?:taking )?(?:{_DRUGS})",
        rf"outperform(?:s|ed)? (?:{_DRUGS})",
        rf"(?:replaces?|instead of|no need for) (?:{_DRUGS})",
    ),
)
GUARANTEE_CURE = Rule(
    id="guarantee-cure",
    why="Promises a cure or a certain, fast or lasting result, which no evidence can back "
    "for every reader.",
    suggestion="Say what people may notice and for how long, e.g. 'some people find a "
    "course of acupuncture gives short-term relief'.",
    patterns=_phrases(
        r"cur(?:e|es|ed|ing)",
        r"pain[- ]free",
        r"bound to",
        r"guarantee(?:s|d)?",
        r"(?:immediate|permanent|lasting|total|complete) (?:pain )?relief",
        r"quick and lasting results?|lasting results?|permanent results?",
        r"root causes?|underlying causes?",
        r"(?:works|effective) every time",
        r"(?:100|one hundred) ?(?:%|per ?cent) (?:effective|success)",
    ),
)
MECHANISM = Rule(
    id="mechanism",
    why="States a mechanism as fact (toxins, immunity, disc healing, balancing qi) that the "
    "evidence does not show.",
    suggestion="Describe what happens in a session (fine needles, how long, what it feels "
    "like) rather than how it is supposed to work inside the body.",
    patterns=_phrases(
        r"flush(?:es|ed|ing)? (?:out )?(?:the |your |all )?toxins",
        r"(?:remove|removes|release|releases|clear|clears|eliminate|eliminates) (?:the )?toxins",
        r"detox\w*",
        r"boost(?:s|ed|ing)? (?:your |the )?immun(?:e|ity)(?: system)?",
        r"promot(?:e|es|ing) (?:the )?heal(?:ing)? of (?:the |your )?(?:spinal )?discs?",
        r"heal(?:s|ing)? (?:your |the )?(?:slipped |herniated |bulging )?discs?",
        _QI,
    ),
    attributed_ok=_phrases(_QI),
)
DENIGRATION = Rule(
    id="denigration",
    why="Disparages conventional treatment. Claims about other treatments need evidence too, "
    "and can put people off care they need.",
    suggestion="Leave other treatments out, or say that acupuncture can be used alongside "
    "the care their GP recommends.",
    patterns=_phrases(
        rf"(?:{_DRUGS}) (?:only|just|simply|merely) (?:mask|masks|cover|covers|hide|hides)",
        r"mask(?:s|ing)? (?:the |your )?(?:pain|symptoms)",
        rf"(?:dangerous|toxic|harmful|addictive|risky) (?:{_DRUGS})",
    ),
)
EVIDENCE_CLAIM = Rule(
    id="evidence-claim",
    why="Appeals to research as proof without saying what was found, how large the effect "
    "was or how sure it is.",
    suggestion="Say what the studies found and how sure that is (for example 'in trials, "
    "acupuncture reduced pain slightly more than sham'), and cite them.",
    patterns=_phrases(
        r"(?:clinically|scientifically|medically) (?:proven|tested and proven)",
        r"proven to",
        r"(?:research|studies|a study|science|evidence|trials) (?:has |have )?(?:proves?|proven)",
    ),
)
# The "shows" wording is defused by a hedge anywhere: "studies show a small effect" is measured.
EVIDENCE_SHOWS = Rule(
    id=EVIDENCE_CLAIM.id,
    why=EVIDENCE_CLAIM.why,
    suggestion=EVIDENCE_CLAIM.suggestion,
    patterns=_phrases(
        r"(?:research|studies|a study|science|the evidence|evidence|trials) "
        r"(?:has |have |clearly )?(?:shows?|shown|confirms?|confirmed|demonstrates?|demonstrated)",
    ),
    hedge="anywhere",
)

PHRASE_RULES: tuple[Rule, ...] = (
    ABSOLUTE_SAFETY,
    SUPERIORITY,
    GUARANTEE_CURE,
    MECHANISM,
    DENIGRATION,
    EVIDENCE_CLAIM,
    EVIDENCE_SHOWS,
)

# Condition + efficacy verb, for conditions the policy does not accept (see check.py).
EFFICACY = Rule(
    id="efficacy-not-accepted",
    why="An efficacy claim for a condition this policy does not accept.",
    suggestion="Remove the claim. You can describe what a session involves and invite "
    "questions, without saying it treats this condition.",
    patterns=_phrases(
        r"treats?|treated|treating|treatments? (?:for|of)|cur(?:e|es|ed|ing)",
        r"reliev(?:e|es|ed|ing)|relief (?:of|from|for)|help(?:s|ed|ing)?|heal(?:s|ed|ing)?",
        r"fix(?:es|ed)?|resolv(?:e|es|ed)|eliminat(?:e|es|ed)|eas(?:e|es|ed|ing)",
        r"reduc(?:e|es|ed|ing)|improv(?:e|es|ed|ing)|boost(?:s|ed|ing)?|beat(?:s)?",
        r"overcom(?:e|es|ing)|get rid of|effective (?:for|against|in)|works? (?:for|on|against)",
        r"benefits?|supports?|success(?:ful)? (?:with|for|in)",
    ),
    hedge="before",
)

RULE_IDS = frozenset(r.id for r in (*PHRASE_RULES, EFFICACY))


def negated(text: str, start: int) -> bool:
    """Is there a negator earlier in the clause that ends at `start`?"""
    head = text[:start]
    breaks = list(_CLAUSE_BREAK.finditer(head))
    clause = head[breaks[-1].end() :] if breaks else head
    return _NEGATOR.search(clause) is not None


def hedged(text: str, match: re.Match[str], where: Hedge) -> bool:
    if where == "never":
        return False
    scope = text if where == "anywhere" else text[: match.start()]
    return HEDGE_WORDS.search(scope) is not None


def first_match(rule: Rule, text: str) -> re.Match[str] | None:
    """The first match of `rule` in (folded) `text` that nothing defuses."""
    attributed = _ATTRIBUTION.search(text) is not None
    for pattern in rule.patterns:
        for m in pattern.finditer(text):
            if negated(text, m.start()) or hedged(text, m, rule.hedge):
                continue
            if attributed and any(p.pattern == pattern.pattern for p in rule.attributed_ok):
                continue
            return m
    return None
