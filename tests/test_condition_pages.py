"""Living condition pages (issue 14): what research the archive holds, never a list of
what acupuncture treats; the "What this lets you say" panel from the claims policy; the
"last searched" line. The studies are hand-made views (named so): no finding is real."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from bs4 import BeautifulSoup

from digest.render.condition_summary import summarise
from digest.render.site import build_site
from digest.views import ClaimsCitation, ClaimsPanel, ConditionView, StudyView, Tag
from tests.test_render import corpus_site

LBP = Tag("low-back-pain", "Low back pain")


def handmade(slug: str, design: str, **extra: object) -> StudyView:
    return StudyView(slug=slug, title=f"Hand-made {slug}", design=design, design_label=design,
                     conditions=(LBP,), **extra)  # type: ignore[arg-type]  # fmt: skip


STUDIES = (
    handmade("sr-old", "systematic-review", published="2019", key_finding="Old conclusion."),
    handmade("sr-new", "systematic-review", published="2024", key_finding="New conclusion."),
    handmade("rct-sham-big", "rct", comparator="sham", sample_size=600, key_finding="Big."),
    handmade("rct-sham-small", "rct", comparator="sham", sample_size=40),
    handmade("rct-retracted", "rct", comparator="usual-care", sample_size=900, retracted=True),
)
PANEL = ClaimsPanel(
    policy_title="UK: ASA/CAP", status="accepted", accepted=True,
    scope="short-term relief of chronic low back pain", say=("May give short-term relief.",),
    avoid=("cures back pain",), note="", disclaimer="This is guidance, not legal advice.",
    citations=(ClaimsCitation("ASA advice", "https://asa.org.uk/x", "not given"),),
)  # fmt: skip


def test_summary_counts_facts_and_names_gaps() -> None:
    summary = summarise(ConditionView("low-back-pain", "Low back pain", STUDIES))
    assert (summary.reviews, summary.rcts) == (2, 2)  # the retracted RCT is not counted
    assert dict(summary.rcts_by_comparator)["sham (simulated) acupuncture or placebo"] == 2
    assert summary.newest_review is not None and summary.newest_review.slug == "sr-new"
    assert summary.largest_sham_trial is not None
    assert summary.largest_sham_trial.slug == "rct-sham-big"
    assert [s.slug for s in summary.retracted] == ["rct-retracted"]
    assert "no randomised trial against usual care" in summary.gaps


def test_condition_page_shows_summary_panel_and_last_searched() -> None:
    site = corpus_site()
    condition = ConditionView(
        "low-back-pain", "Low back pain", STUDIES, last_searched=date(2026, 11, 30),
        new_this_week=0, panel=PANEL,
    )  # fmt: skip
    files = build_site(replace(site, conditions=(condition,), studies=(*site.studies, *STUDIES)))
    soup = BeautifulSoup(files["conditions/low-back-pain/index.html"], "html.parser")
    assert soup.h1.get_text() == "Research on acupuncture and Low back pain"
    assert "does not say that acupuncture treats" in soup.select_one(".page-note").get_text()
    assert "Last searched 30 Nov 2026 — no new evidence this week" in soup.get_text(" ")
    summary = soup.select_one(".evidence-summary").get_text(" ")
    assert "“New conclusion.”" in summary and "600 people" in summary
    assert soup.select_one(".evidence-summary s") is not None  # the retraction, struck
    panel = soup.select_one(".claims-panel").get_text(" ")
    assert "efficacy claims are accepted" in panel and "cures back pain" in panel
    assert "This is guidance, not legal advice." in panel
