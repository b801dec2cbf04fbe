"""The static web archive: pages, links, reproducibility, safety, accessibility, writing."""

from __future__ import annotations

import itertools
import json
import os
import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup, Tag

from digest.publish.site_writer import MANIFEST, write_files, write_site
from digest.render import build_site, render_digest_email_html
from digest.render.sanitize import is_safe_slug
from digest.views import SiteView
from tests.test_render import (
    SETTINGS,
    UNSUBSCRIBE,
    corpus_site,
    hostile_digest,
    hostile_settings,
    hostile_site,
)

STATIC = Path(__file__).resolve().parent.parent / "digest" / "static"
EMAIL_CSS = Path(__file__).resolve().parent.parent / "digest" / "templates" / "email" / "email.css"
OWN_SCRIPTS = {"index.js", "../static/search.js"}
URL_ATTRIBUTES = (
    "href",
    "src",
    "action",
    "formaction",
    "data",
    "poster",
    "xlink:href",
    "background",
    "srcset",
)
FORBIDDEN_TAGS = (
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "base",
    "svg",
    "math",
    "img",
    "video",
    "audio",
    "template",
)


@pytest.fixture(scope="module")
def corpus_files() -> dict[str, bytes]:
    return build_site(corpus_site())


@pytest.fixture(scope="module")
def hostile_files() -> dict[str, bytes]:
    return build_site(hostile_site())


def html_pages(files: dict[str, bytes]) -> dict[str, str]:
    return {p: b.decode("utf-8") for p, b in files.items() if p.endswith(".html")}


def soup_of(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "lxml")


# --------------------------------------------------------------------------- structure


def test_expected_pages_exist(corpus_files: dict[str, bytes]) -> None:
    expected = {
        "index.html",
        "404.html",
        "feed.xml",
        "digests/index.html",
        "digests/2026-W47/index.html",
        "digests/2026-W47/digest.md",
        "digests/2026-W46/index.html",
        "studies/index.html",
        "studies/pmid-29768149/index.html",
        "studies/pmid-29768149/citation.ris",
        "studies/pmid-29768149/citation.bib",
        "studies/pmid-29768149/citation.json",
        "studies/nct-nct01570127/index.html",
        "conditions/index.html",
        "conditions/low-back-pain/index.html",
        "conditions/low-back-pain/feed.xml",
        "search/index.html",
        "search/index.json",
        "search/index.js",
        "evidence-map/index.html",
        "static/site.css",
        "static/search.js",
        "static/icon.svg",
        "studies/doi-10.1056-nejmoa1715274/index.html",
    }
    assert expected <= set(corpus_files)
    assert len([p for p in corpus_files if re.match(r"studies/[^/]+/citation\.ris$", p)]) == 10


def test_two_builds_are_byte_identical(corpus_files: dict[str, bytes]) -> None:
    site = corpus_site()
    shuffled = replace(site, slug_aliases=dict(reversed(list(site.slug_aliases.items()))))
    again = build_site(shuffled)
    assert list(again) == list(corpus_files)
    assert again == corpus_files


def test_home_shows_latest_digest_and_recent_weeks(corpus_files: dict[str, bytes]) -> None:
    soup = soup_of(corpus_files["index.html"].decode())
    assert soup.h1.get_text() == f"{SETTINGS.title}: Week of 16 Nov 2026 (2026-W47)"
    recent = soup.select("ul.weeks a")
    assert [a["href"] for a in recent] == ["digests/2026-W46/"]
    assert soup.find("link", rel="alternate")["href"] == "feed.xml"


def test_digest_pages_link_neighbours(corpus_files: dict[str, bytes]) -> None:
    soup = soup_of(corpus_files["digests/2026-W46/index.html"].decode())
    assert soup.find("a", rel="next")["href"] == "../../digests/2026-W47/"
    assert soup.find("a", rel="prev") is None
    item = soup.select_one("article.item h3 a")
    assert item["href"] == "../../studies/nct-nct01722253/"


