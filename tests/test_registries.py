"""Registrations of any trial registry work like ClinicalTrials.gov ones in dedupe and
classification: ISRCTN and ChiCTR ids are link keys of papers, a registry kind's own id is
a merge key, a permalink and a design.

Every record here is HAND-MADE (no real ChiCTR/ISRCTN payload is stored): the ids, titles
and abstracts are invented for the test. The ChiCTR registry kind is declared in a fixture,
the way a `sources/chictr/` kind would declare its traits; dedupe and classify must need
nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from digest import sources
from digest.classify import classify_merged
from digest.config import TopicModel, load_settings
from digest.model import RecordData, Relation
from digest.render.provenance import source_label
from digest.sources.base import SourceTraits
from digest.sources.clinicaltrials.ids import registration_identifiers
from digest.studies import cluster as dedupe
from digest.studies import features, merge, slugs

CHICTR_ID = "ChiCTR2000031234"  # hand-made
ISRCTN_ID = "ISRCTN12345678"  # hand-made


@pytest.fixture(scope="module")
def topics() -> TopicModel:
    return load_settings(Path(__file__).parent.parent / "sources.yaml", env={}).topics


@pytest.fixture
def chictr_kind() -> Iterator[None]:
    """A ChiCTR registry kind, declared by its traits only (as its registry line would)."""
    table = sources._traits_by_record_source()
    table["handmade-chictr"] = SourceTraits(
        record_sources=("handmade-chictr",),
        precedence=4,
        registry=True,
        own_identifiers=registration_identifiers,
    )
    yield
    del table["handmade-chictr"]


def handmade_chictr_registration() -> RecordData:
    return RecordData(
        source="handmade-chictr",
        source_id=CHICTR_ID,
        title="Hand-made: electroacupuncture for post-stroke dysphagia, a randomised trial",
        abstract="Hand-made registration summary: electroacupuncture versus sham.",
        extra={"study_type": "INTERVENTIONAL", "allocation": "RANDOMIZED"},
        relations=[Relation(kind="results-in", pmid="90000002", note="RESULT")],
    )


def handmade_paper(pmid: str, title: str, abstract: str, **fields: Any) -> RecordData:
    return RecordData(
        source="import",
        source_id=f"handmade-{pmid}",
        pmid=pmid,
        title=title,
        abstract=abstract,
        authors=["Handmade A", "Invented B"],
        published="2024",
        **fields,
    )


def handmade_chictr_papers() -> list[RecordData]:
    protocol = handmade_paper(
        "90000001",
        "Hand-made: electroacupuncture for post-stroke dysphagia: study protocol",
        f"Methods: this protocol was registered at the Chinese Clinical Trial Registry "
        f"({CHICTR_ID}).",
        publication_types=["Clinical Trial Protocol"],
    )
    results = handmade_paper(
        "90000002",
        "Hand-made: electroacupuncture improves swallowing after stroke",
        "Conclusions: electroacupuncture improved swallowing more than sham.",
        publication_types=["Randomized Controlled Trial"],
    )
    return [protocol, results]


def test_a_registration_of_another_registry_keys_on_its_own_id(chictr_kind: None) -> None:
    registration = handmade_chictr_registration()
    assert features.is_registration(registration)
    assert ("registration", CHICTR_ID) in features.identifiers(registration)
    assert slugs.study_slug([registration]) == "chictr-chictr2000031234"


def test_papers_name_chictr_and_isrctn_ids_as_trial_links_never_merge_keys() -> None:
    protocol, _ = handmade_chictr_papers()
    assert features.link_identifiers(protocol) == {("trial", CHICTR_ID)}
    assert all(value != CHICTR_ID for _, value in features.identifiers(protocol))
    named = handmade_paper(
        "90000003", "Hand-made: acupressure for nausea", "Hand-made abstract.", nct_ids=[ISRCTN_ID]
    )
    assert features.link_identifiers(named) == {("trial", ISRCTN_ID)}
    merged, _ = merge.merge_fields([named])
    assert merged["nct_ids"] == [ISRCTN_ID]


def test_chictr_registration_links_to_its_papers_like_an_nct_one(chictr_kind: None) -> None:
    registration = handmade_chictr_registration()
    protocol, results = handmade_chictr_papers()
    records = {"reg": registration, "protocol": protocol, "results": results}
    result = dedupe.cluster(records)
    assert sorted(map(sorted, result.clusters)) == [["protocol"], ["reg"], ["results"]]
    links = {(link.key_a, link.key_b, link.kind) for link in result.links}
    assert ("protocol", "reg", "registration") in links  # the protocol names the ChiCTR id
    assert ("results", "reg", "registration") in links  # the registration lists the results
    assert ("protocol", "results", "protocol-of") in links


def test_chictr_registration_is_classified_as_a_registration(
    chictr_kind: None, topics: TopicModel
) -> None:
    call = classify_merged([handmade_chictr_registration()], topics)
    assert call.design == "trial-registration"
    assert call.design_evidence == f"registration {CHICTR_ID} (interventional, randomized)"
    with_paper = classify_merged(
        [handmade_chictr_registration(), handmade_chictr_papers()[1]], topics
    )
    assert with_paper.design == "rct"  # a paper's design wins over its registration


def test_a_record_source_reads_as_its_kinds_label_on_the_study_page() -> None:
    for kind in sources.all_kinds().values():
        assert kind.traits.label, f"{kind.kind} has no reader label"
        for source in kind.traits.record_sources:
            assert source_label(source) == kind.traits.label
    assert source_label("import") == "an imported reference list"
    assert source_label("library") == "the clinic's own reference library"
    assert source_label("someone-else") == "someone-else"  # unknown: its own name, not blank
