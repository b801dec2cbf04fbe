"""Which way the authors' own conclusion points, read from the verbatim key finding.

Transparent phrase rules, never a guess: each answer names the words that decided it, so
a reader can check it against the quoted finding. Four answers:

- "benefit": the conclusion says the treatment helped (reduced pain, was effective,
  better than the comparison), hedged or not ("may reduce" counts: it is what the authors
  concluded, and the finding is quoted beside it).
- "no-difference": the conclusion says it did not help or did no better than the
  comparison ("no significant difference", "not superior", "did not reduce").
- "unclear": the conclusion says the evidence cannot tell (insufficient, inconclusive,
  uncertain), or it states both a benefit and no difference (mixed outcomes).
- "not-stated": no finding, or a finding that states no direction on any outcome (a
  mechanism, a plan, a call for more research). Most conclusions of non-trials say none.

The rules read words only; they cannot weigh an outcome's importance or a study's bias.
They are the map's summary of what authors said, not a judgement that treatment works.
"""

from __future__ import annotations

import re
from typing import NamedTuple

DIRECTIONS = ("benefit", "no-difference", "unclear", "not-stated")
DIRECTION_LABELS = {
    "benefit": "benefit",
    "no-difference": "no difference",
    "unclear": "unclear",
    "not-stated": "not stated",
}


class Direction(NamedTuple):
    """The direction, and the words of the finding that decided it (None: no rule hit)."""

    value: str
    phrase: str | None = None

    @property
    def label(self) -> str:
        return DIRECTION_LABELS[self.value]


def _rules(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# Checked first: a finding that says the evidence cannot tell is "unclear" whatever else
# it says ("insufficient evidence that acupuncture reduces pain" mentions a reduction).
_UNCLEAR = _rules(
    r"\b(?:insufficient|inconclusive|inadequate|conflicting|inconsistent)\b(?: \w+){0,2} evidence",
    r"\bevidence\b(?: \w+){0,3} (?:is|was|are|were|remains?) (?:\w+ )?"
    r"(?:insufficient|inconclusive|limited|weak|unclear|uncertain|conflicting|lacking|"
    r"constrained)\b",
    r"\b(?:remains?|is|was) (?:still )?(?:unclear|uncertain|inconclusive)\b",
    r"\bno (?:firm|definite|definitive|clear) conclusions?\b",
    r"\bcannot be (?:drawn|determined|confirmed)\b",
    r"\bcould not be (?:drawn|determined|confirmed)\b",
    r"\b(?:very )?low[- ](?:quality|certainty) (?:of )?evidence\b",
)
_NO_DIFFERENCE = _rules(
    r"\bno (?:statistically )?significant (?:\w+ ){0,2}"
    r"(?:difference|effect|benefit|improvement|reduction|change)s?\b",
    r"\bnot (?:statistically )?significantly (?:different|better|more|improved?|reduced?)\b",
    r"\b(?:did|does|do) not (?:significantly )?(?:differ|improve|reduce|relieve|decrease|"
    r"show|outperform|lead)\b",
    r"\bno (?:\w+ )?(?:difference|benefit|effect)s? (?:was|were|in|between|on|over)\b",
    r"\bnot (?:superior|more effective|better) (?:to|than)\b",
    r"\bno (?:more|better) (?:effective )?than\b",
    r"\bno (?:therapeutic|clinical|additional|added) (?:effect|benefit)s?\b",
    r"\b(?:was|were|is|are) (?:not|in)effective\b",
    r"\bfailed to (?:show|improve|reduce|demonstrate)\b",
    r"\b(?:similar|comparable) (?:\w+ )?(?:to|with)\b (?:sham|placebo|usual care|control)",
)
_BENEFIT = _rules(
    r"\b(?:significantly|effectively|substantially|markedly) "
    r"(?:reduc|reliev|improv|decreas|alleviat|lower)\w*",
    r"\b(?:can|could|may|might|did|does|do|to|will) "
    r"(?:significantly |effectively )?(?:reduce|relieve|improve|decrease|alleviate|lower) "
    r"(?:\w+ ){0,3}(?:pain|symptoms?|disability|function|quality of life|headaches?)\b",
    r"\b(?:reduce[sd]?|relieve[sd]?|improve[sd]?|decrease[sd]?|alleviate[sd]?|lower(?:ed|s)?)"
    r" (?:the )?(?:\w+ )?(?:pain|symptoms?|disability|intensity|function|quality of life)",
    r"\b(?:reductions?|improvements?|relief|decreases?) (?:in|of) (?:\w+ ){0,2}"
    r"(?:pain|symptoms?|disability|intensity|function)",
    r"\b(?:is|was|are|were|be|being|proved|remains?) (?:an? )?(?:more |highly |clinically )?"
    r"(?:effective|efficacious|beneficial|useful|superior)\b",
    r"\b(?:more effective|better) than\b",
    r"\bsuperior to\b",
    r"\bprovides? (?:\w+ ){0,2}(?:relief|benefit|effect|pain reduction)\b",
)


_NEGATED = re.compile(r"\b(?:not|no|never|nor|n't)\s*$", re.IGNORECASE)


def direction_of(key_finding: str | None) -> Direction:
    """The direction of a verbatim key finding, with the words that decided it."""
    text = " ".join((key_finding or "").split())
    if not text:
        return Direction("not-stated")
    unclear = _UNCLEAR.search(text)
    if unclear:
        return Direction("unclear", unclear.group(0))
    nulls = list(_NO_DIFFERENCE.finditer(text))
    none = nulls[0] if nulls else None
    benefit = next(
        (
            m
            for m in _BENEFIT.finditer(text)
            # "not superior to" is a null result, not a benefit: skip benefit words that a
            # no-difference phrase covers or that follow a negation
            if not any(n.start() < m.end() and m.start() < n.end() for n in nulls)
            and not _NEGATED.search(text[max(0, m.start() - 12) : m.start()])
        ),
        None,
    )
    if none and benefit:
        return Direction("unclear", f"{benefit.group(0)} … {none.group(0)}")
    if none:
        return Direction("no-difference", none.group(0))
    if benefit:
        return Direction("benefit", benefit.group(0))
    return Direction("not-stated")
