"""The checker: sentences + a claims policy + the archive's evidence index -> flags. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from digest.claims.evidence import EvidenceIndex
from digest.claims.extract import Sentence, split_text
from digest.claims.policy import ClaimsPolicy
from digest.claims.rules import EFFICACY, PHRASE_RULES, Rule, first_match, fold

# Statuses whose efficacy claims are flagged ("accepted" is the only one that is not).
_FLAGGED_STATUSES = ("not_accepted", "not_listed", "no_ruling")


@dataclass(frozen=True)
class ClaimFlag:
    text: str  # the sentence as written
    line: int  # 1-based line in the input
    rule: str
    why: str
    suggestion: str
    evidence: list[str] = field(default_factory=list)  # archive URLs

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _term_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    alts = sorted({t.strip() for t in terms if t.strip()}, key=len, reverse=True)
    if not alts:
        return None
    # "low back pain" also matches "low-back pain"; a plural s/es is allowed
    body = "|".join(re.sub(r"\\[ -]", r"[\\s-]", re.escape(t)) for t in alts)
    return re.compile(rf"\b(?:{body})(?:s|es)?\b", re.IGNORECASE)


@dataclass(frozen=True)
class _Conditions:
    """Which conditions a sentence names, from the policy's terms plus the archive's."""

    patterns: dict[str, re.Pattern[str]]
    umbrella: frozenset[str]

    @classmethod
    def build(cls, policy: ClaimsPolicy, evidence: EvidenceIndex) -> _Conditions:
        ids = [c.id for c in policy.conditions] + list(evidence.condition_terms)
        patterns: dict[str, re.Pattern[str]] = {}
        for cid in dict.fromkeys(ids):
            entry = policy.condition(cid)
            terms = [*(entry.terms if entry else ()), *evidence.condition_terms.get(cid, ())]
            pattern = _term_pattern(terms)
            if pattern is not None:
                patterns[cid] = pattern
        return cls(patterns, evidence.umbrella)

    def named_in(self, text: str) -> list[str]:
        found = [cid for cid, p in self.patterns.items() if p.search(text)]
        specific = [cid for cid in found if cid not in self.umbrella]
        return specific or found


def _cite(policy: ClaimsPolicy, rule_id: str, with_basis: bool = True) -> str:
    """What the policy records for this rule (or says it lacks), and its first source."""
    entry = policy.rule(rule_id)
    if entry is None or not entry.sources:
        return ""
    src = policy.source(entry.sources[0])
    said = (entry.basis or entry.note) if with_basis else ""
    return f"{' ' + said if said else ''} Source: {src.title} <{src.url}>."


def _pages(evidence: EvidenceIndex, ids: Sequence[str]) -> list[str]:
    return [evidence.condition_urls[c] for c in ids if c in evidence.condition_urls]


def _label(policy: ClaimsPolicy, cid: str) -> str:
    entry = policy.condition(cid)
    return entry.label if entry else cid


def _pointer(
    policy: ClaimsPolicy, evidence: EvidenceIndex, ids: Sequence[str], fallback: bool = True
) -> str:
    pages = [(c, evidence.condition_urls[c]) for c in ids if c in evidence.condition_urls]
    caveat = f" {policy.link_caveat}" if policy.link_caveat else ""
    if pages:
        where = "; ".join(f"{_label(policy, c)} <{url}>" for c, url in pages)
        return f" The archive's evidence page: {where}.{caveat}"
    if fallback and evidence.index_url:
        return f" The archive's condition pages: <{evidence.index_url}>.{caveat}"
    return ""


def _phrase_flag(
    rule: Rule, s: Sentence, policy: ClaimsPolicy, evidence: EvidenceIndex, named: list[str]
) -> ClaimFlag:
    if rule.id != "evidence-claim":
        return ClaimFlag(
            s.text, s.line, rule.id, rule.why + _cite(policy, rule.id), rule.suggestion
        )
    return ClaimFlag(
        s.text,
        s.line,
        rule.id,
        rule.why + _cite(policy, rule.id),
        rule.suggestion + _pointer(policy, evidence, named),
        _pages(evidence, named),
    )


def _efficacy_flag(
    s: Sentence, folded: str, policy: ClaimsPolicy, evidence: EvidenceIndex, named: list[str]
) -> ClaimFlag | None:
    bad = [
        (cid, entry)
        for cid in named
        if (entry := policy.condition(cid)) is not None and entry.status in _FLAGGED_STATUSES
    ]
    if not bad or first_match(EFFICACY, folded) is None:
        return None
    entry = bad[0][1]
    labels = ", ".join(e.label for _, e in bad)
    template = policy.status_reasons.get(entry.status, EFFICACY.why + " ({label})")
    return ClaimFlag(
        s.text,
        s.line,
        EFFICACY.id,
        template.format(label=labels).strip() + _cite(policy, EFFICACY.id, with_basis=False),
        EFFICACY.suggestion + _pointer(policy, evidence, [c for c, _ in bad], fallback=False),
        _pages(evidence, [c for c, _ in bad]),
    )


def check_sentences(
    sentences: Iterable[Sentence], policy: ClaimsPolicy, evidence: EvidenceIndex
) -> list[ClaimFlag]:
    """Flags for each sentence, at most one per rule id, in input order."""
    conditions = _Conditions.build(policy, evidence)
    flags: list[ClaimFlag] = []
    for s in sentences:
        folded = fold(s.text)
        named = conditions.named_in(folded)
        seen: set[str] = set()
        for rule in PHRASE_RULES:
            if rule.id not in seen and first_match(rule, folded) is not None:
                seen.add(rule.id)
                flags.append(_phrase_flag(rule, s, policy, evidence, named))
        efficacy = _efficacy_flag(s, folded, policy, evidence, named)
        if efficacy is not None:
            flags.append(efficacy)
    return flags


def check_text(text: str, policy: ClaimsPolicy, evidence: EvidenceIndex) -> list[ClaimFlag]:
    """Check plain text (lines are the text's own lines). Empty text gives no flags."""
    return check_sentences(split_text(text), policy, evidence)
