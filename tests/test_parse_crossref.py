"""digest.sources.crossref.parse against genuine Crossref REST payloads
(tests/fixtures/corpus/crossref/PROVENANCE.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from digest import facts
from digest.errors import ParseError
from digest.model import RecordData, Relation
from digest.sources import get_parser
from digest.sources.crossref.parse import crossref_page_info, parse_crossref
from tests.conftest import CORPUS

CROSSREF = CORPUS / "crossref"
WAKEFIELD = "10.1016/s0140-6736(97)11096-0"
FILES = sorted(CROSSREF.glob("*.json"))


def read(name: str) -> bytes:
    return (CROSSREF / name).read_bytes()


def one(name: str) -> RecordData:
    (record,) = parse_crossref(read(name)).records
    return record


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_genuine_work_parses_with_its_doi_and_title(path: Path) -> None:
    document = json.loads(path.read_bytes())
    items = document["message"].get("items", [document["message"]])
    result = parse_crossref(path.read_bytes())
    assert not result.warnings
    assert [r.doi for r in result.records] == [facts.normalize_doi(i["DOI"]) for i in items]
    for record in result.records:
        assert record.source == "crossref" and record.source_id == record.doi
        assert record.url == f"https://doi.org/{record.doi}"
        assert RecordData.from_json_dict(record.to_json_dict()) == record


def test_retraction_watch_notices_name_what_they_update() -> None:
    correction, retraction = parse_crossref(
        read("uws_works_filter-updates_10.1016_s0140-6736(97)11096-0.json")
    ).records
    assert correction.relations == [
        Relation(
            "erratum-for",
            doi=WAKEFIELD,
            date="2004-03-06",
            via="retraction-watch",
            note="Correction",
        )
    ]
    assert retraction.relations == [
        Relation(
            "retraction-of",
            doi=WAKEFIELD,
            date="2010-02-06",
            via="retraction-watch",
            note="Retraction",
        )
    ]
    assert retraction.extra["update_to"][0]["record-id"] == "4036"  # kept as Crossref said


def test_a_retracted_work_names_its_notices_and_reads_as_retracted() -> None:
    record = one("uws_works_10.1016_s0140-6736(97)11096-0.json")
    assert [(r.kind, r.doi) for r in record.relations] == [
        ("erratum-in", "10.1016/s0140-6736(04)15715-2"),
        ("retracted-by", "10.1016/s0140-6736(10)60175-4"),
    ]
    assert record.title.startswith("RETRACTED:")
    assert facts.is_retracted(record) and facts.has_erratum(record)
    assert record.journal == "The Lancet" and record.published and record.authors


def test_one_retraction_asserted_by_publisher_and_retraction_watch_is_one_relation() -> None:
    record = one("metacheck_httptest2_works_10.1177_0956797614520714.json")
    assert record.relations == [
        Relation(
            "retracted-by", doi="10.1177/09567976231187595", date="2023-07-06", note="Retraction"
        )
    ]  # the publisher's own assertion wins: no `via`
    assert len(record.extra["updated_by"]) == 2


@pytest.mark.parametrize(
    "name",
    [
        "habanero_works_10.1371_journal.pone.0033693.json",
        "paperqa_works_10.1073_pnas.1414271111.json",
    ],
)
def test_publisher_corrections_in_either_key_order(name: str) -> None:
    record = one(name)
    assert [r.kind for r in record.relations] == ["erratum-in"]
    assert record.relations[0].via is None and record.relations[0].date
    assert facts.has_erratum(record) and not facts.is_retracted(record)


def test_cursor_pages_say_where_to_go_next() -> None:
    first = crossref_page_info(read("habanero_works_query-widget_cursor-page1.json"))
    second = crossref_page_info(read("habanero_works_query-widget_cursor-page2.json"))
    assert first[0] and first[0] == second[0]  # Crossref hands back the same scroll cursor
    assert first[1:] == (454, 20) and second[1:] == (454, 20)
    assert crossref_page_info(
        read("uws_works_filter-updates_10.1016_s0140-6736(97)11096-0.json")
    ) == (None, 2, 2)


def test_versions_other_than_preprints_stay_raw() -> None:
    records = parse_crossref(read("habanero_works_query-widget_cursor-page2.json")).records
    versioned = next(r for r in records if r.doi == "10.59350/895qm-mnq80")
    assert versioned.relations == [] and "is-version-of" in versioned.extra["relation"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (read("habanero_works_10.1371_notarealdoi_404.txt"), "malformed Crossref JSON"),
        (b'{"status": "ok", "message-type": "work-list"}', "no 'message' object"),  # HAND-MADE
        (
            b'{"status":"ok","message-type":"member","message":{}}',
            "expected a Crossref work",
        ),  # HAND-MADE
    ],
    ids=["404-body", "no-message", "other-type"],
)
def test_bad_payloads_are_parse_errors(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_crossref(payload)


def test_digest_parse_uses_the_same_parser() -> None:
    payload = read("uws_works_10.1016_s0140-6736(97)11096-0.json")
    assert get_parser("crossref")(payload).records == parse_crossref(payload).records