def test_study_page_has_everything_a_reader_needs(corpus_files: dict[str, bytes]) -> None:
    soup = soup_of(corpus_files["studies/pmid-29768149/index.html"].decode())
    text = " ".join(soup.get_text(" ").split())
    assert soup.h1.get_text() == "Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma."
    for fact in (
        "Randomized controlled trial",
        "The New England journal of medicine",
        "17 May 2018",
        "Format test records (not acupuncture)",
        "n not stated",
        "What the authors concluded, in their words:",
        "Direction of the authors' conclusion",
        "N Engl J Med. 2018 May 17;378(20)",
    ):
        assert fact in text, fact
    hrefs = [a["href"] for a in soup.select("ul.links a")]
    assert hrefs == [
        "https://pubmed.ncbi.nlm.nih.gov/29768149/",
        "https://doi.org/10.1056/nejmoa1715274",
        "https://clinicaltrials.gov/study/NCT02149199",
    ]
    downloads = [a["href"] for a in soup.find_all("a", download=True)]
    assert downloads == ["citation.ris", "citation.bib", "citation.json"]
    assert [li.get_text(" ", strip=True) for li in soup.select("ul.sources li")] == [
        "PubMed, listed as 29768149"
    ]
    assert soup.select_one("h2#abstract") is not None
    labels = [b.get_text() for b in soup.select("section[aria-labelledby=abstract] strong")]
    assert labels[0] == "BACKGROUND:" and labels[-1] == "CONCLUSIONS:"
    assert soup.find("link", rel="canonical")["href"] == (
        "https://digest.example.org/studies/pmid-29768149/"
    )


def test_retracted_study_has_a_loud_banner_everywhere(hostile_files: dict[str, bytes]) -> None:
    study = soup_of(hostile_files["studies/handmade-hostile-1/index.html"].decode())
    banner = study.select_one(".banner-retracted[role=alert]")
    assert banner is not None and "has been retracted" in banner.get_text()
    assert banner.find("a")["href"] == "../../studies/handmade-notice-1/"
    assert study.select_one(".banner-erratum") is not None
    assert study.title.get_text().startswith("[Retracted] ")
    for page in (
        "index.html",
        "digests/2026-W47/index.html",
        "conditions/handmade-condition/index.html",
    ):
        soup = soup_of(hostile_files[page].decode())
        item = next(
            a
            for a in soup.select("article.item h3 a")
            if a["href"].endswith("studies/handmade-hostile-1/")
        )
        assert item.get_text().startswith("[Retracted] ")
        assert item.find_parent("article").select_one(".flag-retracted") is not None
    listing = soup_of(hostile_files["studies/index.html"].decode()).get_text()
    assert "[Retracted] " in listing


def test_redirect_page_for_an_old_slug(corpus_files: dict[str, bytes]) -> None:
    soup = soup_of(corpus_files["studies/doi-10.1056-nejmoa1715274/index.html"].decode())
    refresh = soup.find("meta", attrs={"http-equiv": "refresh"})["content"]
    assert refresh == "0; url=../pmid-29768149/"
    assert soup.find("link", rel="canonical")["href"] == (
        "https://digest.example.org/studies/pmid-29768149/"
    )
    assert soup.find("a")["href"] == "../pmid-29768149/"


def test_alias_chains_resolve_and_dead_or_shadowed_aliases_are_dropped() -> None:
    site = corpus_site()
    aliases = {
        "old-a": "old-b",
        "old-b": "pmid-29768149",
        "gone": "no-such-study",
        "pmid-23878845": "pmid-29768149",
        "loop-1": "loop-2",
        "loop-2": "loop-1",
    }
    files = build_site(replace(site, slug_aliases=aliases))
    page = soup_of(files["studies/old-a/index.html"].decode())
    assert page.find("a")["href"] == "../pmid-29768149/"
    assert "studies/gone/index.html" not in files and "studies/loop-1/index.html" not in files
    # a live study's own page is never replaced by a redirect
    assert b"citation.ris" in files["studies/pmid-23878845/index.html"]


def test_condition_page_groups_by_design_strongest_first(corpus_files: dict[str, bytes]) -> None:
    soup = soup_of(corpus_files["conditions/format-test/index.html"].decode())
    groups = [s["id"] for s in soup.select("main section[id^=design-]")]
    assert groups == ["design-rct", "design-observational", "design-other"]
    assert (
        soup.find("link", rel="alternate", type="application/atom+xml", href="feed.xml") is not None
    )


