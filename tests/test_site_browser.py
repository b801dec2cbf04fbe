"""The built site in headless Chromium, served over loopback HTTP: no console errors,
search works, every internal link resolves, readable at 360 px, dark mode, and the
hostile site never runs a script. Screenshots go to the test's tmp folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag

import pytest

from digest.app.screenshots import CHROMIUM_ARGS, pages_of, serve_directory
from digest.publish.mail.compose import compose_digest_message
from digest.publish.site_writer import write_site
from digest.render import build_site
from tests.test_email import MAIL, NOW
from tests.test_honest import honest_site
from tests.test_render import corpus_digests, corpus_site, hostile_site

CHROMIUM = os.environ.get("DIGEST_CHROMIUM", "/usr/bin/chromium")
# axe-core is not a Python package: point DIGEST_AXE_JS at axe.min.js (`npm i axe-core`)
AXE_JS = os.environ.get("DIGEST_AXE_JS", "")
SCREENSHOTS = (
    Path(os.environ.get("DIGEST_SCREENSHOTS", "")) if os.environ.get("DIGEST_SCREENSHOTS") else None
)
sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]
PAGES = {
    "home": "",
    "digest": "digests/2026-W47/",
    "study": "studies/pmid-29768149/",
    "registration": "studies/nct-nct02510066/",
    "condition": "conditions/format-test/",
    "evidence-map": "evidence-map/",
    "search": "search/?q=acupuncture",
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def _serve(tmp: Path, files: dict[str, bytes]) -> Iterator[tuple[str, Path]]:
    write_site(files, tmp)
    with serve_directory(tmp) as base:
        yield base, tmp


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    yield from _serve(tmp_path_factory.mktemp("site"), build_site(corpus_site()))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    yield from _serve(tmp_path_factory.mktemp("hostile"), build_site(hostile_site()))


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    yield from _serve(tmp_path_factory.mktemp("honest"), build_site(honest_site()))


def shot(page: Any, name: str) -> None:
    """Keep a screenshot when DIGEST_SCREENSHOTS names a folder (docs/screenshots)."""
    if SCREENSHOTS is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


class Watch:
    """Everything that went wrong on a page: console errors, exceptions, bad responses."""

    def __init__(self, page: Any) -> None:
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.problems.append(m.text))
        page.on("pageerror", lambda e: self.problems.append(f"exception: {e}"))
        page.on("requestfailed", self._failed)
        page.on(
            "response", lambda r: r.status >= 400 and self.problems.append(f"{r.status}: {r.url}")
        )

        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)

    def _failed(self, request: Any) -> None:
        # leaving a page aborts what it still loads (a favicon): not an error of the site
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"failed: {request.url} ({request.failure})")


def visit(page: Any, url: str, file: Path) -> None:
    """Open a page; for a redirect page, wait until its meta refresh has landed."""
    page.goto(url, wait_until="load")
    if b'http-equiv="refresh"' in file.read_bytes():
        page.wait_for_url(lambda current: current != url)
        page.wait_for_load_state("load")


def test_pages_load_without_errors(browser: Any, site: tuple[str, Path]) -> None:
    base, root = site
    page = browser.new_page()
    watch = Watch(page)
    paths = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html"))
    assert len(paths) >= 25
    for path in paths:
        visit(page, base + path, root / path)
    assert watch.problems == []
    page.close()


def test_search_finds_a_study_by_a_title_word(browser: Any, site: tuple[str, Path]) -> None:
    base, _ = site
    page = browser.new_page()
    watch = Watch(page)
    page.goto(base + "search/", wait_until="load")
    page.get_by_label("Words from the title").fill("battlefield")
    results = page.locator("#search-results a")
    results.first.wait_for()
    assert results.count() == 1
    assert results.first.inner_text().startswith("Battlefield Acupuncture for the Treatment")
    assert "1 study matches" in page.locator("#search-status").inner_text()
    results.first.click()
    page.wait_for_url("**/studies/nct-nct02399969/")
    assert page.locator("h1").inner_text().startswith("Battlefield Acupuncture")
    # a shared ?q= link runs the search on load; words must all match (prefixes allowed)
    page.goto(base + "search/?q=acupunct+fibro", wait_until="load")
    page.locator("#search-results a").first.wait_for()
    assert page.locator("#search-results a").all_inner_texts() == ["Acupuncture for Fibromyalgia"]
    page.goto(base + "search/?q=zzzz", wait_until="load")
    assert "No study matches" in page.locator("#search-status").inner_text()
    assert watch.problems == []
    page.close()


def test_crawl_every_internal_link(browser: Any, site: tuple[str, Path]) -> None:
    base, root = site
    page = browser.new_page()
    watch = Watch(page)
    queue, seen = [base], {base}
    files: list[str] = []
    while queue:
        url = queue.pop()
        response = page.goto(url, wait_until="load")
        assert response is not None and response.status == 200, url
        links = page.eval_on_selector_all("a[href], link[href]", "es => es.map(e => e.href)")
        for target in (urldefrag(href).url for href in links):
            if not target.startswith(base) or target in seen:
                continue
            seen.add(target)
            if target.endswith(("/", ".html")):
                queue.append(target)
            else:
                files.append(target)  # downloads and feeds: fetched, not displayed
    for url in files:
        response = page.request.get(url)
        assert response.status == 200, url
    html_pages = {p.relative_to(root).as_posix() for p in root.rglob("index.html")}
    redirects = {"studies/doi-10.1056-nejmoa1715274/index.html"}
    reached = {u[len(base) :] + "index.html" for u in seen if u.endswith("/")}
    assert html_pages - redirects <= reached
    assert any(u.endswith("citation.ris") for u in files) and base + "feed.xml" in files
    assert watch.problems == []
    page.close()


def test_old_slug_redirects_to_the_current_page(browser: Any, site: tuple[str, Path]) -> None:
    base, _ = site
    page = browser.new_page()
    page.goto(base + "studies/doi-10.1056-nejmoa1715274/")
    page.wait_for_url("**/studies/pmid-29768149/")
    assert "Mild Asthma" in page.locator("h1").inner_text()
    page.close()


@pytest.mark.parametrize("width", [360, 1280])
def test_readable_at_phone_and_desktop_widths(
    browser: Any, site: tuple[str, Path], tmp_path: Path, width: int
) -> None:
    base, _ = site
    page = browser.new_page(viewport={"width": width, "height": 800})
    for name, path in PAGES.items():
        page.goto(base + path, wait_until="load")
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, (name, overflow)
        size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert size >= 16
        page.screenshot(path=str(tmp_path / f"{name}-{width}.png"), full_page=True)
    message = compose_digest_message(
        corpus_digests()[0], MAIL, "reader1@clinic1.example.org", None, NOW
    )
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    page.close()
    page = browser.new_page(viewport={"width": width, "height": 800})  # without the site's CSP
    page.set_content(html_part.get_content(), wait_until="load")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.locator(".preheader").is_hidden()  # the inlined styles apply
    wrapper = page.evaluate("getComputedStyle(document.querySelector('.wrapper')).backgroundColor")
    assert wrapper == "rgb(255, 255, 255)"
    page.screenshot(path=str(tmp_path / f"email-{width}.png"), full_page=True)
    page.close()
    assert len(list(tmp_path.glob("*.png"))) == len(PAGES) + 1


@pytest.mark.parametrize(
    ("scheme", "background"), [("light", "rgb(255, 255, 255)"), ("dark", "rgb(18, 20, 23)")]
)
def test_colour_schemes(browser: Any, site: tuple[str, Path], scheme: str, background: str) -> None:
    base, _ = site
    page = browser.new_page(color_scheme=scheme)
    page.goto(base + PAGES["digest"], wait_until="load")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == background
    page.close()


def test_skip_link_is_the_first_stop_and_moves_focus_to_main(
    browser: Any, site: tuple[str, Path]
) -> None:
    base, _ = site
    page = browser.new_page()
    page.goto(base + PAGES["study"], wait_until="load")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator(".skip-link").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.close()


def test_hostile_site_runs_no_script(browser: Any, hostile: tuple[str, Path]) -> None:
    base, root = hostile
    page = browser.new_page()
    watch = Watch(page)
    for path in sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html")):
        visit(page, base + path, root / path)
        page.mouse.move(10, 10)
        page.mouse.move(200, 300)
    page.goto(base + "search/?q=hand-made", wait_until="load")
    page.locator("#search-results a").first.wait_for()
    assert page.locator("#search-results script, #search-results img").count() == 0
    assert watch.dialogs == []
    assert watch.problems == []
    page.close()


def test_screenshots_command(site: tuple[str, Path], tmp_path: Path) -> None:
    _, root = site
    message = compose_digest_message(
        corpus_digests()[0], MAIL, "reader1@clinic1.example.org", None, NOW
    )
    eml = tmp_path / "digest.eml"
    eml.write_bytes(message.as_bytes())
    out = tmp_path / "shots"
    # its own process: Playwright's sync API cannot nest inside this module's browser
    command = [
        sys.executable,
        "-m",
        "digest.app.screenshots",
        str(root),
        str(out),
        "--eml",
        str(eml),
        "--chromium",
        CHROMIUM,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in out.glob("*.png"))
    assert len(names) == 2 * (len(pages_of(root)) + 1)
    assert "digest-360.png" in names and "email-1280.png" in names and "study-360.png" in names
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in out.glob("*.png"))
    assert done.stdout.count(".png") == len(names)


@pytest.mark.parametrize(
    ("scheme", "background"), [("light", "rgb(255, 255, 255)"), ("dark", "rgb(18, 20, 23)")]
)
def test_email_follows_the_reader_colour_scheme(browser: Any, scheme: str, background: str) -> None:
    message = compose_digest_message(
        corpus_digests()[0], MAIL, "reader1@clinic1.example.org", None, NOW
    )
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    page = browser.new_page(color_scheme=scheme)
    page.set_content(html_part.get_content(), wait_until="load")
    style = "getComputedStyle(document.querySelector('.wrapper')).backgroundColor"
    assert page.evaluate(style) == background
    page.close()


# --------------------------------------------------------------------------- issue 11


@pytest.mark.parametrize("width", [360, 1280])
def test_map_leaves_the_retracted_rct_out_and_lists_it_apart_without_script(
    browser: Any, honest: tuple[str, Path], width: int
) -> None:
    base, _ = honest
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": width, "height": 900}
    )
    page = context.new_page()
    watch = Watch(page)
    page.goto(base + "evidence-map/", wait_until="load")
    row = page.locator("table.map-confidence tbody tr", has_text="HAND-MADE test condition")
    cells = row.locator("td").all_inner_texts()
    assert cells[1] == "2" and cells[2] == "120" and cells[-1] == "1"  # RCTs, largest n, retracted
    struck = page.locator("#retracted del")
    assert struck.count() == 1 and "rct-retracted" in struck.inner_text()
    assert (
        page.locator("#retracted del").evaluate("e => getComputedStyle(e).textDecorationLine")
        == "line-through"
    )
    assert page.get_by_text("It does not say whether acupuncture works").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"evidence-map-{width}")
    page.locator("#retracted a").first.click()
    page.wait_for_url("**/studies/handmade-rct-retracted/")
    assert page.locator(".banner-retracted").is_visible()
    assert watch.problems == []
    context.close()


def test_registration_page_shows_completed_with_its_results_paper(
    browser: Any, honest: tuple[str, Path]
) -> None:
    base, _ = honest
    page = browser.new_page(viewport={"width": 360, "height": 900})
    watch = Watch(page)
    page.goto(base + "studies/nct-nct00065585/", wait_until="load")
    facts = page.locator("dl.facts").inner_text()
    assert "Completed" in facts and "Registered" in facts and "Published" not in facts
    link = page.locator(".results-published a", has_text="PubMed 19433697")
    assert link.get_attribute("href") == "https://pubmed.ncbi.nlm.nih.gov/19433697/"
    assert "no results" not in page.locator("main").inner_text().lower()
    shot(page, "registration-nct00065585-360")
    page.goto(base + "digests/2026-W47/", wait_until="load")
    card = page.locator("article.item", has_text="Efficacy of Acupuncture for Chronic Low Back")
    assert "Trial status: Completed" in card.inner_text()
    assert "Registered 31 Jul 2003" in card.inner_text()
    shot(page, "digest-with-registration-360")
    assert watch.problems == []
    page.close()


def test_a_week_whose_sources_all_failed_opens_with_the_warning(
    browser: Any, honest: tuple[str, Path]
) -> None:
    base, _ = honest
    page = browser.new_page(viewport={"width": 360, "height": 800})
    page.goto(base, wait_until="load")
    banner = page.locator("main .banner-failure")
    assert banner.is_visible() and "Every research source failed" in banner.inner_text()
    first_section = page.locator("main section").first.bounding_box()
    assert banner.bounding_box()["y"] < first_section["y"]
    assert banner.bounding_box()["y"] < 800  # above the fold on a phone
    assert "were found this week" not in page.locator("main").inner_text()
    shot(page, "digest-all-sources-failed-360")
    page.close()


def test_glossary_links_land_on_their_entry(browser: Any, honest: tuple[str, Path]) -> None:
    base, _ = honest
    page = browser.new_page()
    watch = Watch(page)
    page.goto(base + "digests/2026-W47/", wait_until="load")
    hrefs = page.eval_on_selector_all("a[href*='glossary/#']", "es => es.map(e => e.href)")
    assert len(hrefs) > 10
    for href in sorted(set(hrefs)):
        page.goto(href, wait_until="load")
        anchor = href.split("#", 1)[1]
        target = page.locator(f"[id='{anchor}']")
        assert target.count() == 1, href
        assert page.evaluate("location.hash") == f"#{anchor}"
        assert target.is_visible()
    page.goto(base + "glossary/#small-sample", wait_until="load")
    assert "Fewer than 50 people" in page.locator("#small-sample + dd").inner_text()
    shot(page, "glossary-1280")
    assert watch.problems == []
    page.close()


def test_email_of_a_failed_week_in_the_browser(browser: Any) -> None:
    from tests.test_honest import ALL_FAILED

    digest = replace(corpus_digests()[0], sections=(), corrections=(), health=ALL_FAILED)
    message = compose_digest_message(digest, MAIL, "reader1@clinic1.example.org", None, NOW)
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    page = browser.new_page(viewport={"width": 360, "height": 800})
    page.set_content(html_part.get_content(), wait_until="load")
    assert page.locator(".banner-failure").is_visible()
    assert page.locator("h1").inner_text() == "Week of 16 Nov 2026"
    assert "fetched" not in page.locator("body").inner_text()
    shot(page, "email-all-sources-failed-360")
    page.close()


@pytest.mark.skipif(not Path(AXE_JS or "/nonexistent").is_file(), reason="set DIGEST_AXE_JS")
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_core_finds_no_serious_problems(
    browser: Any, honest: tuple[str, Path], scheme: str
) -> None:
    base, _ = honest
    script = Path(AXE_JS).read_text(encoding="utf-8")
    page = browser.new_page(color_scheme=scheme, bypass_csp=True)
    problems = []
    for path in (
        "",
        "digests/2026-W47/",
        "evidence-map/",
        "glossary/",
        "studies/nct-nct00065585/",
        "studies/handmade-rct-retracted/",
    ):
        page.goto(base + path, wait_until="load")
        page.add_script_tag(content=script)
        result = page.evaluate(
            "async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a',"
            " 'wcag21aa', 'wcag22aa', 'best-practice']})"
        )
        problems += [
            (path, v["id"], v["impact"], len(v["nodes"]))
            for v in result["violations"]
            if v["impact"] in ("serious", "critical", "moderate")
        ]
    assert problems == []
    page.close()


def test_condition_page_shows_summary_panel_and_last_searched_line(
    browser: Any, tmp_path: Path
) -> None:
    from dataclasses import replace
    from datetime import date

    from digest.views import ConditionView
    from tests.test_condition_pages import PANEL, STUDIES
    from tests.test_render import corpus_site

    site = corpus_site()
    condition = ConditionView(
        "low-back-pain", "Low back pain", STUDIES, last_searched=date(2026, 11, 30),
        new_this_week=2, panel=PANEL,
    )  # fmt: skip
    files = build_site(replace(site, conditions=(condition,), studies=(*site.studies, *STUDIES)))
    for base, root in _serve(tmp_path, files):
        page = browser.new_page(java_script_enabled=False)
        visit(
            page, base + "conditions/low-back-pain/", root / "conditions/low-back-pain/index.html"
        )
        assert page.locator(".last-searched").inner_text() == (
            "Last searched 30 Nov 2026 — 2 new this week."
        )
        assert page.locator(".evidence-summary").is_visible()
        assert "What this lets you say" in page.locator(".claims-panel h2").inner_text()
        assert "not legal advice" in page.locator(".claims-panel").inner_text()
        shot(page, "condition-page-1280")
        page.close()
