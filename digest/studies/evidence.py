"""Pair evidence: whether two records' titles, authors, years and journals say "one work".

Precision comes first: a verdict merges only with corroboration, and a near-miss worth a
person's time is marked for review instead (`Verdict.review`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein

from digest.studies.features import Features
from digest.studies.normalize import journals_agree

# Thresholds (0-100 rapidfuzz scores).
REVIEW_TITLE_SCORE = 90.0  # below this two titles are not worth a person's time
TYPO_TITLE_SCORE = 95.0  # near-equal titles may merge only when they differ by one typo
CLEARLY_DIFFERENT_TITLES = 60.0  # token-set score under which a shared id is distrusted


def clearly_different(a: Features, b: Features) -> bool:
    """Evidence that two records sharing an identifier are different works: different
    kinds, titles with almost no words in common, or titles that are not near-equal
    while the authors or the years (more than 2 apart) disagree."""
    if a.kind != b.kind:
        return True
    if (
        len(a.words) >= 3
        and len(b.words) >= 3
        and float(fuzz.token_set_ratio(a.title, b.title)) < CLEARLY_DIFFERENT_TITLES
    ):
        return True
    if a.title and b.title and float(fuzz.ratio(a.title, b.title)) >= REVIEW_TITLE_SCORE:
        return False
    far_apart = a.year is not None and b.year is not None and abs(a.year - b.year) > 2
    return far_apart or authors_evidence(a, b) == "conflict"


def authors_evidence(a: Features, b: Features) -> str:
    """'match' (same first author, or most names shared), 'conflict' or 'unknown'."""
    if not a.authors or not b.authors:
        return "unknown"
    shared = len(set(a.authors) & set(b.authors))
    smaller = min(len(a.authors), len(b.authors))
    if a.authors[0] == b.authors[0] and (smaller < 2 or shared / smaller >= 0.5):
        return "match"
    if smaller >= 3 and shared / smaller >= 0.8:
        return "match"
    return "conflict"


def year_evidence(a: Features, b: Features) -> str:
    if a.year is None or b.year is None:
        return "unknown"
    allowed = 2 if a.preprint != b.preprint else 1
    return "match" if abs(a.year - b.year) <= allowed else "conflict"


def journal_evidence(a: Features, b: Features) -> str:
    if not a.journal or not b.journal or a.preprint != b.preprint:
        return "unknown"
    return "match" if journals_agree(a.journal, b.journal) else "conflict"


def _one_typo_apart(a: Features, b: Features) -> bool:
    """Titles whose only difference is one misspelt long word (no number involved)."""
    words_a, words_b = Counter(a.title.split()), Counter(b.title.split())  # as written
    only_a, only_b = list((words_a - words_b).elements()), list((words_b - words_a).elements())
    if len(only_a) != 1 or len(only_b) != 1 or a.numbers != b.numbers:
        return False
    word_a, word_b = only_a[0], only_b[0]
    if min(len(word_a), len(word_b)) < 6 or not (word_a.isalpha() and word_b.isalpha()):
        return False
    return int(DamerauLevenshtein.distance(word_a, word_b)) <= 1


@dataclass(frozen=True, slots=True)
class Verdict:
    merge: bool
    review: bool
    reason: str


def _describe(title_score: float, authors: str, year: str, journal: str) -> str:
    return f"title {title_score / 100:.2f}; authors {authors}; year {year}; journal {journal}"


def equal_title_verdict(a: Features, b: Features) -> Verdict:
    """Two records with the same normalised title: merge only with corroboration."""
    authors, year, journal = (
        authors_evidence(a, b),
        year_evidence(a, b),
        journal_evidence(a, b),
    )
    reason = _describe(100.0, authors, year, journal)
    if a.preprint != b.preprint:
        # preprint -> journal version: the same title *and* authors (rule 3).
        merge = authors == "match" and year != "conflict"
        return Verdict(merge, not merge and year != "conflict", "preprint/published; " + reason)
    if year == "conflict" or (journal == "conflict" and authors != "match"):
        return Verdict(False, False, reason)
    if authors == "match":
        return Verdict(len(a.words) >= 3 or year == "match", True, reason)
    if authors == "unknown" and year == "match" and journal == "match" and len(a.words) >= 4:
        return Verdict(True, True, reason)
    return Verdict(False, True, reason)


def near_title_verdict(a: Features, b: Features, score: float) -> Verdict:
    """Near-equal titles: merge only a one-typo difference with first author and year."""
    authors, year, journal = (
        authors_evidence(a, b),
        year_evidence(a, b),
        journal_evidence(a, b),
    )
    reason = _describe(score, authors, year, journal)
    if a.numbers != b.numbers or year == "conflict":
        return Verdict(False, False, reason)
    typo = score >= TYPO_TITLE_SCORE and _one_typo_apart(a, b)
    same_first = bool(a.authors and b.authors and a.authors[0] == b.authors[0])
    merge = typo and same_first and authors == "match" and year == "match"
    if a.preprint != b.preprint:
        reason = "preprint/published; " + reason
    return Verdict(merge, authors != "conflict", reason)


def fuzzy_candidates(a: Features, b: Features) -> bool:
    """Pairs that title matching may consider at all."""
    if a.kind != "article" or b.kind != "article":
        return False
    if a.protocol is not None and b.protocol is not None and a.protocol != b.protocol:
        return False
    return not (a.year and b.year and abs(a.year - b.year) > 2)
