"""Classify a study honestly: design, topics, comparator, sample size, key finding, badges.

The classifier is `digest.classify.classify` (its docstring lists the decisions worth
knowing); the rules live in `design` (+ `design_rules`, the tables), `topics`, `extract`
and `text`. This package re-exports the public names.
"""

from __future__ import annotations

from digest.classify.classify import (
    BADGES,
    COMPARATORS,
    DESIGNS,
    RULES_VERSION,
    SMALL_SAMPLE,
    Classification,
    classify,
    classify_merged,
    rules_fingerprint,
)

__all__ = [
    "BADGES",
    "COMPARATORS",
    "DESIGNS",
    "RULES_VERSION",
    "SMALL_SAMPLE",
    "Classification",
    "classify",
    "classify_merged",
    "rules_fingerprint",
]
