"""digest.issue.rank: design strength, then size, then recency, then slug; corrections apart."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from digest.issue.rank import (
    DESIGN_ORDER,
    Rankable,
    date_key,
    design_strength,
    rank,
    rank_key,
    split_corrections,
)
from digest.model import Study


def item(
    slug: str,
    design: str = "rct",
    size: int | None = None,
    published: str | None = None,
    retracted: bool = False,
) -> Rankable:
    return Rankable(
        design=design, sample_size=size, published=published, slug=slug, retracted=retracted
    )


def slugs(items: list[Rankable]) -> list[str]:
    return [i.slug for i in items]


def test_design_order_is_the_documented_one() -> None:
    assert DESIGN_ORDER[:3] == ("systematic-review", "guideline", "rct")
    assert DESIGN_ORDER[-1] == "other"
    assert design_strength("systematic-review") < design_strength("case-report")
    assert design_strength("made-up") > design_strength("other")


def test_a_large_rct_outranks_a_case_report_whatever_the_date() -> None:
    items = [
        item("case", "case-report", published="2026-11-20"),
        item("rct", "rct", size=400, published="2019-01-01"),
        item("review", "systematic-review", published="2010"),
        item("rats", "animal-or-lab", size=10_000, published="2026-11-21"),
    ]
    assert slugs(rank(items)) == ["review", "rct", "case", "rats"]


def test_sample_size_descending_with_unknown_last() -> None:
    items = [item("a", size=None), item("b", size=50), item("c", size=1200), item("d", size=0)]
    assert slugs(rank(items)) == ["c", "b", "d", "a"]


def test_recency_with_partial_and_missing_dates() -> None:
    items = [
        item("year", published="2024"),
        item("day", published="2024-05-17"),
        item("month", published="2024-05"),
        item("none", published=None),
        item("garbage", published="spring"),
        item("newer", published="2025-01-02"),
    ]
    assert slugs(rank(items)) == ["newer", "day", "month", "year", "garbage", "none"]


def test_slug_breaks_ties_and_order_is_deterministic() -> None:
    items = [item(s, size=100, published="2024-01-01") for s in ("pmid-3", "pmid-1", "nct-9")]
    expected = ["nct-9", "pmid-1", "pmid-3"]
    for permutation in itertools.permutations(items):
        assert slugs(rank(permutation)) == expected


def test_rank_key_is_total_over_a_shuffled_digest() -> None:
    designs = [*DESIGN_ORDER, "unknown"]
    rng = random.Random(7)
    items = [
        item(f"s{n}", rng.choice(designs), rng.choice([None, 10, 100]), rng.choice([None, "2024"]))
        for n in range(60)
    ]
    once = rank(items)
    rng.shuffle(items)
    assert rank(items) == once
    keys = [rank_key(i) for i in once]
    assert keys == sorted(keys)


def test_retractions_and_notices_go_to_corrections() -> None:
    items = [
        item("retracted-rct", "rct", size=900, retracted=True),
        item("small-rct", "rct", size=20),
        item("erratum", "notice"),
        item("cohort", "observational", size=5000),
    ]
    main, corrections = split_corrections(items)
    assert slugs(main) == ["small-rct", "cohort"]
    assert slugs(corrections) == ["retracted-rct", "erratum"]


def test_date_key() -> None:
    assert date_key("2024-05-17") == (2024, 5, 17)
    assert date_key("2024") == (2024, 0, 0)
    assert date_key(None) is None


def test_works_on_study_rows_and_other_duck_typed_objects() -> None:
    studies = [
        Study(slug="pmid-1", design="review", sample_size=None, published="2024-01-01"),
        Study(slug="pmid-2", design="rct", sample_size=120, published="2023-06-01"),
        Study(slug="pmid-3", design="rct", sample_size=120, published="2023-06-01", retracted=True),
    ]
    main, corrections = split_corrections(studies)
    assert [s.slug for s in main] == ["pmid-2", "pmid-1"]
    assert [s.slug for s in corrections] == ["pmid-3"]

    @dataclass
    class DigestItem:  # the digest builder's own view object
        design: str
        sample_size: int | None
        published: str | None
        slug: str
        retracted: bool
        title: str

    view = [
        DigestItem("other", None, None, "x", False, "X"),
        DigestItem("rct", 1, None, "y", False, "Y"),
    ]
    assert [v.slug for v in rank(view)] == ["y", "x"]