def test_evidence_map_counts_are_text(corpus_files: dict[str, bytes]) -> None:
    soup = soup_of(corpus_files["evidence-map/index.html"].decode())
    table = soup.select_one("table.map-design")
    headers = [th.select_one(".col-design").get_text() for th in table.select("thead th a")]
    assert headers == [  # SR and RCT always (their gaps show), other designs when held
        "Systematic review / meta-analysis",
        "Randomized controlled trial",
        "Observational study",
        "Trial registration",
        "Other",
    ]
    rows = {
        tr.th.get_text(): [td.get_text() for td in tr.find_all("td")]
        for tr in table.select("tbody tr")
    }
    assert rows["Format test records (not acupuncture)"] == ["none", "2", "1", "none", "2", "5"]
    assert rows["Low back pain"] == ["none", "none", "none", "2", "none", "2"]
    for each in soup.select("table.evidence-map"):
        assert each.caption is not None
        assert each.find_parent("div", attrs={"role": "region", "tabindex": "0"}) is not None
    confidence = soup.select_one("table.map-confidence")
    low_back = next(
        tr for tr in confidence.select("tbody tr") if tr.th.get_text() == "Low back pain"
    )
    assert [td.get_text(" ", strip=True) for td in low_back.find_all("td")] == [
        "none",
        "none",
        "none",
        "none",
        "none",
        "2",
        "2",
        "0",
    ]
    assert "not that no research exists" in soup.get_text()


def test_search_index(corpus_files: dict[str, bytes]) -> None:
    entries = json.loads(corpus_files["search/index.json"])
    assert len(entries) == 10
    nejm = next(e for e in entries if e["slug"] == "pmid-29768149")
    assert nejm["design_label"] == "Randomized controlled trial" and nejm["year"] == "2018"
    assert "PMID 29768149" in nejm["ids"]
    script = corpus_files["search/index.js"].decode()
    assert script.startswith("window.digestSearchIndex = [") and script.endswith("];\n")
    assert json.loads(script[len("window.digestSearchIndex = ") : -2]) == entries


# --------------------------------------------------------------------------- links


def _targets(page: str, html: str) -> list[str]:
    soup = soup_of(html)
    found: list[str] = []
    for element in soup.find_all(True):
        for attribute in ("href", "src", "action"):
            value = element.get(attribute)
            if isinstance(value, str):
                found.append(value)
    refresh = soup.find("meta", attrs={"http-equiv": "refresh"})
    if refresh is not None:
        found.append(refresh["content"].split("url=", 1)[1])
    return found


@pytest.mark.parametrize("which", ["corpus", "hostile"])
def test_every_internal_link_resolves(
    which: str, corpus_files: dict[str, bytes], hostile_files: dict[str, bytes]
) -> None:
    files = corpus_files if which == "corpus" else hostile_files
    pages = html_pages(files)
    ids = {p: {e["id"] for e in soup_of(h).find_all(id=True)} for p, h in pages.items()}
    checked = 0
    for page, html in pages.items():
        for target in _targets(page, html):
            parts = urlsplit(target)
            if parts.scheme or parts.netloc:
                continue  # external (or the 404 page's absolute site links)
            resolved = urlsplit(urljoin(f"http://site/{page}", target))
            path = resolved.path.lstrip("/")
            path = path + "index.html" if path.endswith("/") or not path else path
            assert path in files, f"{page} links to missing {target}"
            if resolved.fragment and path.endswith(".html"):
                assert resolved.fragment in ids[path], f"{page}: no #{resolved.fragment} in {path}"
            checked += 1
    assert checked > 100


def test_links_are_relative_so_any_host_works(corpus_files: dict[str, bytes]) -> None:
    for page, html in html_pages(corpus_files).items():
        if page == "404.html":
            continue
        soup = soup_of(html)
        for a in soup.find_all("a", href=True):
            href = a["href"]
            assert not href.startswith("/"), (page, href)
            assert not href.startswith(SETTINGS.site_url), (page, href)


# --------------------------------------------------------------------------- safety


def assert_inert(html: str, *, allow_scripts: set[str], email: bool = False) -> None:
    """No script but ours, no handlers, no javascript:/data: urls, no frames or objects."""
    for parser in ("lxml", "html.parser"):
        soup = BeautifulSoup(html, parser)
        for script in soup.find_all("script"):
            assert script.get("src") in allow_scripts and not script.string, script
        for name in FORBIDDEN_TAGS:
            assert soup.find(name) is None, name
        styles = soup.find_all("style")
        assert len(styles) == (1 if email else 0)
        for element in soup.find_all(True):
            for attribute, value in element.attrs.items():
                assert not attribute.lower().startswith("on"), (element.name, attribute)
                text = value if isinstance(value, str) else " ".join(value)
                squashed = re.sub(r"[\s\x00-\x1f]", "", text).lower()
                if attribute in URL_ATTRIBUTES:
                    assert urlsplit(squashed).scheme in ("", "http", "https"), (attribute, text)
                if attribute == "style":
                    assert email and "url(" not in squashed and "expression" not in squashed
                if attribute == "content" and element.name == "meta":
                    assert "javascript:" not in squashed and "data:" not in squashed
        for form in soup.find_all("form"):
            assert form.get("action") == "./" and form.get("method") == "get"


