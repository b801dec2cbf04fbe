"""NCCIH page snapshots, section diffs and the news feed.

No genuine NCCIH HTML or RSS was available: the pages and feed here are HAND-MADE
(tests/fixtures/HANDMADE.md). The low-back pages quote the genuine plain-text excerpts in
tests/fixtures/corpus/nccih/, which these tests check word for word.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.errors import ParseError
from digest.model import RecordData
from digest.sources.nccih.changes import diff_sections, first_change
from digest.sources.nccih.ids import canonical_page_url
from digest.sources.nccih.parse import extract_page, parse_nccih_feed

FIXTURES = Path(__file__).resolve().parent / "fixtures"
HANDMADE = FIXTURES / "handmade"
EXCERPT = FIXTURES / "corpus" / "nccih" / "nccih_lowback_pain_wyntk_navgovd_excerpt.txt"
SELECTORS = ["main", "article", "#main-content", "[role=main]"]
LOWBACK_URL = (
    "https://www.nccih.nih.gov/health/"
    "low-back-pain-and-complementary-health-approaches-what-you-need-to-know"
)
ACUPUNCTURE_URL = "https://www.nccih.nih.gov/health/acupuncture-effectiveness-and-safety"
BOILERPLATE = [
    "Skip to main content",
    "An official website of the United States government",
    "Health Info",
    "News & Events",
    "Share on",
    "Breadcrumb",
    "Related Topics",
    "Rockville Pike",
    "About NCCIH",
    "console.log",
    "dataLayer",
    "usa-banner",
    "Last Updated",
]


def _page(name: str, url: str = LOWBACK_URL, design: str = "guideline") -> RecordData:
    return extract_page((HANDMADE / name).read_bytes(), url, SELECTORS, design)


def test_lowback_snapshot() -> None:
    record = _page("handmade_nccih_lowback_v1.html", LOWBACK_URL + "?utm_source=x#bottom-line")
    assert record.source == "nccih"
    assert record.source_id == LOWBACK_URL
    assert record.url == LOWBACK_URL
    assert record.title == (
        "Low-Back Pain and Complementary Health Approaches: What You Need To Know"
    )
    assert record.publication_types == ["Web Page"]
    assert record.published == "2021-03"
    assert record.extra["page_updated"] == "March 2021"
    assert record.extra["design"] == "guideline"
    headings = [(s["level"], s["heading"]) for s in record.extra["sections"]]
    assert headings == [
        (1, "Low-Back Pain and Complementary Health Approaches: What You Need To Know"),
        (2, "What’s the Bottom Line?"),
        (3, "What do we know about the effectiveness of complementary health approaches for "
            "low-back pain?"),
        (3, "What do we know about the safety of complementary health approaches for "
            "low-back pain?"),
        (2, "Some Basics About Low-Back Pain"),
        (2, "What the Science Says About the Effectiveness of Complementary Health Approaches "
            "for Low-Back Pain"),
        (2, "More to Consider"),
        (2, "For More Information"),
    ]  # fmt: skip


def test_snapshot_holds_the_genuine_excerpt_text_and_no_boilerplate() -> None:
    record = _page("handmade_nccih_lowback_v1.html")
    snapshot = record.extra["snapshot"]
    excerpt_lines = [line.strip() for line in EXCERPT.read_text().splitlines() if line.strip()]
    quoted = [line for line in excerpt_lines[1:-1]]  # the last excerpt line is cut mid-sentence
    assert len(quoted) == 10
    for line in quoted:
        assert line.removeprefix("- ") in snapshot
    for noise in BOILERPLATE:
        assert noise not in snapshot, noise
    assert "<" not in snapshot


def test_bottom_line_is_the_abstract() -> None:
    record = _page("handmade_nccih_lowback_v1.html")
    assert record.abstract is not None
    assert record.abstract.startswith(
        "What do we know about the effectiveness of complementary health approaches for "
        "low-back pain?\n\n- There’s low- or moderate-quality evidence"
    )
    assert record.abstract.endswith("may have side effects or interact with medications.")
    assert "Some Basics" not in record.abstract


def test_acupuncture_page_main_by_id_and_first_paragraph_summary() -> None:
    record = _page("handmade_nccih_acupuncture.html", ACUPUNCTURE_URL, design="review")
    assert record.title == "Acupuncture: Effectiveness and Safety"
    assert record.abstract == (
        "[Hand-made placeholder introduction, first paragraph.] It has an inline link, then "
        "more words.\n\n[Hand-made placeholder introduction, second paragraph.]"
    )
    assert record.extra["page_updated"] == "January 15, 2022"
    assert record.published == "2022-01-15"
    snapshot = record.extra["snapshot"]
    for noise in ("injected", "editor's comment", "Subscribe", "Skip to main", "Home /", "Share"):
        assert noise not in snapshot, noise
    assert "### Neck Pain" in snapshot
    assert "- [Hand-made placeholder list item two.]" in snapshot


def test_diff_between_versions() -> None:
    old = _page("handmade_nccih_lowback_v1.html")
    new = _page("handmade_nccih_lowback_v2.html")
    assert old.content_hash() != new.content_hash()
    diff = diff_sections(old.extra["sections"], new.extra["sections"], new.title)
    science = (
        "What the Science Says About the Effectiveness of Complementary Health Approaches for "
        "Low-Back Pain"
    )
    assert diff.added == ["NCCIH-Funded Research"]
    assert diff.removed == []
    assert diff.changed == [
        (
            science,
            "[Hand-made placeholder for this section, version 2.] The genuine text of this "
            "section was not available to the fixture author.",
        )
    ]
    assert not diff.is_empty
    assert diff.summary() == (
        "NCCIH updated its guidance on Low-Back Pain and Complementary Health Approaches: "
        f"1 section changed ({science}), 1 added (NCCIH-Funded Research)"
    )


def test_page_title_defaults_to_the_h1() -> None:
    old = _page("handmade_nccih_lowback_v1.html")
    new = _page("handmade_nccih_lowback_v2.html")
    diff = diff_sections(old.extra["sections"], new.extra["sections"])
    assert diff.summary().startswith(
        "NCCIH updated its guidance on Low-Back Pain and Complementary Health Approaches: "
    )


def test_same_page_twice_is_no_change() -> None:
    once = _page("handmade_nccih_lowback_v1.html")
    twice = _page("handmade_nccih_lowback_v1.html")
    assert once.content_hash() == twice.content_hash()
    diff = diff_sections(once.extra["sections"], twice.extra["sections"], once.title)
    assert diff.is_empty
    assert diff.summary().startswith("No change to NCCIH guidance on Low-Back Pain")


def test_whitespace_only_edits_are_not_changes() -> None:
    old = [{"heading": "A", "text": "One sentence. Two sentence."}]
    new = [{"heading": "A", "text": "One   sentence.\n\nTwo sentence."}]
    assert diff_sections(old, new).is_empty


def test_removed_and_duplicate_headings() -> None:
    old = [
        {"heading": "Safety", "text": "x."},
        {"heading": "Safety", "text": "y."},
        {"heading": "Gone", "text": "z."},
    ]
    new = [{"heading": "Safety", "text": "x."}, {"heading": "Safety", "text": "y changed."}]
    diff = diff_sections(old, new, "Acupuncture: Effectiveness and Safety")
    assert diff.removed == ["Gone"]
    assert diff.changed == [("Safety (2)", "y changed.")]
    assert diff.summary() == (
        "NCCIH updated its guidance on Acupuncture: 1 section changed (Safety (2)), "
        "1 removed (Gone)"
    )


def test_first_change_reads_like_a_sentence() -> None:
    old = "Acupuncture may help. It is generally safe. More research is needed."
    assert first_change(old, old.replace("generally safe", "safe when done well")) == (
        "It is safe when done well."
    )
    assert first_change(old, "Acupuncture may help. More research is needed.") == (
        "removed: It is generally safe."
    )
    long_sentence = "Word " * 80 + "end."
    assert len(first_change("", long_sentence)) <= 160


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b'{"not": "html"}', id="json"),
        pytest.param((HANDMADE / "handmade_error_page.html").read_bytes(), id="error-page"),
        pytest.param(b"<html><body><main>   </main></body></html>", id="empty-main"),
        pytest.param(b"<html><body><main><nav>only nav</nav></main></body></html>", id="nav-only"),
    ],
)
def test_unusable_pages_raise(payload: bytes) -> None:
    with pytest.raises(ParseError):
        extract_page(payload, LOWBACK_URL, SELECTORS)


def test_selectors_come_from_config() -> None:
    payload = (HANDMADE / "handmade_nccih_acupuncture.html").read_bytes()
    with pytest.raises(ParseError, match="selectors"):
        extract_page(payload, ACUPUNCTURE_URL, ["main", "#does-not-exist"])


def test_content_wrappers_with_furniture_like_names_are_kept() -> None:
    payload = (
        b"<html><body><main><div class='shared-body social-history'><p>Kept text.</p></div>"
        b"<div class='share-buttons'>Share</div><ol class='breadcrumbs'><li>Home</li></ol>"
        b"</main></body></html>"
    )
    record = extract_page(payload, LOWBACK_URL, SELECTORS)
    assert record.extra["snapshot"] == "Kept text."


def test_canonical_page_url() -> None:
    assert canonical_page_url("HTTPS://WWW.NCCIH.NIH.GOV/health/x?utm_source=a#b") == (
        "https://www.nccih.nih.gov/health/x"
    )


def test_news_feed() -> None:
    result = parse_nccih_feed((HANDMADE / "handmade_nccih_news_rss.xml").read_bytes())
    assert result.warnings == []
    lowback, acupuncture = result.records
    assert {lowback.source, acupuncture.source} == {"nccih-news"}
    assert lowback.source_id == LOWBACK_URL
    assert acupuncture.source_id == ACUPUNCTURE_URL  # relative link, tracking stripped
    assert acupuncture.url == ACUPUNCTURE_URL
    assert lowback.publication_types == ["News"]
    assert lowback.published == "2021-03-01"
    excerpt = EXCERPT.read_text().splitlines()
    assert lowback.abstract == excerpt[3].removeprefix("- ")


def test_kind_parser_reads_a_page_from_its_context_and_never_invents_an_address() -> None:
    from digest.sources import get_parser

    payload = (HANDMADE / "handmade_nccih_lowback_v1.html").read_bytes()
    url = "https://www.nccih.nih.gov/health/low-back-pain"
    context = {"url": url, "main_selectors": ["main"], "design": "guideline"}
    parsed = get_parser("nccih")(payload, context)
    assert parsed.records == [extract_page(payload, url, ["main"], "guideline")]
    with pytest.raises(ParseError, match="needs its context"):
        get_parser("nccih")(payload)


def test_kind_parser_tells_a_news_feed_without_context() -> None:
    from digest.sources import get_parser

    payload = (HANDMADE / "handmade_nccih_news_rss.xml").read_bytes()
    assert get_parser("nccih")(payload).records == parse_nccih_feed(payload).records
