"""Europe PMC parser against every recorded search response (JSON lite/core, XML lite)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from digest.errors import ParseError
from digest.sources.europepmc.parse import (
    abstract_to_text,
    europepmc_page_info,
    parse_europepmc_json,
    parse_europepmc_xml,
)

CORPUS = Path(__file__).resolve().parent / "fixtures" / "corpus" / "europepmc"
HANDMADE = Path(__file__).resolve().parent / "fixtures" / "handmade"
JSON_FILES = sorted(CORPUS.glob("*.json"))
CORE_25 = CORPUS / "pyeuropepmc_search_cancer_core_25.json"
LITE_1000 = CORPUS / "pyeuropepmc_search_cancer_lite_1000.json"


def _results(path: Path) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = json.loads(path.read_bytes())["resultList"]["result"]
    return results


def _by_id(path: Path) -> dict[str, Any]:
    return {r.source_id: r for r in parse_europepmc_json(path.read_bytes()).records}


def test_corpus_is_there() -> None:
    assert len(JSON_FILES) == 8


@pytest.mark.parametrize("path", JSON_FILES, ids=lambda p: p.name)
def test_one_record_per_result_with_the_json_values(path: Path) -> None:
    raw = _results(path)
    result = parse_europepmc_json(path.read_bytes())
    assert result.warnings == []
    assert len(result.records) == len(raw)
    for record, item in zip(result.records, raw, strict=True):
        assert record.source == "europepmc"
        assert record.source_id == f"{item['source']}:{item['id']}"
        assert record.pmid == item.get("pmid")
        assert record.pmcid == item.get("pmcid")
        assert record.doi == (item["doi"].lower() if "doi" in item else None)
        assert record.published == item["firstPublicationDate"]
        assert record.url == f"https://europepmc.org/article/{item['source']}/{item['id']}"
        if "&lt;" not in item["title"] and "<" not in item["title"]:
            assert record.title == " ".join(item["title"].split())
        assert "<" not in record.title.replace(" < ", "")
        journal = item.get("journalTitle") or item.get("journalInfo", {}).get("journal", {}).get(
            "title"
        )
        if journal:
            assert record.journal == journal
        if "authorList" in item:
            assert len(record.authors) == len(item["authorList"]["author"])
        elif "authorString" in item:
            assert record.authors[0] == item["authorString"].rstrip(".").split(", ")[0]
        extra = record.extra
        assert extra["epmc_source"] == item["source"] and extra["epmc_id"] == item["id"]
        assert extra["cited_by"] == item.get("citedByCount")
        assert extra["is_open_access"] is (item.get("isOpenAccess") == "Y")
        assert extra["in_pmc"] is (item.get("inPMC") == "Y")
        assert extra["first_index_date"] == item.get("firstIndexDate")
        assert extra["is_preprint"] is (item["source"] == "PPR")


@pytest.mark.parametrize("path", JSON_FILES, ids=lambda p: p.name)
def test_page_info(path: Path) -> None:
    document = json.loads(path.read_bytes())
    cursor = document.get("nextCursorMark") if document["resultList"]["result"] else None
    assert europepmc_page_info(path.read_bytes()) == (cursor, document["hitCount"])


def test_lite_page_types_and_markup() -> None:
    records = _by_id(LITE_1000)
    assert len(records) == 1000
    acupuncture = records["MED:40521704"]
    assert acupuncture.title == (
        "Acupuncture Potentiates anti-PD-1 Efficacy by Promoting CD5+ Dendritic Cells and T "
        "Cell-Mediated Tumor Immunity in a Mouse Model of Breast Cancer."
    )
    assert records["MED:40505930"].title.startswith("circADARB1 enhances ZEB1 expression in an m6A")
    review = records["PMC:PMC12175493"]
    assert review.pmcid == "PMC12175493" and review.pmid is None
    assert review.publication_types == ["review-article", "review", "journal article"]
    assert review.authors[:2] == ["Gu P", "Xu W"]


def test_preprints() -> None:
    records = _by_id(LITE_1000)
    preprints = [r for r in records.values() if r.extra["is_preprint"]]
    assert len(preprints) == 24
    medrxiv = records["PPR:PPR1036674"]
    assert medrxiv.doi == "10.1101/2025.06.13.25329599"
    assert medrxiv.journal == "medRxiv"
    assert medrxiv.publication_types == ["preprint"]
    assert medrxiv.url == "https://europepmc.org/article/PPR/PPR1036674"
    assert records["PPR:PPR1037166"].extra["version"] == "1"
    assert medrxiv.extra["version"] is None


def test_core_fields() -> None:
    records = _by_id(CORE_25)
    article = records["MED:40468710"]
    assert article.abstract is not None
    assert article.abstract.startswith(
        "OBJECTIVE: This study investigated whether psychological flexibility"
    )
    assert "\n\nDESIGN: This was an online, prospective" in article.abstract
    assert "<h4>" not in article.abstract
    assert article.journal == "British journal of health psychology"
    assert article.language == "eng"
    assert article.mesh_terms[:3] == ["Humans", "Neoplasms", "Fatigue"]
    assert "Psychological Flexibility" in article.extra["keywords"]
    lancet = records["MED:39709209"]
    assert lancet.authors == ["Schoenfeld JD", "Haas-Kogan DA", "O'Neill AF"]
    assert (lancet.extra["volume"], lancet.extra["issue"]) == ("404", "10471")


def test_core_comment_corrections_kept_raw() -> None:
    erratum = _by_id(CORE_25)["MED:39709208"]
    assert erratum.publication_types == ["Published Erratum", "correction"]
    assert erratum.extra["comment_corrections"] == [
        {
            "id": "39293462",
            "source": "MED",
            "reference": "Lancet. 2024 Sep 28;404(10459):1227-1239. doi: "
            "10.1016/S0140-6736(24)01653-2.",
            "type": "Erratum for",
            "orderIn": 1,
        }
    ]
    assert erratum.extra["published_version"] is None and erratum.extra["preprint"] is None


def test_xml_lite_page_is_the_same_page_as_core_json() -> None:
    """The recorded XML page and the core JSON page share their nextCursorMark: same hits."""
    xml = parse_europepmc_xml((CORPUS / "pyeuropepmc_search_cancer_lite.xml").read_bytes())
    core = parse_europepmc_json(CORE_25.read_bytes())
    assert len(xml.records) == 25
    for from_xml, from_json in zip(xml.records, core.records, strict=True):
        assert from_xml.source_id == from_json.source_id
        assert (from_xml.pmid, from_xml.doi, from_xml.pmcid) == (
            from_json.pmid,
            from_json.doi,
            from_json.pmcid,
        )
        assert from_xml.title == from_json.title
        assert from_xml.published == from_json.published


# --------------------------------------------------------------------------- inline cases
# Synthetic result objects (not recordings) for behaviour the corpus does not show.


def _page(*results: dict[str, Any]) -> bytes:
    return json.dumps({"hitCount": len(results), "resultList": {"result": list(results)}}).encode()


def test_markup_never_survives_as_html() -> None:
    item = {
        "id": "1",
        "source": "MED",
        "title": (
            "&lt;script&gt;alert(1)&lt;/script&gt;Safe &lt;i&gt;title&lt;/i&gt; &amp;amp; more"
        ),
        "abstractText": "<h4>Background</h4><script>bad()</script>Text with <b>bold</b>.",
        "firstPublicationDate": "2025-01-01",
    }
    record = parse_europepmc_json(_page(item)).records[0]
    assert record.title == "Safe title & more"
    assert record.abstract == "BACKGROUND: Text with bold."


def test_preprint_version_link_is_lifted_out() -> None:
    item = {
        "id": "PPR1",
        "source": "PPR",
        "pubType": "preprint",
        "title": "t",
        "commentCorrectionList": {
            "commentCorrection": [{"id": "40000000", "source": "MED", "type": "Preprint of"}]
        },
    }
    record = parse_europepmc_json(_page(item)).records[0]
    assert record.extra["published_version"] == {
        "source": "MED",
        "id": "40000000",
        "type": "Preprint of",
    }
    assert record.source_id == "PPR:PPR1" and record.published is None


def test_abstract_without_headings_is_plain_paragraphs() -> None:
    assert abstract_to_text("<p>One &amp; two.</p><p>Three.</p>") == "One & two.\n\nThree."
    assert abstract_to_text("") is None


def test_result_without_ids_is_skipped_with_warning() -> None:
    good = {"id": "2", "source": "MED", "pmid": "2", "title": "kept"}
    result = parse_europepmc_json(_page({"title": "no ids"}, good))
    assert [r.source_id for r in result.records] == ["MED:2"]
    assert len(result.warnings) == 1


def test_cursor_that_stops_changing_ends_paging() -> None:
    payload = json.dumps(
        {
            "hitCount": 3,
            "nextCursorMark": "AoE=",
            "request": {"cursorMark": "AoE%3D"},
            "resultList": {"result": [{"id": "1", "source": "MED"}]},
        }
    ).encode()
    assert europepmc_page_info(payload) == (None, 3)


MALFORMED = [
    pytest.param(CORE_25.read_bytes()[:4000], id="truncated"),
    pytest.param((HANDMADE / "handmade_error_page.html").read_bytes(), id="html-error-page"),
    pytest.param(b'{"version": "6.9", "hitCount": 0}', id="no-resultList"),
    pytest.param(b'{"resultList": [1, 2]}', id="resultList-not-object"),
    pytest.param(b"[]", id="a-list"),
    pytest.param(b"", id="empty"),
]


@pytest.mark.parametrize("payload", MALFORMED)
def test_malformed_json_raises(payload: bytes) -> None:
    with pytest.raises(ParseError):
        parse_europepmc_json(payload)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(
            (CORPUS / "pyeuropepmc_search_cancer_lite.xml").read_bytes()[:3000], id="truncated"
        ),
        pytest.param(b"<html><body>error</body></html>", id="html"),
    ],
)
def test_malformed_xml_raises(payload: bytes) -> None:
    with pytest.raises(ParseError):
        parse_europepmc_xml(payload)