def test_every_page_of_the_hostile_site_is_inert(hostile_files: dict[str, bytes]) -> None:
    pages = html_pages(hostile_files)
    assert len(pages) >= 10
    for page, html in pages.items():
        allowed = OWN_SCRIPTS if page == "search/index.html" else set()
        assert_inert(html, allow_scripts=allowed)
        assert "<script>alert" not in html, page
    search = soup_of(pages["search/index.html"])
    assert [s["src"] for s in search.find_all("script")] == ["index.js", "../static/search.js"]


def test_hostile_text_is_shown_as_text(hostile_files: dict[str, bytes]) -> None:
    soup = soup_of(hostile_files["studies/handmade-hostile-1/index.html"].decode())
    assert '<script>alert("title")</script>Hand-made hostile study' in soup.h1.get_text()
    sources = [li.get_text(" ", strip=True) for li in soup.select("ul.sources li")]
    assert sources[0].startswith("evil<script>") and soup.select("ul.sources a") == []


def test_hostile_search_index_cannot_close_its_script(hostile_files: dict[str, bytes]) -> None:
    script = hostile_files["search/index.js"].decode()
    assert "<" not in script and ">" not in script
    assert "\\u003cscript\\u003e" in script


def test_hostile_email_is_inert() -> None:
    html = render_digest_email_html(hostile_digest(), hostile_settings(), UNSUBSCRIBE)
    assert_inert(html, allow_scripts=set(), email=True)
    assert "<script>alert" not in html


@pytest.mark.parametrize("slug", ["../etc", "a/b", ".hidden", "", "a\\b", "x" * 201, "a..b"])
def test_unsafe_slugs_are_refused(slug: str) -> None:
    assert not is_safe_slug(slug)
    site = corpus_site()
    bad = replace(site.studies[0], slug=slug)
    with pytest.raises(ValueError, match="unsafe slug"):
        build_site(replace(site, studies=(bad, *site.studies[1:])))


def test_a_week_that_is_not_iso_is_refused() -> None:
    site = corpus_site()
    bad = replace(site.digests[0], week="../../2026")
    with pytest.raises(ValueError, match="ISO week"):
        build_site(replace(site, digests=(bad,)))


# --------------------------------------------------------------------------- accessibility


def test_pages_have_landmarks_one_h1_labels_and_ordered_headings(
    corpus_files: dict[str, bytes],
) -> None:
    for page, html in html_pages(corpus_files).items():
        soup = soup_of(html)
        assert soup.html.get("lang") == "en", page
        if soup.find("meta", attrs={"http-equiv": "refresh"}):
            assert soup.find("main") is not None and len(soup.find_all("h1")) == 1
            continue
        skip = soup.select_one("a.skip-link")
        assert skip is not None and skip["href"] == "#main", page
        assert soup.select_one("main#main") is not None, page
        for landmark in ("header", "nav", "footer"):
            assert soup.find(landmark) is not None, (page, landmark)
        assert all(nav.get("aria-label") for nav in soup.find_all("nav")), page
        assert len(soup.find_all("h1")) == 1, page
        levels = [int(h.name[1]) for h in soup.find_all(re.compile(r"^h[1-6]$"))]
        for before, after in itertools.pairwise(levels):
            assert after <= before + 1, (page, levels)
        for field in soup.find_all(["input", "select", "textarea"]):
            if field.get("type") == "hidden":
                continue
            assert soup.find("label", attrs={"for": field.get("id")}) or field.get("aria-label")
        current = soup.select("nav [aria-current=page]")
        assert len(current) <= 1, page


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _palettes() -> list[dict[str, str]]:
    css = (STATIC / "site.css").read_text()
    blocks = re.findall(r":root\s*\{([^}]*)\}", css)
    return [dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6});", block)) for block in blocks]


SITE_PAIRS = [
    ("fg", "bg"),
    ("muted", "bg"),
    ("link", "bg"),
    ("fg", "surface"),
    ("link", "surface"),
    ("muted", "surface"),
    ("retracted-fg", "retracted-bg"),
    ("erratum-fg", "erratum-bg"),
    ("bg", "link"),
] + [
    ("fg", f"{tier}-bg")
    for tier in (
        "synthesis",
        "trial",
        "comparative",
        "descriptive",
        "planned",
        "preclinical",
        "commentary",
        "other",
    )
]


