"""The static web archive: `build_site(SiteView) -> {relative path: bytes}`.

Pure: no clock, no database, no output files (publish.site_writer writes them). Links
between pages are relative (`../../studies/x/`) so any static host, at any path, works;
feeds and canonical links are absolute because readers need them so. Iteration is in
the order given or sorted, so building twice gives the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from digest.classify.direction import DIRECTION_LABELS, DIRECTIONS
from digest.config import Settings
from digest.render import atom, citations
from digest.render.condition_summary import summarise
from digest.render.environment import html_env
from digest.render.evidence_map import evidence_map
from digest.render.glossary import glossary_entries
from digest.render.markdown import render_digest_markdown
from digest.render.sanitize import one_line
from digest.render.search_index import search_entry
from digest.render.site_pieces import abstract_paragraphs, group_by_design
from digest.render.site_studies import all_studies, check_names, resolve_aliases
from digest.render.urls import Urls
from digest.views import ConditionView, DigestView, SiteSettings, SiteView, StudyView

STATIC_FILES = ("site.css", "search.js", "icon.svg")


@dataclass(frozen=True, slots=True)
class _Page:
    """Where a page sits: its output path and the way back to the site root."""

    path: str  # e.g. "studies/pmid-1/index.html"

    @property
    def root(self) -> str:
        return "../" * self.path.count("/")

    def url_path(self) -> str:
        return self.path.removesuffix("index.html")


class _Builder:
    def __init__(self, site: SiteView) -> None:
        check_names(site)
        self.site = site
        self.settings = site.settings
        self.studies = all_studies(site)
        self.redirects = resolve_aliases(site.slug_aliases, set(self.studies))
        self.known = frozenset(self.studies) | frozenset(self.redirects)
        self.files: dict[str, bytes] = {}

    # ---------------------------------------------------------------- helpers

    def urls(self, page: _Page) -> Urls:
        return Urls(page.root, self.known)

    def canonical(self, page: _Page) -> str:
        return self.settings.base_url + page.url_path()

    def render(self, page: _Page, template: str, nav: str = "", **context: Any) -> None:
        html = (
            html_env()
            .get_template(template)
            .render(
                site=self.settings,
                u=self.urls(page),
                canonical=self.canonical(page),
                nav=nav,
                **context,
            )
        )
        self.files[page.path] = html.encode("utf-8")

    # ---------------------------------------------------------------- pages

    def build(self) -> dict[str, bytes]:
        self.home()
        self.archive()
        for index, digest in enumerate(self.site.digests):
            self.digest(index, digest)
        self.study_index()
        for study in self.studies.values():
            self.study(study)
        self.condition_index()
        for condition in self.site.conditions:
            self.condition(condition)
        self.search()
        self.evidence_map()
        self.glossary()
        self.redirect_pages()
        self.not_found()
        self.files["feed.xml"] = atom.render_digests_feed(self.site)
        for name in STATIC_FILES:
            self.files[f"static/{name}"] = (
                resources.files("digest").joinpath("static", name).read_bytes()
            )
        return dict(sorted(self.files.items()))

    def home(self) -> None:
        digests = self.site.digests
        latest = digests[0] if digests else None
        recent = digests[1 : self.settings.recent_weeks_on_home + 1]
        self.render(
            _Page("index.html"), "site/index.html", nav="home", latest=latest, recent=recent
        )

    def archive(self) -> None:
        self.render(
            _Page("digests/index.html"),
            "site/archive.html",
            nav="archive",
            digests=self.site.digests,
        )

    def digest(self, index: int, digest: DigestView) -> None:
        digests = self.site.digests
        newer = digests[index - 1] if index > 0 else None
        older = digests[index + 1] if index + 1 < len(digests) else None
        folder = f"digests/{digest.week}/"
        self.render(
            _Page(folder + "index.html"),
            "site/digest.html",
            nav="archive",
            d=digest,
            newer=newer,
            older=older,
        )
        markdown = render_digest_markdown(digest, self.settings)
        self.files[folder + "digest.md"] = markdown.encode("utf-8")

    def study_index(self) -> None:
        self.render(
            _Page("studies/index.html"),
            "site/studies.html",
            nav="studies",
            studies=tuple(self.studies.values()),
        )

    def study(self, study: StudyView) -> None:
        folder = f"studies/{study.slug}/"
        page = _Page(folder + "index.html")
        condition_pages = {c.slug: self.urls(page).condition(c.slug) for c in self.site.conditions}
        self.render(
            page,
            "site/study.html",
            s=study,
            abstract=abstract_paragraphs(study.abstract),
            vancouver=citations.vancouver(study),
            ama=citations.ama(study),
            condition_pages=condition_pages,
        )
        self.files[folder + "citation.ris"] = citations.to_ris([study]).encode("utf-8")
        self.files[folder + "citation.bib"] = citations.to_bibtex([study]).encode("utf-8")
        self.files[folder + "citation.json"] = citations.to_csl_json([study]).encode("utf-8")

    def condition_index(self) -> None:
        self.render(
            _Page("conditions/index.html"),
            "site/conditions.html",
            nav="conditions",
            conditions=self.site.conditions,
        )

    def condition(self, condition: ConditionView) -> None:
        folder = f"conditions/{condition.slug}/"
        groups = group_by_design(condition.studies, self.site.designs)
        self.render(
            _Page(folder + "index.html"),
            "site/condition.html",
            nav="conditions",
            c=condition,
            groups=groups,
            summary=summarise(condition),
        )
        self.files[folder + "feed.xml"] = atom.render_condition_feed(self.site, condition)

    def search(self) -> None:
        entries = [search_entry(s) for s in self.studies.values()]
        self.render(
            _Page("search/index.html"), "site/search.html", nav="search", count=len(entries)
        )
        as_json = json.dumps(entries, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        self.files["search/index.json"] = (as_json + "\n").encode("utf-8")
        # the same data as a script, so search also works from file:// without fetch()
        as_js = json.dumps(entries, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
        as_js = as_js.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        self.files["search/index.js"] = f"window.digestSearchIndex = {as_js};\n".encode()

    def evidence_map(self) -> None:
        self.render(
            _Page("evidence-map/index.html"),
            "site/evidence_map.html",
            nav="map",
            m=evidence_map(self.site.conditions, self.site.designs),
            directions=DIRECTIONS,
            direction_labels=DIRECTION_LABELS,
        )

    def glossary(self) -> None:
        self.render(
            _Page("glossary/index.html"),
            "site/glossary.html",
            nav="glossary",
            sections=glossary_entries(),
        )

    def redirect_pages(self) -> None:
        for old, current in self.redirects.items():
            page = _Page(f"studies/{old}/index.html")
            target_study = self.studies[current]
            html = (
                html_env()
                .get_template("site/redirect.html")
                .render(
                    site=self.settings,
                    target=f"../{current}/",
                    canonical=self.settings.base_url + f"studies/{current}/",
                    title=one_line(target_study.title),
                )
            )
            self.files[page.path] = html.encode("utf-8")

    def not_found(self) -> None:
        # served for any missing path, so its links start at the site's own root path
        root_path = urlsplit(self.settings.base_url).path or "/"
        html = (
            html_env()
            .get_template("site/not_found.html")
            .render(
                site=self.settings,
                u=Urls(root_path, self.known),
                canonical=self.settings.base_url + "404.html",
                nav="",
            )
        )
        self.files["404.html"] = html.encode("utf-8")


def site_settings_from_config(settings: Settings) -> SiteSettings:
    """The site's settings from sources.yaml (`digest:`)."""
    return SiteSettings(
        title=settings.digest.title,
        site_url=settings.digest.site_url,
        tag_authority=settings.digest.tag_authority,
        recent_weeks_on_home=settings.digest.recent_weeks_on_home,
        postal_address=settings.email.postal_address,
    )


def build_site(site: SiteView) -> dict[str, bytes]:
    """Every file of the static archive, by relative path (sorted)."""
    return _Builder(site).build()
