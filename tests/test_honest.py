"""Issue 11, "Honest in every detail": the evidence map, registrations, honest counts,
failure-aware issues, plain language and the glossary.

Genuine inputs: the ClinicalTrials.gov registration NCT00065585 (its registry cites the
results paper PMID 19433697; tests/fixtures/corpus/acupuncture/clinicaltrials-registry-
cites-results/PROVENANCE.md) and 40 PubMed-derived acupuncture records whose key findings
the classifier extracts verbatim (…/pubmed-derived-json/PROVENANCE.md). Everything else
is HAND-MADE in this file and named so (slugs `handmade-…`, titles "HAND-MADE TEST …"):
no hand-made study or sentence is a real one.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from sqlalchemy.engine import Engine

from digest.classify.direction import direction_of
from digest.classify.extract import key_finding
from digest.ingest.run import import_files
from digest.issue.assemble import assemble_week, site_view
from digest.issue.context import registration_view as registry_facts
from digest.model import Study
from digest.render import build_site, render_digest_email_html, render_digest_text
from digest.render.evidence_map import evidence_map
from digest.sources.clinicaltrials.parse import parse_ctgov_legacy_xml
from digest.views import (
    ConditionSection,
    ConditionView,
    DigestView,
    SiteView,
    SourceHealth,
    StudyView,
    Tag,
    design_of,
)
from tests.conftest import CORPUS, make_settings
from tests.test_render import SETTINGS, UNSUBSCRIBE, corpus_digests, corpus_site

CITES_RESULTS = CORPUS / "acupuncture" / "clinicaltrials-registry-cites-results"
NCT = "NCT00065585"
DERIVED = CORPUS / "acupuncture" / "pubmed-derived-json" / "affective-pain-acupuncture-records.json"
W46 = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- direction


def corpus_findings() -> dict[str, str]:
    """PMID -> the classifier's verbatim key finding of each genuine record's abstract."""
    records = json.loads(DERIVED.read_text(encoding="utf-8"))["records"]
    found = {r["pmid"]: key_finding(r.get("abstract")) for r in records}
    return {pmid: text for pmid, text in found.items() if text}


@pytest.mark.parametrize(
    ("pmid", "direction"),
    [
        ("22315807", "benefit"),  # RCT: "Acupuncture effectively relieves the pain ..."
        ("26346626", "benefit"),  # "might provide immediate effect in reducing the pain"
        ("42630596", "unclear"),  # "Current evidence is limited by heterogeneity ..."
        ("42147848", "unclear"),  # systematic review: "the evidence is constrained by ..."
        ("37041781", "unclear"),  # "can reduce pain intensity ... no therapeutic effect ... HRV"
        ("35611301", "not-stated"),  # a trial plan: "This trial will analyze ..."
        ("33551731", "not-stated"),  # a bibliometric review states no direction
        ("42680080", "not-stated"),  # "may reduce unintended therapeutic effects": not pain
    ],
)
def test_direction_of_genuine_key_findings(pmid: str, direction: str) -> None:
    assert direction_of(corpus_findings()[pmid]).value == direction


def test_direction_names_the_words_it_read_from_every_genuine_finding() -> None:
    findings = corpus_findings()
    assert len(findings) >= 35
    for text in findings.values():
        result = direction_of(text)
        if result.value == "not-stated":
            assert result.phrase is None
        else:  # transparent: each phrase is the finding's own words
            for part in (result.phrase or "").split(" … "):
                assert part.lower() in " ".join(text.split()).lower()
    counts = {
        d: sum(direction_of(t).value == d for t in findings.values())
        for d in ("benefit", "no-difference", "unclear", "not-stated")
    }
    assert counts["not-stated"] > counts["benefit"]  # most say no direction; none is guessed


HANDMADE_SENTENCES = {  # HAND-MADE sentences, written for this test; not from any study
    "There was no significant difference in pain between the groups.": "no-difference",
    "Acupuncture was not superior to sham acupuncture for chronic neck pain.": "no-difference",
    "Electroacupuncture did not reduce pain compared with usual care.": "no-difference",
    "Acupuncture significantly reduced pain intensity at 8 weeks.": "benefit",
    "Acupuncture was more effective than waiting list.": "benefit",
    "There is insufficient evidence to recommend acupuncture for migraine.": "unclear",
    "The evidence remains inconclusive.": "unclear",
    "Future trials should use larger samples.": "not-stated",
    "": "not-stated",
}


@pytest.mark.parametrize(("sentence", "direction"), sorted(HANDMADE_SENTENCES.items()))
def test_direction_of_handmade_sentences(sentence: str, direction: str) -> None:
    assert direction_of(sentence).value == direction
    assert direction_of(None).value == "not-stated"


# --------------------------------------------------------------------------- evidence map

HANDMADE_CONDITION = Tag("handmade-condition", "HAND-MADE test condition")


def handmade_study(slug: str, design: str, **fields: object) -> StudyView:
    """HAND-MADE: a made-up study for map tests; its title says so."""
    return StudyView(
        slug=f"handmade-{slug}",
        title=f"HAND-MADE TEST {slug}: not a real study",
        design=design,
        design_label=design_of(design).label,
        conditions=(HANDMADE_CONDITION,),
        **fields,  # type: ignore[arg-type]
    )


def handmade_map_site() -> SiteView:
    studies = (
        handmade_study(
            "rct-retracted",
            "rct",
            retracted=True,
            sample_size=900,
            comparator="sham",
            key_finding="HAND-MADE: acupuncture significantly reduced pain.",
        ),
        handmade_study(
            "rct-sham",
            "rct",
            sample_size=120,
            comparator="sham",
            key_finding="HAND-MADE: there was no significant difference in pain.",
        ),
        handmade_study(
            "rct-usual",
            "rct",
            sample_size=60,
            comparator="usual-care",
            key_finding="HAND-MADE: acupuncture significantly reduced pain.",
        ),
        handmade_study(
            "review", "systematic-review", key_finding="HAND-MADE: the evidence is insufficient."
        ),
        handmade_study("case", "case-report"),
    )
    return SiteView(
        settings=SETTINGS,
        built_at=datetime(2026, 11, 23, tzinfo=UTC),
        studies=studies,
        conditions=(
            ConditionView(HANDMADE_CONDITION.slug, HANDMADE_CONDITION.label, studies),
            ConditionView("handmade-empty", "HAND-MADE empty condition", ()),
        ),
    )


def test_map_counts_leave_retracted_studies_out_and_keep_volume_apart_from_confidence() -> None:
    site = handmade_map_site()
    row = evidence_map(site.conditions, site.designs).rows[0]
    assert (row.rcts, row.reviews, row.total) == (2, 1, 4)  # the retracted RCT is not counted
    assert row.largest_rct == 120  # not the retracted trial's 900
    assert row.sham_share == "1 of 2 (50%)"
    assert row.by_comparator == {"sham": 1, "usual-care": 1, "waitlist": 0, "active": 0, "": 0}
    assert row.directions == {"benefit": 1, "no-difference": 1, "unclear": 1, "not-stated": 0}
    assert [s.slug for s in row.retracted] == ["handmade-rct-retracted"]


def test_map_page_shows_retracted_apart_gaps_and_a_plain_legend() -> None:
    files = build_site(handmade_map_site())
    soup = BeautifulSoup(files["evidence-map/index.html"].decode(), "html.parser")
    text = " ".join(soup.get_text(" ").split())
    assert "It does not say whether acupuncture works" in text
    assert "There is no colour for good or bad news" in text
    confidence = soup.select_one("table.map-confidence")
    cells = {
        tr.th.get_text(strip=True): [td.get_text(" ", strip=True) for td in tr.find_all("td")]
        for tr in confidence.select("tbody tr")
    }
    assert cells["HAND-MADE test condition"] == [
        "1",
        "2",
        "120",
        "1 of 2 (50%)",
        "benefit: 1 no difference: 1 unclear: 1",
        "none",
        "4",
        "1",
    ]
    assert cells["HAND-MADE empty condition"][:5] == ["none"] * 5  # gaps, shown as gaps
    retracted = soup.select("#retracted li a")
    assert [a["href"] for a in retracted] == ["../studies/handmade-rct-retracted/"]
    assert retracted[0].find("del") is not None
    for table in soup.select("table.evidence-map"):  # no colour by design tier in any cell
        assert not table.select("[class*=tier-]")
    assert "handmade-rct-retracted" in files["studies/handmade-rct-retracted/index.html"].decode()


# --------------------------------------------------------------------------- registrations


def nct00065585() -> dict[str, object]:
    record = parse_ctgov_legacy_xml((CITES_RESULTS / f"{NCT}.xml").read_bytes()).records[0]
    return record.to_json_dict()


def test_registration_facts_come_from_the_registry_record() -> None:
    reg = registry_facts(nct00065585(), {})
    assert (reg.registry_id, reg.status, reg.status_raw) == (NCT, "COMPLETED", "Completed")
    assert (reg.start_date, reg.completion_date) == ("2004-04", "2007-06")
    assert reg.registered == "2003-07-31" and reg.enrollment == 640
    assert [a.kind for a in reg.arms] == [
        "NO_INTERVENTION",
        "PLACEBO_COMPARATOR",
        "SHAM_COMPARATOR",
        "EXPERIMENTAL",
    ]
    assert [(p.pmid, p.slug) for p in reg.results] == [("19433697", None)]
    # when the archive holds the results paper, the registration links its page; the
    # title is the one the registry itself cites for PMID 19433697
    paper = Study(
        slug="pmid-19433697",
        title="A randomized trial comparing acupuncture, simulated acupuncture, and usual care "
        "for chronic low back pain.",
        pmid="19433697",
    )
    held = registry_facts(nct00065585(), {"19433697": paper})
    assert [(p.pmid, p.slug) for p in held.results] == [("19433697", "pmid-19433697")]


def test_nct00065585_reads_as_a_completed_registration_with_its_results_linked(
    db_engine: Engine,
) -> None:
    settings = make_settings(db_engine.url.render_as_string(hide_password=False), "  []")
    import_files(settings, db_engine, [CITES_RESULTS / f"{NCT}.xml"], now=W46, announce=True)
    digest = assemble_week(settings, db_engine, "2026-W46", now=W46)
    (study,) = digest.studies()
    assert study.design == "trial-registration" and study.registration is not None
    assert study.registration.status == "COMPLETED"
    assert digest.found_earlier_count == 1 and digest.published_this_week_count == 0
    files = build_site(site_view(settings, db_engine))
    page = BeautifulSoup(files[f"studies/{study.slug}/index.html"].decode(), "html.parser")
    text = " ".join(page.get_text(" ").split())
    assert "Trial status Completed" in text
    assert "Registered 31 Jul 2003" in text and "Published" not in text
    assert "Enrolment 640 people" in text and "Started Apr 2004" in text
    assert "no results" not in text.lower()  # the registry cites its results paper
    links = [a["href"] for a in page.select(".results-published a")]
    assert "https://pubmed.ncbi.nlm.nih.gov/19433697/" in links
    arms = [li.get_text(" ", strip=True) for li in page.select("ul.arms li")]
    assert arms[0] == "Usual care (no treatment)"
    assert "Acupuncture - Standardized Points (sham (simulated) treatment)" in arms
    item = BeautifulSoup(files[f"digests/{digest.week}/index.html"].decode(), "html.parser")
    card = " ".join(item.select_one("article.item").get_text(" ").split())
    assert "Trial status : Completed" in card or "Trial status: Completed" in card
    assert card.lower().count("no results") == 0 and "Protocol only" not in card
    lead = item.select_one("article.item .lead").get_text()
    assert lead.startswith(
        "A trial registration (the plan of a trial, posted on a registry), "
        "with 640 people, comparing"
    )
    assert "sham (simulated) treatment" in lead and "no treatment" in lead


def test_a_registration_without_cited_results_says_so_once_with_a_search_link() -> None:
    digest = corpus_digests()[0]
    html = render_digest_email_html(digest, SETTINGS, UNSUBSCRIBE)
    soup = BeautifulSoup(html, "html.parser")
    for card in soup.select("article.item.tier-planned"):
        text = " ".join(card.get_text(" ").split())
        assert text.lower().count("no results") == 1, text
        assert "Published" not in text and "Registered" in text
        search = [a["href"] for a in card.find_all("a") if "?term=" in a["href"]]
        assert len(search) == 1 and re.match(
            r"https://pubmed\.ncbi\.nlm\.nih\.gov/\?term=NCT\d{8}$", search[0]
        )


# --------------------------------------------------------------------------- honest counts


def test_headline_and_subject_say_newly_found_not_new_research() -> None:
    digest = corpus_digests()[0]  # genuine studies published 2012-2021, found in 2026-W47
    assert digest.published_this_week_count == 0
    assert digest.found_earlier_count == len(digest.studies()) == 7
    assert digest.headline == "7 studies newly found (were published earlier)"
    assert digest.week_label == "Week of 16 Nov 2026"
    assert digest.subject == (
        f"{SETTINGS.title}, week of 16 Nov 2026: 7 studies newly found (were published earlier)"
    )
    # HAND-MADE: one study dated inside the week, one with only a year of the week
    this_week = StudyView(
        slug="handmade-this-week",
        title="HAND-MADE TEST",
        design="rct",
        design_label="Randomized controlled trial",
        published="2026-11-18",
    )
    vague = replace(this_week, slug="handmade-vague", published="2026")
    mixed = replace(
        digest,
        sections=(*digest.sections, ConditionSection("handmade", "HAND-MADE", (this_week, vague))),
    )
    assert mixed.headline == (
        "1 study published this week · 7 studies newly found (were published earlier) · "
        "1 study newly found (date not exact)"
    )
    for rendered in (
        render_digest_text(mixed, SETTINGS, UNSUBSCRIBE),
        render_digest_email_html(mixed, SETTINGS, UNSUBSCRIBE),
    ):
        assert "1 study published this week" in rendered
        assert "Week of 16 Nov 2026" in rendered
        assert "new studies" not in rendered


# --------------------------------------------------------------------------- failures


def failed_week(health: tuple[SourceHealth, ...]) -> DigestView:
    return replace(corpus_digests()[0], sections=(), corrections=(), health=health)


ALL_FAILED = (
    SourceHealth("pubmed", 0, 0, True, "HTTP 503"),
    SourceHealth("europepmc", 0, 0, True, "timeout"),
)


@pytest.mark.parametrize("health", [ALL_FAILED, ()], ids=["all-failed", "no-fetch"])
def test_a_week_whose_sources_all_failed_says_so_at_the_top_and_holds_the_send(
    health: tuple[SourceHealth, ...],
) -> None:
    digest = failed_week(health)
    assert digest.all_sources_failed and digest.hold_send
    text = render_digest_text(digest, SETTINGS, UNSUBSCRIBE)
    first = text.split("=" * 72, 1)[1].strip().split("\n\n")[0]
    assert first.startswith("WARNING: ") and "not a quiet week" in " ".join(first.split())
    html = render_digest_email_html(digest, SETTINGS, UNSUBSCRIBE)
    soup = BeautifulSoup(html, "html.parser")
    heading = soup.find("h1")
    assert heading.find_next("div", class_="banner-failure") is heading.find_next("div")
    for rendered in (text, soup.get_text(" ")):
        assert "were found this week" not in rendered  # never "nothing was found"
        assert "fetched" not in rendered and "HTTP 503" not in rendered  # no pipeline counts
    site = build_site(replace(corpus_site(), digests=(digest,)))
    page = BeautifulSoup(site[f"digests/{digest.week}/index.html"].decode(), "html.parser")
    first_block = page.select_one("main h1").find_next_sibling()
    assert "banner-failure" in first_block["class"]
    if health:  # staff see each source on the site, without the error text
        rows = [tr.th.get_text() for tr in page.select("table.health-table tbody tr")]
        assert rows == ["pubmed", "europepmc"]
        assert "HTTP 503" not in page.get_text()


def test_a_partly_failed_week_warns_but_sends() -> None:
    digest = failed_week((SourceHealth("pubmed", 5, 0, False), *ALL_FAILED[:1]))
    assert not digest.hold_send and digest.failed_sources == ("pubmed",)
    text = render_digest_text(digest, SETTINGS, UNSUBSCRIBE)
    assert "1 of 2 research sources could not be searched" in " ".join(text.split())
    assert "in the sources that could be searched" in " ".join(text.split())


def test_the_subscriber_email_has_one_plain_line_on_how_it_was_made() -> None:
    html = render_digest_email_html(corpus_digests()[0], SETTINGS, UNSUBSCRIBE)
    section = BeautifulSoup(html, "html.parser").select_one("section.health")
    assert len(section.find_all("p")) == 1 and section.find("table") is None
    assert "no one rated the studies" in section.get_text()


# --------------------------------------------------------------------------- plain words


def test_every_glossary_link_resolves_to_an_entry() -> None:
    files = build_site(corpus_site())
    glossary = BeautifulSoup(files["glossary/index.html"].decode(), "html.parser")
    anchors = {dt["id"] for dt in glossary.select("dl.glossary dt")}
    for term in (
        "n",
        "small-sample",
        "no-sham-control",
        "protocol-only",
        "preprint",
        "retracted",
        "tier-synthesis",
        "tier-trial",
        "trial-registration",
        "rct",
    ):
        assert term in anchors, term
    seen = 0
    for path, body in files.items():
        if not path.endswith(".html"):
            continue
        for a in BeautifulSoup(body.decode(), "html.parser").find_all("a", href=True):
            if "glossary/#" in a["href"]:
                assert a["href"].split("#", 1)[1] in anchors, (path, a["href"])
                seen += 1
    assert seen > 20
    email = render_digest_email_html(corpus_digests()[0], SETTINGS, UNSUBSCRIBE)
    hrefs = [a["href"] for a in BeautifulSoup(email, "html.parser").find_all("a", href=True)]
    assert any(h.startswith("https://digest.example.org/glossary/#") for h in hrefs)


def test_sources_are_named_in_reader_words() -> None:
    files = build_site(corpus_site())
    page = BeautifulSoup(files["studies/nct-nct02510066/index.html"].decode(), "html.parser")
    assert [li.get_text(" ", strip=True) for li in page.select("ul.sources li")] == [
        "ClinicalTrials.gov (trial registry), listed as NCT02510066"
    ]


def test_first_seen_is_a_date_of_this_digest_not_of_the_study() -> None:
    digest = corpus_digests()[0]
    assert all(s.first_seen and s.first_seen >= date(2026, 11, 9) for s in digest.studies())
    assert Path(__file__).name == "test_honest.py"


# --------------------------------------------------------------------------- shared site


def nct00065585_view() -> StudyView:
    """The genuine registration NCT00065585 as a StudyView, every value from its XML."""
    data = nct00065585()
    reg = registry_facts(data, {})
    return StudyView(
        slug="nct-nct00065585",
        title=str(data["title"]),
        design="trial-registration",
        design_label=design_of("trial-registration").label,
        published=str(data["published"]),
        conditions=(Tag("low-back-pain", "Low back pain"),),
        interventions=(Tag("manual-acupuncture", "Acupuncture"),),
        comparator="sham",
        sample_size=reg.enrollment,
        nct_ids=(NCT,),
        registration=reg,
        first_seen=date(2026, 11, 18),
    )


def honest_site() -> SiteView:
    """The genuine corpus site plus: NCT00065585, the HAND-MADE map studies (one of them a
    retracted RCT) and a week whose every source failed (the newest digest)."""
    base = corpus_site()
    handmade = handmade_map_site()
    registration = nct00065585_view()
    failed = replace(
        base.digests[0],
        week="2026-W48",
        period_start=date(2026, 11, 23),
        period_end=date(2026, 11, 29),
        sections=(),
        corrections=(),
        health=ALL_FAILED,
    )
    sections = base.digests[0].sections
    if not any(c.slug == "low-back-pain" for c in sections):
        sections = (ConditionSection("low-back-pain", "Low back pain", ()), *sections)
    with_nct = replace(
        base.digests[0],
        sections=tuple(
            replace(c, studies=(registration, *c.studies)) if c.slug == "low-back-pain" else c
            for c in sections
        ),
    )
    low_back = next(c for c in base.conditions if c.slug == "low-back-pain")
    conditions = tuple(
        replace(c, studies=(registration, *c.studies)) if c is low_back else c
        for c in base.conditions
    )
    return replace(
        base,
        digests=(failed, with_nct, *base.digests[1:]),
        studies=(*base.studies, registration, *handmade.studies),
        conditions=(*conditions, *handmade.conditions),
    )


def test_the_shared_honest_site_builds() -> None:
    files = build_site(honest_site())
    assert "studies/nct-nct00065585/index.html" in files
    assert "banner-failure" in files["index.html"].decode()


def test_a_title_that_already_says_retracted_is_not_prefixed_twice() -> None:
    # HAND-MADE retracted study whose title carries the journal's own "RETRACTED:" mark
    marked = handmade_study("marked", "rct", retracted=True)
    marked = replace(marked, title="RETRACTED: HAND-MADE TEST marked: not a real study")
    site = replace(handmade_map_site(), studies=(marked,))
    page = build_site(site)["studies/handmade-marked/index.html"].decode()
    assert "[Retracted] RETRACTED" not in page and "<title>RETRACTED: HAND-MADE" in page
    text = render_digest_text(
        replace(corpus_digests()[0], sections=(ConditionSection("h", "HAND-MADE", (marked,)),)),
        SETTINGS,
        UNSUBSCRIBE,
    )
    assert "[RETRACTED] RETRACTED" not in text and "RETRACTED: HAND-MADE" in text
