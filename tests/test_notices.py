"""digest.facts.notices, pure: which notice leads, when a retraction stands or is
reversed, one notice per (kind, id) whoever asserts it. Inputs are HAND-MADE NoticeData
(ids under Crossref's test prefix 10.5555), not recordings."""

from __future__ import annotations

import pytest

from digest.facts import NOTICE_TYPES, WORDING, NoticeData, merge_notices, standing
from digest.facts.notices import is_reinstated, retraction_in_force


def n(
    kind: str, date: str | None = None, doi: str = "10.5555/x", who: str = "publisher"
) -> NoticeData:
    return NoticeData(kind=kind, doi=f"{doi}.{kind}", date=date, asserted_by=who)  # type: ignore[arg-type]


def test_every_kind_has_its_own_words_and_a_weight_order() -> None:
    labels = {WORDING[k].label for k in NOTICE_TYPES}
    assert len(labels) == len(NOTICE_TYPES)
    weights = [WORDING[k].weight for k in ("retraction", "expression-of-concern", "correction",
                                           "new-version", "reinstatement")]  # fmt: skip
    assert weights == sorted(weights, reverse=True)
    assert WORDING["withdrawal"].weight == WORDING["retraction"].weight
    assert "not retracted" in WORDING["expression-of-concern"].sentence


@pytest.mark.parametrize(
    ("notices", "lead", "reversed_"),
    [
        ([n("correction"), n("retraction", "2010-02-06")], "retraction", False),
        ([n("expression-of-concern"), n("correction")], "expression-of-concern", False),
        ([n("retraction", "2025-03-01"), n("reinstatement", "2026-06-01")], "reinstatement", True),
        # retracted again after the reversal
        ([n("retraction", "2026-09-01"), n("reinstatement", "2026-06-01")], "retraction", False),
        # an undated reversal beside a retraction can only have followed it
        ([n("retraction", "2025-03-01"), n("reinstatement")], "reinstatement", True),
        # retracted, reversed, retracted again; PubMed's link to a notice is undated
        ([n("retraction", "2019-01-05"), n("reinstatement", "2020-03-01"),
          n("retraction", "2023-06-01", doi="10.5555/y"), n("retraction", doi="10.5555/z")],
         "retraction", False),
        # an undated reversal after two retractions: which one it undid is unknown
        ([n("retraction", "2019-01-05"), n("retraction", "2023-06-01", doi="10.5555/y"),
          n("reinstatement")], "retraction", False),
        # a concern outlives the reversed retraction and leads
        ([n("retraction", "2025-01-01"), n("reinstatement", "2025-06-01"),
          n("expression-of-concern", "2025-07-01")], "expression-of-concern", True),
        ([n("new-version")], "new-version", False),
        ([], None, False),
    ],
)  # fmt: skip
def test_standing_and_reversal(
    notices: list[NoticeData], lead: str | None, reversed_: bool
) -> None:
    assert standing(notices) == lead
    assert is_reinstated(notices) is reversed_
    assert retraction_in_force(notices) is (lead == "retraction")


def test_one_notice_asserted_twice_is_merged_with_both_asserters() -> None:
    publisher = NoticeData("retraction", doi="10.5555/notice", asserted_by="publisher")
    watch = NoticeData("retraction", doi="10.5555/notice", date="2026-11-16",
                       asserted_by="retraction-watch", label="Retraction")  # fmt: skip
    (merged,) = merge_notices([publisher, watch])
    assert merged.asserted_by == "publisher+retraction-watch"
    assert merged.date == "2026-11-16" and merged.label == "Retraction"
    assert merged.url == "https://doi.org/10.5555/notice"
    assert NoticeData("retraction", pmid="195582").url == "https://pubmed.ncbi.nlm.nih.gov/195582/"


def test_a_retracted_publication_type_without_a_linked_notice_is_still_a_notice() -> None:
    from digest.facts import notices_of
    from digest.model import RecordData, Relation

    typed = RecordData(source="pubmed", source_id="1", publication_types=["Retracted Publication"])
    (notice,) = notices_of(typed)
    assert (notice.kind, notice.asserted_by, notice.url) == ("retraction", "pubmed", None)
    linked = RecordData(
        source="pubmed",
        source_id="1",
        publication_types=["Retracted Publication"],
        relations=[Relation("retracted-by", pmid="195582")],
    )
    assert [n.pmid for n in notices_of(linked)] == ["195582"]  # the linked one only