@pytest.mark.parametrize("scheme", [0, 1], ids=["light", "dark"])
def test_site_colours_meet_wcag_aa(scheme: int) -> None:
    palettes = _palettes()
    assert len(palettes) == 2
    palette = palettes[scheme]
    for foreground, background in SITE_PAIRS:
        ratio = contrast(palette[foreground], palette[background])
        assert ratio >= 4.5, (foreground, background, round(ratio, 2))


EMAIL_PAIRS = [
    ("#1b1f23", "#ffffff"),
    ("#4a5560", "#ffffff"),
    ("#0b4f9c", "#ffffff"),
    ("#7a0010", "#fde7e9"),
    ("#5c3d00", "#fff4d6"),
    ("#1b1f23", "#e8eaed"),
    ("#1b1f23", "#eef2f6"),
    ("#a40e26", "#ffffff"),
    ("#e8eaed", "#121417"),
    ("#b0b8c1", "#121417"),
    ("#8cc4ff", "#121417"),
    ("#ffd7dc", "#4a0d14"),
    ("#ffe7a3", "#3d2e00"),
    ("#ff9aa8", "#121417"),
    ("#e8eaed", "#2a2f36"),
]


def test_email_colours_meet_wcag_aa() -> None:
    css = EMAIL_CSS.read_text()
    for foreground, background in EMAIL_PAIRS:
        assert foreground in css and background in css
        assert contrast(foreground, background) >= 4.5, (foreground, background)


# --------------------------------------------------------------------------- writing


def test_write_site_writes_then_removes_only_its_own_stale_files(
    tmp_path: Path, corpus_files: dict[str, bytes]
) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "CNAME").write_text("digest.example.org\n")  # the host's file, not ours
    first = write_site(corpus_files, out)
    assert sorted(first.written) == sorted(corpus_files) and first.removed == []
    for path, content in corpus_files.items():
        assert (out / path).read_bytes() == content
    mtime = os.stat(out / "index.html").st_mtime_ns

    smaller = {p: b for p, b in corpus_files.items() if not p.startswith("studies/pmid-2")}
    smaller["index.html"] = corpus_files["index.html"]
    second = write_site(smaller, out)
    assert second.written == [] and sorted(second.unchanged) == sorted(smaller)
    assert "studies/pmid-29768149/index.html" in second.removed
    assert not (out / "studies" / "pmid-29768149").exists()  # emptied folders go too
    assert (out / "CNAME").read_text() == "digest.example.org\n"
    assert os.stat(out / "index.html").st_mtime_ns == mtime
    assert json.loads((out / MANIFEST).read_text())["files"] == sorted(smaller)
    assert not list(out.rglob(".tmp-*"))


@pytest.mark.parametrize(
    "path", ["../escape.html", "/etc/passwd", "a/../../b", ".git/config", MANIFEST, "a\\b"]
)
def test_write_site_refuses_paths_outside_the_folder(tmp_path: Path, path: str) -> None:
    with pytest.raises(ValueError, match="outside the site folder"):
        write_site({path: b"x"}, tmp_path / "site")
    assert not (tmp_path / "escape.html").exists()


def test_write_site_ignores_a_tampered_manifest(tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / MANIFEST).write_text(json.dumps({"files": ["../victim.txt"]}))
    write_site({"index.html": b"<!DOCTYPE html>"}, out)
    assert victim.read_text() == "keep me"


def test_site_view_with_nothing_builds() -> None:
    files = build_site(SiteView(settings=SETTINGS, built_at=corpus_site().built_at))
    assert b"No digest has been published yet." in files["index.html"]
    assert b"No studies yet." in files["evidence-map/index.html"]
    assert "feed.xml" in files


def test_structure_of_elements_is_sound(corpus_files: dict[str, bytes]) -> None:
    """Every article item has its design label before its title (honest labelling)."""
    soup = soup_of(corpus_files["digests/2026-W47/index.html"].decode())
    for item in soup.select("article.item"):
        first = next(child for child in item.children if isinstance(child, Tag))
        assert "design" in first.get("class", []), item


def test_write_files_writes_without_a_manifest(tmp_path: Path) -> None:
    written = write_files({"b/digest.md": b"# x\n", "a.txt": b"y"}, tmp_path / "out")
    assert written == [tmp_path / "out" / "a.txt", tmp_path / "out" / "b" / "digest.md"]
    assert (tmp_path / "out" / "b" / "digest.md").read_bytes() == b"# x\n"
    assert not (tmp_path / "out" / MANIFEST).exists()
    with pytest.raises(ValueError):
        write_files({"../x": b""}, tmp_path / "out")
