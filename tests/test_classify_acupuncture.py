"""Design from text on genuine acupuncture records, the guideline rules, patient information.

The labelled set is the 40 PubMed records of
tests/fixtures/corpus/acupuncture/pubmed-derived-json/ (see its PROVENANCE.md): labels from
their own publication types and MeSH (`bench.eval_classify.label_acupuncture`), classified
with types and MeSH stripped. PMID mod 4 == 0 (8 records) is the held-out part, fixed before
any rule was tuned; the tests hold the training part (32) to the targets and the held-out
part to weaker floors (`ACUPUNCTURE_FLOORS`: one miss per class allowed).

Sentences that are not from a genuine record are marked "hand-made" where they are used.
"""

from __future__ import annotations

import functools
import importlib
import re
from pathlib import Path

import pytest

from bench.eval_classify import (
    ACUPUNCTURE_FLOORS,
    ACUPUNCTURE_TARGETS,
    AcupunctureFigures,
    Example,
    acupuncture_figures,
    is_held_out,
    label_acupuncture,
    load_acupuncture,
    load_europepmc_lite,
    without_tags,
)
from digest.classify import DESIGNS, RULES_VERSION, classify
from digest.classify import design as design_module
from digest.classify.classify import RULES_REVISION
from digest.config import TopicModel, load_settings
from digest.model import RecordData

classify_module = importlib.import_module("digest.classify.classify")
HERE = Path(__file__).parent
HELD_OUT_PMIDS = {
    "42147848", "41583480", "38200908", "26745452", "25796668", "21939120", "42680080",
    "42630596",
}  # fmt: skip


@pytest.fixture(scope="module")
def topics() -> TopicModel:
    return load_settings(HERE.parent / "sources.yaml", env={}).topics


@functools.cache
def _examples() -> tuple[Example, ...]:
    return tuple(load_acupuncture())


def _record(pmid: str) -> RecordData:
    (example,) = [e for e in _examples() if e.record.pmid == pmid]
    assert not is_held_out(example), "held-out records are not used one by one"
    return without_tags(example.record)


@functools.cache
def _lite(source_id: str) -> RecordData:
    (example,) = [e for e in load_europepmc_lite() if e.record.source_id == source_id]
    return without_tags(example.record)


def _figures(topics: TopicModel, held_out: bool) -> AcupunctureFigures:
    part = [e for e in _examples() if is_held_out(e) == held_out]
    return acupuncture_figures(topics, part)[0]


# --------------------------------------------------------------------------- the set


def test_the_set_and_its_fixed_split() -> None:
    examples = _examples()
    assert len(examples) == 40
    assert {e.record.pmid for e in examples if is_held_out(e)} == HELD_OUT_PMIDS
    labels = [e.design for e in examples]
    assert (labels.count("rct"), labels.count("systematic-review"), labels.count("review")) == (
        3,
        3,
        15,
    )  # the counts the shared PROVENANCE.md gives


@pytest.mark.parametrize(
    ("types", "mesh", "label"),
    [
        (["Journal Article", "Randomized Controlled Trial", "Review"], [], "rct"),
        (["Systematic Review", "Journal Article"], [], "systematic-review"),
        (["Meta-Analysis"], [], "systematic-review"),
        (["Journal Article", "Review"], ["Animals", "Humans"], "review"),
        (["Scoping Review"], [], "review"),
        (["Case Reports", "Journal Article"], [], "case-report"),
        (["Journal Article", "Comment"], [], "editorial"),
        (["Journal Article"], ["Animals", "Rats"], "animal-or-lab"),
        (["Journal Article"], ["Humans"], "other"),
        (["Consensus Development Conference, NIH", "Journal Article"], [], "other"),
    ],
)
def test_label_rule(types: list[str], mesh: list[str], label: str) -> None:
    assert label_acupuncture(types, mesh) == label


# --------------------------------------------------------------------------- targets


def test_training_part_meets_the_targets(topics: TopicModel) -> None:
    figures = _figures(topics, held_out=False)
    assert figures.n == 32
    assert (figures.scores["rct"].recall or 0) >= ACUPUNCTURE_TARGETS["rct_recall"]
    assert (figures.reviews.recall or 0) >= ACUPUNCTURE_TARGETS["reviews_recall"]
    assert figures.acupuncture_rate >= ACUPUNCTURE_TARGETS["acupuncture"]


