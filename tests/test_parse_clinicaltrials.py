"""ClinicalTrials.gov parsers against every recorded v2 JSON and the 5 legacy XML records."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from digest.errors import ParseError
from digest.sources.clinicaltrials.parse import (
    ctgov_page_info,
    describe_ctgov_change,
    legacy_date,
    legacy_enum,
    legacy_phases,
    markdown_to_text,
    parse_ctgov_json,
    parse_ctgov_legacy_xml,
)

CORPUS = Path(__file__).resolve().parent / "fixtures" / "corpus"
HANDMADE = Path(__file__).resolve().parent / "fixtures" / "handmade"
V2_FILES = sorted((CORPUS / "clinicaltrials").glob("*.json"))
LEGACY_DIR = CORPUS / "acupuncture" / "clinicaltrials-legacy-xml"


def _studies(document: dict[str, Any]) -> list[dict[str, Any]]:
    studies: list[dict[str, Any]] = document.get("studies", [document])
    return studies


def test_corpus_is_there() -> None:
    assert len(V2_FILES) == 12
    assert len(list(LEGACY_DIR.glob("*.xml"))) == 5


# --------------------------------------------------------------------------- API v2 JSON


@pytest.mark.parametrize("path", V2_FILES, ids=lambda p: p.name)
def test_v2_records_match_the_json(path: Path) -> None:
    payload = path.read_bytes()
    studies = _studies(json.loads(payload))
    result = parse_ctgov_json(payload)

    assert result.warnings == []
    assert len(result.records) == len(studies)
    for record, study in zip(result.records, studies, strict=True):
        protocol = study["protocolSection"]
        status = protocol.get("statusModule", {})
        nct = protocol["identificationModule"]["nctId"]
        assert record.source == "clinicaltrials"
        assert record.source_id == nct
        assert record.nct_ids == [nct]
        assert record.pmid is None
        assert record.publication_types == []
        assert record.title == protocol["identificationModule"]["briefTitle"]
        assert record.url == f"https://clinicaltrials.gov/study/{nct}"
        first_posted = status.get("studyFirstPostDateStruct", {}).get("date")
        assert record.published == first_posted
        extra = record.extra
        assert extra["overall_status"] == status["overallStatus"]
        assert extra["start_date"] == status.get("startDateStruct", {}).get("date")
        assert extra["completion_date"] == status.get("completionDateStruct", {}).get("date")
        design = protocol.get("designModule", {})
        assert extra["enrollment"]["count"] == design.get("enrollmentInfo", {}).get("count")
        assert extra["phases"] == design.get("phases", [])
        assert extra["has_results"] is bool(study.get("hasResults", False))
        references = protocol.get("referencesModule", {}).get("references", [])
        assert [r["pmid"] for r in extra["references"]] == [r.get("pmid") for r in references]
        assert json.loads(json.dumps(record.to_json_dict())) == record.to_json_dict()


@pytest.mark.parametrize("path", V2_FILES, ids=lambda p: p.name)
def test_v2_page_info(path: Path) -> None:
    document = json.loads(path.read_bytes())
    assert ctgov_page_info(path.read_bytes()) == (
        document.get("nextPageToken"),
        document.get("totalCount"),
    )


def test_v2_record_in_detail() -> None:
    record = parse_ctgov_json(
        (CORPUS / "clinicaltrials" / "aact_v2_study_NCT03630471_documentsection.json").read_bytes()
    ).records[0]
    extra = record.extra
    assert record.source_id == "NCT03630471"
    assert record.published == "2018-08-14"
    assert extra["acronym"] == "PRIDE"
    assert extra["allocation"] == "RANDOMIZED"
    assert extra["masking"] == "DOUBLE"
    assert extra["last_update_posted"] == "2019-05-21"
    derived = [r for r in extra["references"] if r["type"] == "DERIVED"]
    assert [r["pmid"] for r in derived] == ["34582460", "32585185", "31533783"]
    assert extra["references"][6] == {
        "pmid": None,
        "type": "BACKGROUND",
        "citation": "Lazarus RS, Folkman S. Stress, appraisal, and coping. New York, Springer Pub. "
        "Co.; 1984.",
        "retractions": [],
    }
    # results papers the registry cites are typed relations; background references are not
    assert [(r.kind, r.pmid) for r in record.relations] == [
        ("results-in", p) for p in ["34582460", "32585185", "31533783"]
    ]


def test_v2_results_and_mesh() -> None:
    record = parse_ctgov_json(
        (CORPUS / "clinicaltrials" / "aact_v2_study_NCT00763412_with_results.json").read_bytes()
    ).records[0]
    assert record.extra["has_results"] is True
    assert record.extra["enrollment"] == {"count": 31, "type": "ACTUAL"}
    assert record.extra["interventions"][1]["name"] == "repaglinide"
    assert record.extra["interventions"][1]["type"] == "DRUG"
    assert record.extra["arm_groups"][0]["type"] == "PLACEBO_COMPARATOR"
    assert "Cystic Fibrosis" in record.extra["condition_mesh"]
    assert (
        record.mesh_terms[: len(record.extra["condition_mesh"])] == record.extra["condition_mesh"]
    )


def test_v2_withdrawn_has_why_stopped() -> None:
    record = parse_ctgov_json(
        (CORPUS / "clinicaltrials" / "aact_v2_study_NCT00973089_withdrawn.json").read_bytes()
    ).records[0]
    assert record.extra["overall_status"] == "WITHDRAWN"
    assert record.extra["why_stopped"].startswith("recruiting or enrolling participants")


def test_v2_markdown_escapes_become_plain_text() -> None:
    path = CORPUS / "clinicaltrials" / "biomcp_v2_get_nct02576665_fields_locations.json"
    record = parse_ctgov_json(path.read_bytes()).records[0]
    assert record.abstract is not None
    assert "recurrent high grade glioma [rHGG]" in record.abstract
    assert "\\" not in record.abstract
    assert markdown_to_text("a \\> 30% \\& b\n\n\n* item") == "a > 30% & b\n\n* item"


MALFORMED_JSON = [
    pytest.param(b'{"studies": [{"protocolSection": {"identificationModule"', id="truncated"),
    pytest.param(b"", id="empty"),
    pytest.param(b'{"error": "rate limited"}', id="wrong-shape"),
    pytest.param(b"[1, 2, 3]", id="a-list"),
    pytest.param(b"\xff\xfe garbage", id="not-utf8"),
]


@pytest.mark.parametrize("payload", MALFORMED_JSON)
def test_malformed_json_raises(payload: bytes) -> None:
    with pytest.raises(ParseError):
        parse_ctgov_json(payload)


def test_html_error_page_instead_of_json() -> None:
    with pytest.raises(ParseError, match="HTML"):
        parse_ctgov_json((HANDMADE / "handmade_error_page.html").read_bytes())


def test_a_study_without_nct_id_is_skipped_with_a_warning() -> None:
    good = json.loads(
        (CORPUS / "clinicaltrials" / "biomcp_v2_get_nct06604689_fields.json").read_bytes()
    )
    page = {"studies": [{"protocolSection": {"identificationModule": {}}}, good]}
    result = parse_ctgov_json(json.dumps(page).encode())
    assert [r.source_id for r in result.records] == ["NCT06604689"]
    assert len(result.warnings) == 1 and "nctId" in result.warnings[0]


def test_markup_in_a_registration_never_survives_as_html() -> None:
    """Synthetic study (not a recording): CT.gov text is Markdown, stray tags are dropped."""
    study = {
        "protocolSection": {
            "identificationModule": {
                "nctId": "NCT01570127",
                "briefTitle": "<script>alert(1)</script>Acupuncture  trial",
            },
            "descriptionModule": {
                "briefSummary": "Pain \\<126 mm & more.\n\nSee <b>this</b><script>x()</script>."
            },
        }
    }
    record = parse_ctgov_json(json.dumps(study).encode()).records[0]
    assert record.title == "Acupuncture trial"
    assert record.abstract == "Pain <126 mm & more.\n\nSee this."


def test_empty_last_page() -> None:
    result = parse_ctgov_json(b'{"studies": []}')
    assert result.records == [] and result.warnings == []
    assert ctgov_page_info(b'{"studies": []}') == (None, None)


# --------------------------------------------------------------------------- legacy XML

LEGACY_EXPECTED: dict[str, dict[str, Any]] = {
    "NCT01570127": {
        "title": "Efficacy and Safety Study of Individualized and Standardized Acupuncture "
        "Treatment for Low Back Pain",
        "published": "2012-04-04",
        "overall_status": "UNKNOWN",
        "last_known_status": "RECRUITING",
        "study_type": "INTERVENTIONAL",
        "phases": ["PHASE2"],
        "allocation": "RANDOMIZED",
        "masking": "TRIPLE",
        "primary_purpose": "TREATMENT",
        "enrollment": {"count": 276, "type": "ESTIMATED"},
        "start_date": "2010-10",
        "primary_completion_date": "2012-08",
        "completion_date": "2012-12",
        "last_update_posted": "2012-04-06",
        "sponsor": "Dongwoo Nam",
        "conditions": ["Low Back Pain"],
        "condition_mesh": ["Back Pain", "Low Back Pain"],
        "arm_types": ["EXPERIMENTAL", "EXPERIMENTAL", "SHAM_COMPARATOR", "NO_INTERVENTION"],
        "interventions": [
            ("PROCEDURE", "Individualized Acupuncture"),
            ("PROCEDURE", "Standardized Acupuncture"),
            ("PROCEDURE", "Sham Acupuncture"),
            ("OTHER", "Waiting"),
        ],
        "abstract_start": "The purpose of this study is to determine whether acupuncture "
        "treatment(Individualized & Standardized Acupuncture) is more effective",
    },
    "NCT01722253": {
        "title": "Postoperative Analgesia After Low Frequency Electroacupuncture",
        "acronym": "LFE",
        "published": "2012-11-06",
        "overall_status": "COMPLETED",
        "study_type": "OBSERVATIONAL",
        "phases": [],
        "allocation": None,
        "enrollment": {"count": 54, "type": "ACTUAL"},
        "start_date": "2008-12",
        "primary_completion_date": "2015-03",
        "completion_date": "2015-04",
        "last_update_posted": "2015-06-08",
        "sponsor": "Aristotle University Of Thessaloniki",
        "conditions": ["Inguinal Hernia"],
        "condition_mesh": ["Hernia", "Hernia, Inguinal"],
        "arm_types": [None],
        "interventions": [("PROCEDURE", "Electroacupuncture")],
        "abstract_start": "The purpose of this study is to determine whether electroacupuncture",
    },
    "NCT02399969": {
        "title": "Battlefield Acupuncture for the Treatment of Low Back Pain in the Emergency "
        "Department",
        "published": "2015-03-26",
        "overall_status": "COMPLETED",
        "study_type": "INTERVENTIONAL",
        "phases": ["PHASE1", "PHASE2"],
        "allocation": "RANDOMIZED",
        "masking": "NONE",
        "enrollment": {"count": 30, "type": "ACTUAL"},
        "start_date": "2015-03",
        "completion_date": "2016-04",
        "last_update_posted": "2016-05-05",
        "sponsor": "Icahn School of Medicine at Mount Sinai",
        "conditions": ["Low Back Pain"],
        "condition_mesh": ["Back Pain", "Emergencies", "Low Back Pain"],
        "arm_types": ["EXPERIMENTAL", "NO_INTERVENTION"],
        "interventions": [("OTHER", "Battlefield Acupuncture")],
        "abstract_start": "The purpose of this study is to study acupuncture for the treatment",
    },
    "NCT02510066": {
        "title": "Efficacy and Mechanisms of Acupuncture for Patients With Advanced Pancreatic "
        "Cancer Pain",
        "published": "2015-07-28",
        "overall_status": "UNKNOWN",
        "last_known_status": "RECRUITING",
        "phases": ["PHASE3"],
        "masking": "SINGLE",
        "enrollment": {"count": 62, "type": "ESTIMATED"},
        "start_date": "2015-07",
        "completion_date": "2017-06",
        "sponsor": "Shanghai Cancer Hospital, China",
        "conditions": ["Pancreatic Cancer", "Pain"],
        "condition_mesh": ["Pancreatic Neoplasms", "Cancer Pain"],
        "arm_types": ["EXPERIMENTAL", "PLACEBO_COMPARATOR"],
        "interventions": [("DEVICE", "Acupuncture"), ("DEVICE", "Placebo acupuncture")],
        "abstract_start": "This study compares the effect of acupuncture and placebo acupuncture",
    },
    "NCT02583334": {
        "title": "Acupuncture for Fibromyalgia",
        "published": "2015-10-22",
        "overall_status": "UNKNOWN",
        "phases": ["NA"],
        "masking": "DOUBLE",
        "enrollment": {"count": 158, "type": "ESTIMATED"},
        "start_date": "2015-01",
        "primary_completion_date": "2016-01",
        "completion_date": "2016-04",
        "sponsor": "China Medical University Hospital",
        "conditions": ["Fibromyalgia"],
        "condition_mesh": ["Fibromyalgia", "Myofascial Pain Syndromes"],
        "arm_types": ["EXPERIMENTAL", "SHAM_COMPARATOR"],
        "interventions": [
            ("DEVICE", "Verum acupuncture (30# acupuncture needle)"),
            ("DEVICE", "Sham acupuncture"),
        ],
        "abstract_start": "Fibromyalgia is the second most common autoimmune rheumatic diseases",
    },
}
_RECORD_FIELDS = {"title", "published"}
_DERIVED = {"arm_types", "interventions", "abstract_start"}


@pytest.mark.parametrize("nct", sorted(LEGACY_EXPECTED))
def test_legacy_xml_field_by_field(nct: str) -> None:
    result = parse_ctgov_legacy_xml((LEGACY_DIR / f"{nct}.xml").read_bytes())
    assert len(result.records) == 1
    record = result.records[0]
    expected = LEGACY_EXPECTED[nct]
    assert record.source == "clinicaltrials"
    assert record.source_id == nct
    assert record.nct_ids == [nct]
    assert record.url == f"https://clinicaltrials.gov/study/{nct}"
    assert record.pmid is None
    for key, value in expected.items():
        if key in _RECORD_FIELDS:
            assert getattr(record, key) == value, key
        elif key not in _DERIVED:
            assert record.extra[key] == value, key
    assert [a["type"] for a in record.extra["arm_groups"]] == expected["arm_types"]
    assert [(i["type"], i["name"]) for i in record.extra["interventions"]] == (
        expected["interventions"]
    )
    assert record.abstract is not None
    assert record.abstract.startswith(expected["abstract_start"])
    assert "\r" not in record.abstract and "  " not in record.abstract
    assert record.mesh_terms == expected["condition_mesh"]
    assert record.extra["has_results"] is False
    assert record.extra["references"] == []
    assert record.extra["legacy"]["download_date"].endswith("May 29, 2018")


def test_legacy_keeps_the_raw_wording() -> None:
    record = parse_ctgov_legacy_xml((LEGACY_DIR / "NCT01570127.xml").read_bytes()).records[0]
    assert record.extra["legacy"]["overall_status"] == "Unknown status"
    assert record.extra["legacy"]["masking"] == (
        "Triple (Participant, Investigator, Outcomes Assessor)"
    )
    assert record.extra["official_title"].startswith("Clinical Trial to Evaluate and Compare")
    assert record.extra["keywords"][-1] == "Randomized Controlled Trial"


def test_legacy_entities_are_decoded_once() -> None:
    record = parse_ctgov_legacy_xml((LEGACY_DIR / "NCT01570127.xml").read_bytes()).records[0]
    assert record.abstract is not None
    assert "(Individualized & Standardized Acupuncture)" in record.abstract
    assert "&amp;" not in record.abstract
    pancreas = parse_ctgov_legacy_xml((LEGACY_DIR / "NCT02510066.xml").read_bytes()).records[0]
    assert pancreas.extra["arm_groups"][0]["description"].startswith(
        "Acupuncture participants would receive electroacupuncture on Jiaji (Ex-B2) points"
    )


def test_legacy_arm_description_with_embedded_line_break() -> None:
    record = parse_ctgov_legacy_xml((LEGACY_DIR / "NCT01722253.xml").read_bytes()).records[0]
    description = record.extra["arm_groups"][0]["description"]
    assert "'frequency scanning mode'. Placebo electroacupuncture, in which" in description


def test_legacy_and_v2_records_have_the_same_shape() -> None:
    legacy = parse_ctgov_legacy_xml((LEGACY_DIR / "NCT01570127.xml").read_bytes()).records[0]
    v2 = parse_ctgov_json(
        (CORPUS / "clinicaltrials" / "aact_v2_study_NCT00763412_with_results.json").read_bytes()
    ).records[0]
    assert set(legacy.extra) - {"legacy"} == set(v2.extra)


@pytest.mark.parametrize(
    ("raw", "iso"),
    [("March 2012", "2012-03"), ("April 4, 2012", "2012-04-04"), ("2012-04-04", "2012-04-04"),
     ("Spring 2012", "Spring 2012"), (None, None)],
)  # fmt: skip
def test_legacy_date(raw: str | None, iso: str | None) -> None:
    assert legacy_date(raw) == iso


def test_legacy_enums() -> None:
    assert legacy_enum("Active, not recruiting") == "ACTIVE_NOT_RECRUITING"
    assert legacy_enum("Unknown status") == "UNKNOWN"
    assert legacy_enum("N/A") == "NA"
    assert legacy_phases("Early Phase 1") == ["EARLY_PHASE1"]
    assert legacy_phases("Phase 2/Phase 3") == ["PHASE2", "PHASE3"]


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(
            (LEGACY_DIR / "NCT01570127.xml").read_bytes()[:5000], id="truncated-legacy-xml"
        ),
        pytest.param(b"<clinical_study><id_info/></clinical_study>", id="no-nct-id"),
        pytest.param(b"<PubmedArticleSet/>", id="wrong-root"),
        pytest.param((HANDMADE / "handmade_error_page.html").read_bytes(), id="html-page"),
    ],
)
def test_malformed_legacy_xml_raises(payload: bytes) -> None:
    with pytest.raises(ParseError):
        parse_ctgov_legacy_xml(payload)


def test_legacy_search_results_wrapper() -> None:
    study = (LEGACY_DIR / "NCT02583334.xml").read_bytes()
    other = (LEGACY_DIR / "NCT01722253.xml").read_bytes()
    payload = b"<search_results>" + study + other + b"</search_results>"
    ids = [r.source_id for r in parse_ctgov_legacy_xml(payload).records]
    assert ids == ["NCT02583334", "NCT01722253"]


def test_legacy_xml_entities_are_not_expanded() -> None:
    payload = (
        b'<?xml version="1.0"?><!DOCTYPE clinical_study [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<clinical_study><id_info><nct_id>NCT01570127</nct_id></id_info>"
        b"<brief_title>t &x;</brief_title></clinical_study>"
    )
    record = parse_ctgov_legacy_xml(payload).records[0]
    assert "root:" not in record.title


# --------------------------------------------------------------------------- changes


def _legacy_dict(nct: str) -> dict[str, Any]:
    record = parse_ctgov_legacy_xml((LEGACY_DIR / f"{nct}.xml").read_bytes()).records[0]
    return record.to_json_dict()


def test_change_summary_for_what_a_clinic_cares_about() -> None:
    old = _legacy_dict("NCT01570127")
    new = copy.deepcopy(old)
    new["extra"]["overall_status"] = "COMPLETED"
    new["extra"]["has_results"] = True
    new["extra"]["enrollment"] = {"count": 280, "type": "ESTIMATED"}
    new["extra"]["last_update_posted"] = "2014-01-01"
    assert describe_ctgov_change(old, new) == (
        "status UNKNOWN -> COMPLETED; results posted; enrollment 276 -> 280"
    )


def test_change_summary_enrollment_type_and_publication() -> None:
    old = _legacy_dict("NCT02583334")
    new = copy.deepcopy(old)
    new["extra"]["enrollment"] = {"count": 150, "type": "ACTUAL"}
    new["extra"]["completion_date"] = "2016-09"
    new["extra"]["phases"] = ["PHASE2", "PHASE3"]
    new["extra"]["references"] = [{"pmid": "12345678", "type": "RESULT", "citation": "x"}]
    summary = describe_ctgov_change(old, new)
    assert summary == (
        "enrollment 158 (estimated) -> 150 (actual); completion 2016-04 -> 2016-09; "
        "phase NA -> PHASE2/PHASE3; new result publication PMID 12345678"
    )


def test_withdrawal_reports_why_stopped() -> None:
    old = _legacy_dict("NCT02510066")
    new = copy.deepcopy(old)
    new["extra"]["overall_status"] = "TERMINATED"
    new["extra"]["why_stopped"] = "funding ended"
    assert describe_ctgov_change(old, new) == (
        "status UNKNOWN -> TERMINATED; why stopped: funding ended"
    )


def test_no_meaningful_change_is_none() -> None:
    old = _legacy_dict("NCT02399969")
    new = copy.deepcopy(old)
    new["extra"]["last_update_posted"] = "2020-01-01"
    new["abstract"] = (new["abstract"] or "") + " Edited wording."
    assert describe_ctgov_change(old, new) is None
    assert describe_ctgov_change(old, old) is None


def test_legacy_and_v2_of_the_same_status_compare_equal() -> None:
    old = _legacy_dict("NCT01722253")
    new = copy.deepcopy(old)
    del new["extra"]["legacy"]
    assert describe_ctgov_change(old, new) is None
