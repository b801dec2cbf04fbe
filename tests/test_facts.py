"""One definition of each fact: identifiers, preprint, retraction, notices, relations.

The probe at the end is the seam test of issue 10: six records (hand-made for this test,
named so; no finding in them is real) go through the store, dedupe, classification and
the site, and for each one the study's flag, its badge and its page must say the same.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from digest import facts
from digest.errors import ParseError
from digest.ingest.run import import_files
from digest.issue.assemble import site_view
from digest.model import RecordData, Relation, Study
from digest.render.site import build_site
from digest.sources.europepmc.parse import parse_europepmc_json
from digest.sources.pubmed.parse import parse_efetch
from tests.conftest import CORPUS, make_settings

EPMC_LITE = CORPUS / "europepmc" / "pyeuropepmc_search_cancer_lite_1000.json"


def _pubmed(pmid: str) -> RecordData:
    path = next((CORPUS / "pubmed-efetch").glob("*.xml"))
    for candidate in sorted((CORPUS / "pubmed-efetch").glob("*.xml")):
        records = parse_efetch(candidate.read_bytes()).records
        found = [r for r in records if r.source_id == pmid]
        if found:
            return found[0]
    raise AssertionError(f"PMID {pmid} not in the corpus ({path.parent})")


# --------------------------------------------------------------------------- identifiers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10.1000/ABC.", "10.1000/abc"),
        ("not a doi", None),
        ("https://doi.org/10.1000/a%20b", "10.1000/ab"),
        ("doi: 10.1000/X", "10.1000/x"),
    ],
)
def test_one_doi_normaliser(raw: str, expected: str | None) -> None:
    assert facts.normalize_doi(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("nct 123", "NCT00000123"),
        ("NCT00065585", "NCT00065585"),
        ("isrctn12345678", "ISRCTN12345678"),
        ("ChiCTR2000012345", "ChiCTR2000012345"),
        ("ChiCTR-IOR-17013476", "ChiCTR-IOR-17013476"),
        ("ACTRN12612000123456", "ACTRN12612000123456"),
        ("PMC123", None),
    ],
)
def test_registry_ids_of_every_scheme(raw: str, expected: str | None) -> None:
    assert facts.normalize_registry_id(raw) == expected


def test_registry_ids_in_text_and_their_pages() -> None:
    text = "Registered at ClinicalTrials.gov (NCT01234567) and ISRCTN 12345678."
    assert facts.find_registry_ids(text) == ["NCT01234567", "ISRCTN12345678"]
    assert facts.registry_url("NCT00065585") == "https://clinicaltrials.gov/study/NCT00065585"
    assert facts.registry_url("ISRCTN12345678") == "https://www.isrctn.com/ISRCTN12345678"
    assert facts.registry_url("nonsense") is None


# --------------------------------------------------------------------------- retraction


@pytest.mark.parametrize(
    "title",
    [
        "[Retracted] Acupuncture for neck pain",
        "RETRACTED - Electroacupuncture for knee pain",
        "RETRACTED ARTICLE: Acupuncture for migraine",
        "Retracted: Acupuncture for back pain",
        "(Retracted) Acupuncture for back pain",
    ],
)
def test_every_retracted_title_form_is_one_fact(title: str) -> None:
    assert facts.has_retracted_title(title)
    assert facts.is_retracted(RecordData(source="rss", source_id="x", title=title))


@pytest.mark.parametrize(
    "title", ["Retraction: Acupuncture for neck pain", "Retracted publications in acupuncture"]
)
def test_titles_that_are_not_retracted_works(title: str) -> None:
    assert not facts.has_retracted_title(title)


def test_retracted_by_type_by_pubmed_link_and_by_europe_pmc_link() -> None:
    base = _pubmed("23878845")
    assert not facts.is_retracted(base)
    by_type = replace(base, publication_types=[*base.publication_types, "Retracted Publication"])
    by_relation = replace(base, relations=[Relation("retracted-by", pmid="1")])
    assert facts.is_retracted(by_type)
    assert facts.is_retracted(by_relation)


def test_parsers_emit_typed_relations_for_comments_and_corrections() -> None:
    relations = [
        r
        for path in sorted((CORPUS / "pubmed-efetch").glob("*.xml"))
        for rec in parse_efetch(path.read_bytes()).records
        for r in rec.relations
    ]
    kinds = {r.kind for r in relations}
    assert kinds <= set(facts.RELATION_KINDS)
    assert kinds & {"comment-in", "comment-on", "erratum-in", "erratum-for", "retracted-by"}
    assert all(r.pmid or r.doi or r.note for r in relations)


def test_relation_kinds_of_comment_correction_types() -> None:
    assert facts.relation_kind_for("RetractionIn") == "retracted-by"
    assert facts.relation_kind_for("Retraction in") == "retracted-by"
    assert facts.relation_kind_for("Erratum for") == "erratum-for"
    assert facts.relation_kind_for("ExpressionOfConcernIn") == "concern-in"
    assert facts.relation_kind_for("Cites") is None
    assert facts.relation_kind_for("PartialRetractionIn") is None  # not the whole work


def test_notice_kinds_share_one_vocabulary() -> None:
    notice = RecordData(source="pubmed", source_id="1", title="Expression of concern: X")
    assert facts.notice_kind(notice) == "expression-of-concern"
    assert set(facts.NOTICE_LINK_KINDS) == set(facts.NOTICE_KINDS)
    assert facts.notice_kind(notice, registration=True) is None


# --------------------------------------------------------------------------- preprint


def test_preprint_by_server_doi_type_or_europe_pmc_id() -> None:
    results = json.loads(EPMC_LITE.read_text(encoding="utf-8"))["resultList"]["result"]
    item = next(r for r in results if r["source"] == "PPR")
    epmc = RecordData(source="europepmc", source_id=f"PPR:{item['id']}", title=item["title"])
    assert facts.is_preprint(epmc)
    assert facts.is_preprint(
        RecordData(source="rss", source_id="a", doi="10.1101/2024.01.02.123456")
    )
    assert facts.is_preprint(
        RecordData(source="rss", source_id="b", publication_types=["Preprint"])
    )
    # a Cold Spring Harbor journal DOI is not a bioRxiv preprint
    assert not facts.is_preprint(RecordData(source="rss", source_id="c", doi="10.1101/gad.1234"))


def test_europe_pmc_preprint_records_name_their_journal_version() -> None:
    for path in sorted((CORPUS / "europepmc").glob("*.json")):
        try:
            parsed = parse_europepmc_json(path.read_bytes())
        except ParseError:  # other shapes (idlist) are tested elsewhere
            continue
        for record in parsed.records:
            assert {r.kind for r in record.relations} <= set(facts.RELATION_KINDS)


# --------------------------------------------------------------------------- the probe

PROBE = [  # hand-made probe records: titles exercise the rules, nothing here is a finding
    {"source_id": "probe-bracket", "title": "[Retracted] Acupuncture for chronic neck pain: a randomized controlled trial"},  # noqa: E501
    {"source_id": "probe-dash", "title": "RETRACTED - Electroacupuncture for knee osteoarthritis pain: a randomized trial"},  # noqa: E501
    {"source_id": "probe-article", "title": "RETRACTED ARTICLE: Acupuncture for migraine prophylaxis: a randomized controlled trial"},  # noqa: E501
    {"source_id": "probe-type", "title": "Acupuncture for chronic low back pain in older adults: a randomized controlled trial",  # noqa: E501
     "publication_types": ["Journal Article", "Retracted Publication"]},
    {"source_id": "probe-preprint", "title": "Acupuncture for chronic shoulder pain: a preprint of a randomized trial",  # noqa: E501
     "doi": "10.1101/2024.05.06.123456"},
    {"source_id": "probe-plain", "title": "Acupuncture versus sham acupuncture for chronic low back pain: a randomized controlled trial"},  # noqa: E501
]  # fmt: skip


def test_flag_badge_and_page_agree_for_every_probe_record(
    db_engine: Engine, database_url: str, tmp_path: Path
) -> None:
    engine = db_engine
    settings = make_settings(database_url, "  []")
    lines = [
        json.dumps({"source": "import", "abstract": "Chronic pain. Acupuncture.", **probe})
        for probe in PROBE
    ]
    library = tmp_path / "handmade_probe.jsonl"
    library.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_files(settings, engine, [library], announce=True)
    with Session(engine) as session:
        studies = {s.title: s for s in session.exec(select(Study))}
    files = build_site(site_view(settings, engine))
    expected = {
        "probe-bracket": (True, False),
        "probe-dash": (True, False),
        "probe-article": (True, False),
        "probe-type": (True, False),
        "probe-preprint": (False, True),
        "probe-plain": (False, False),
    }
    for probe in PROBE:
        study = studies[probe["title"]]
        retracted, preprint = expected[probe["source_id"]]
        assert study.retracted is retracted, probe["source_id"]
        assert study.is_preprint is preprint, probe["source_id"]
        assert ("retracted" in study.badges) is retracted, probe["source_id"]
        assert ("preprint" in study.badges) is preprint, probe["source_id"]
        page = files.get(f"studies/{study.slug}/index.html")
        assert page is not None, f"no page for in-scope probe {probe['source_id']}"
        soup = BeautifulSoup(page, "html.parser")
        assert (soup.select_one(".banner-retracted") is not None) is retracted
        assert (soup.select_one(".flag-preprint") is not None) is preprint