@pytest.mark.xfail(
    strict=True,
    reason="PubMed gives 3 randomised training records no RCT type (a 'Pilot Randomized "
    "Clinical Trial', a sham-controlled PET analysis, a randomised crossover in healthy "
    "volunteers); calling them anything but rct would be wrong, so precision against "
    "the pubtypes labels is 0.5",
)
def test_training_part_rct_precision_target(topics: TopicModel) -> None:
    figures = _figures(topics, held_out=False)
    assert (figures.scores["rct"].precision or 0) >= ACUPUNCTURE_TARGETS["rct_precision"]


def test_every_rct_call_quotes_randomisation_of_its_own_participants(topics: TopicModel) -> None:
    """The rct calls the labels count as false are randomised studies by their own text."""
    for example in _examples():
        if is_held_out(example):
            continue
        result = classify(without_tags(example.record), topics)
        if result.design == "rct":
            assert re.search(r"randomi|randomly", result.design_evidence, re.IGNORECASE)


def test_held_out_part_keeps_the_floors(topics: TopicModel) -> None:
    figures = _figures(topics, held_out=True)
    assert figures.n == 8
    rct = figures.scores["rct"]
    if rct.support:
        assert (rct.recall or 0) >= ACUPUNCTURE_FLOORS["rct_recall"]
    if rct.predicted:
        assert (rct.precision or 0) >= ACUPUNCTURE_FLOORS["rct_precision"]
    assert (figures.reviews.recall or 0) >= ACUPUNCTURE_FLOORS["reviews_recall"]
    assert figures.acupuncture_rate >= ACUPUNCTURE_FLOORS["acupuncture"]


# --------------------------------------------------------------------------- the rules


def test_bibliometric_analysis_is_a_review(topics: TopicModel) -> None:
    # PMID 34916843 (PubMed: Review), 33551731 (PubMed: Systematic Review), and a genuine
    # Europe PMC title; none pools effects, so none is a systematic review
    for record in (_record("34916843"), _record("33551731"), _lite("MED:40524730")):
        result = classify(record, topics)
        assert result.design == "review", record.title
        assert result.sample_size is None


def test_a_bibliometric_title_beats_pubmeds_systematic_review_tag(topics: TopicModel) -> None:
    # PMID 33551731 as PubMed tags it ("Systematic Review", "Journal Article"): its title
    # says "A Bibliometric Analysis" and it counts 829 articles, not people
    (example,) = [e for e in _examples() if e.record.pmid == "33551731"]
    assert "Systematic Review" in example.record.publication_types
    result = classify(example.record, topics)
    assert result.design == "review"
    assert "bibliometric" in result.design_evidence.lower()
    assert result.sample_size is None


def test_a_count_of_included_studies_is_not_a_sample_size(topics: TopicModel) -> None:
    # PMID 42255938, a scoping review: "A total of 64 studies were included."
    (example,) = [e for e in _examples() if e.record.pmid == "42255938"]
    assert "A total of 64 studies were included" in (example.record.abstract or "")
    assert classify(example.record, topics).sample_size is None


def test_narrative_review_reporting_others_in_the_passive_is_a_review(
    topics: TopicModel,
) -> None:
    # PMID 17906602: "Recently, it was demonstrated that ..." is others' work
    result = classify(_record("17906602"), topics)
    assert result.design == "review"
    assert "none reporting own methods" in result.design_evidence


def test_a_model_building_study_is_not_an_overview(topics: TopicModel) -> None:
    # PMID 42309066: "We develop the Corticospinal Pain Intensity Pattern ..."
    assert classify(_record("42309066"), topics).design != "review"


def test_a_study_calling_itself_cross_sectional_is_not_a_trial(topics: TopicModel) -> None:
    # PMID 31964691: "We conducted cross-sectional studies ..." drawing on "a registered
    # clinical trial" for one of its four studies
    result = classify(_record("31964691"), topics)
    assert result.design == "observational"
    assert "cross-sectional" in result.design_evidence


@pytest.mark.parametrize(
    "source_id",
    [
        "MED:40518469",  # "... a comparison of female cancer survivorship guidelines ..."
        "MED:40174916",  # "Following the American Cancer Society guideline for ..."
        "MED:40517093",  # "Evaluation of Different NCCN Clinical Practice Guidelines ..."
        "MED:40450633",  # "Breast imaging recommendations ...: practice patterns at a ..."
        "MED:40536662",  # "Are guidelines guiding? A mixed methods study ..."
    ],
)
def test_titles_that_mention_guidelines_are_not_guidelines(
    topics: TopicModel, source_id: str
) -> None:
    assert classify(_lite(source_id), topics).design != "guideline"


@pytest.mark.parametrize(
    "source_id",
    [
        "MED:40499584",  # "NCCN Guidelines® Insights: Survivorship, Version 2.2025."
        "MED:40523834",  # "... ESMO Precision Oncology Working Group recommendations."
        "MED:40494042",  # "Pan-Asia adapted ESMO Clinical Practice Guideline for ..."
        "MED:40499586",  # "... NCCN Clinical Practice Guidelines In Oncology"
    ],
)
def test_guidelines_from_guideline_bodies_are_guidelines(
    topics: TopicModel, source_id: str
) -> None:
    assert classify(_lite(source_id), topics).design == "guideline"


def test_a_conference_report_naming_a_consensus_conference_is_not_a_guideline(
    topics: TopicModel,
) -> None:
    # PMID 18803495 mentions "the landmark NIH Consensus Development Conference"
    assert classify(_record("18803495"), topics).design != "guideline"


def _text_record(title: str, abstract: str) -> RecordData:
    return RecordData(source="rss", source_id="hand-made", title=title, abstract=abstract)


@pytest.mark.parametrize(
    ("title", "abstract"),
    [
        (  # hand-made: an article citing guidelines
            "Acupuncture for chronic low back pain in primary care.",
            "Several national bodies have issued advice on back pain. These guidelines "
            "recommend acupuncture for chronic low back pain. We describe how often it is "
            "offered.",
        ),
        (  # hand-made: a research agenda
            "Recommendations for future research on acupuncture for pain.",
            "Recommendations were made for future research on dose and sham controls.",
        ),
    ],
)
def test_handmade_mentions_of_guidelines_are_not_guidelines(
    topics: TopicModel, title: str, abstract: str
) -> None:
    assert classify(_text_record(title, abstract), topics).design != "guideline"


def test_handmade_guideline_saying_so_is_a_guideline(topics: TopicModel) -> None:
    record = _text_record(  # hand-made
        "Acupuncture in the management of chronic pain.",
        "This guideline was developed by a multidisciplinary panel of the society. "
        "Recommendations were formulated using GRADE.",
    )
    assert classify(record, topics).design == "guideline"


# --------------------------------------------------------------------------- patient info


def test_patient_information_is_a_design_ranked_below_evidence() -> None:
    assert "patient-information" in DESIGNS
    index = DESIGNS.index("patient-information")
    for design in ("systematic-review", "guideline", "rct", "observational", "review",
                   "animal-or-lab"):  # fmt: skip
        assert DESIGNS.index(design) < index


def test_nccih_fact_sheet_is_patient_information(topics: TopicModel) -> None:
    from digest.sources.nccih.parse import extract_page
    from tests.conftest import FIXTURES

    page = extract_page(  # hand-made copy of the page's structure (tests/fixtures/handmade)
        (FIXTURES / "handmade" / "handmade_nccih_lowback_v1.html").read_bytes(),
        "https://www.nccih.nih.gov/health/low-back-pain",
        ["main"],
        "patient-information",
    )
    result = classify(page, topics)
    assert result.design == "patient-information"
    assert result.design_evidence == "page marked patient-information"
    assert result.sample_size is None
    assert result.key_finding and result.key_finding in (page.abstract or "")


# --------------------------------------------------------------------------- fingerprint


def test_rules_revision_and_rule_order_are_in_the_fingerprint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert RULES_VERSION.startswith(f"r{RULES_REVISION}-")
    names = design_module.rule_order()
    assert len(names) == len(set(names))
    before = classify_module._rules_hash()
    monkeypatch.setattr(design_module, "TEXT_RULES", design_module.TEXT_RULES[::-1])
    assert classify_module._rules_hash() != before
