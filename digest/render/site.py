"""The static web archive: `site_pages(SiteView)` -> its pages one at a time, each a
`PageSpec` (files, input fingerprint, a render function called only when needed), and
`build_site(SiteView) -> {relative path: bytes}`, every file at once (tests, small sites).

Pure: no clock, no database, no output files (publish.site_writer writes them). Links
between pages are relative (`../../studies/x/`) so any static host, at any path, works;
feeds and canonical links are absolute because readers need them so. Iteration is in
the order given or sorted, so building twice gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup

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
from digest.render.site_pages import (
    Fingerprints,
    Fragments,
    Lookups,
    NoFragments,
    PageSpec,
    code_version,
    fixed_page,
    lookups_hold,
)
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


_Make = Callable[[Container[str]], dict[str, bytes]]


class _Builder:
    def __init__(self, site: SiteView, fragments: Fragments) -> None:
        check_names(site)
        self.site = site
        self.fragments = fragments
        self.settings = site.settings
        self.studies = all_studies(site)
        self.redirects = resolve_aliases(site.slug_aliases, set(self.studies))
        self.known = frozenset(self.studies) | frozenset(self.redirects)
        self.hashes = Fingerprints()

    # ---------------------------------------------------------------- helpers

    def canonical(self, page: _Page) -> str:
        return self.settings.base_url + page.url_path()

    def spec(self, page: _Page, inputs: tuple[object, ...], make: _Make) -> PageSpec:
        """A page whose bytes are `make(known)`, a function of `inputs` (and the code)."""
        fingerprint = self.hashes.of_all(code_version(), self.settings, *inputs)
        return PageSpec(page.path, fingerprint, self.known, make)

    def html(
        self, page: _Page, known: Container[str], template: str, nav: str = "", **context: Any
    ) -> bytes:
        html = (
            html_env()
            .get_template(template)
            .render(
                site=self.settings,
                u=Urls(page.root, known),
                canonical=self.canonical(page),
                nav=nav,
                **context,
            )
        )
        return html.encode("utf-8")

    def items(self, page: _Page, known: Container[str]) -> Callable[[StudyView], Markup]:
        """`study_item(s, u)` for a long list, each study's entry kept between builds: a
        condition page lists every study, and only the week's new ones need rendering."""
        macro = html_env().get_template("partials/items.html").module.study_item  # type: ignore[attr-defined]

        def item(study: StudyView) -> Markup:
            key = self.hashes.of_all(code_version(), self.settings, "item", page.root, study)
            kept = self.fragments.get(key)
            if kept is not None and lookups_hold(kept[1], self.known):
                for slug in kept[1]:
                    _ = slug in known  # the page asked them too: its manifest entry says so
                return Markup(kept[0])
            asked = Lookups(known)
            html = str(macro(study, Urls(page.root, asked)))
            self.fragments.put(key, html, asked.asked)
            return Markup(html)

        return item

    def page(self, path: str, template: str, nav: str = "", **context: Any) -> PageSpec:
        """An HTML page that shows exactly its template's context."""
        page = _Page(path)
        return self.spec(
            page,
            (path, template, nav, *context.values()),
            lambda known: {page.path: self.html(page, known, template, nav, **context)},
        )

    # ---------------------------------------------------------------- pages

    def pages(self) -> Iterator[PageSpec]:
        """Every page, one at a time (nothing is rendered until a page's `render()`)."""
        yield self.home()
        yield self.page(
            "digests/index.html", "site/archive.html", nav="archive", digests=self.site.digests
        )
        for index, digest in enumerate(self.site.digests):
            yield self.digest(index, digest)
        yield self.page(
            "studies/index.html",
            "site/studies.html",
            nav="studies",
            studies=tuple(self.studies.values()),
        )
        condition_slugs = tuple(c.slug for c in self.site.conditions)
        for study in self.studies.values():
            yield self.study(study, condition_slugs)
        yield self.page(
            "conditions/index.html",
            "site/conditions.html",
            nav="conditions",
            conditions=self.site.conditions,
        )
        for condition in self.site.conditions:
            yield self.condition(condition)
        yield self.search()
        yield self.evidence_map()
        yield self.page(
            "glossary/index.html", "site/glossary.html", nav="glossary", sections=glossary_entries()
        )
        for old, current in self.redirects.items():
            yield self.redirect(old, current)
        yield self.not_found()
        yield self.spec(
            _Page("feed.xml"),
            ("feed.xml", self.site.built_at, self.site.digests[: atom.MAX_ENTRIES]),
            lambda _known: {"feed.xml": atom.render_digests_feed(self.site)},
        )
        for name in STATIC_FILES:
            content = resources.files("digest").joinpath("static", name).read_bytes()
            yield fixed_page(f"static/{name}", content)

    def home(self) -> PageSpec:
        digests = self.site.digests
        latest = digests[0] if digests else None
        recent = digests[1 : self.settings.recent_weeks_on_home + 1]
        return self.page("index.html", "site/index.html", nav="home", latest=latest, recent=recent)

    def digest(self, index: int, digest: DigestView) -> PageSpec:
        digests = self.site.digests
        # the pager shows only the neighbours' weeks
        newer = digests[index - 1].week if index > 0 else None
        older = digests[index + 1].week if index + 1 < len(digests) else None
        page = _Page(f"digests/{digest.week}/index.html")

        def make(known: Container[str]) -> dict[str, bytes]:
            html = self.html(
                page, known, "site/digest.html", nav="archive", d=digest, newer=newer, older=older
            )
            markdown = render_digest_markdown(digest, self.settings)
            return {
                page.path: html,
                page.path[: -len("index.html")] + "digest.md": markdown.encode(),
            }

        return self.spec(page, (page.path, digest, newer, older), make)

    def study(self, study: StudyView, condition_slugs: tuple[str, ...]) -> PageSpec:
        page = _Page(f"studies/{study.slug}/index.html")
        folder = page.path[: -len("index.html")]

        def make(known: Container[str]) -> dict[str, bytes]:
            urls = Urls(page.root, known)
            html = self.html(
                page,
                known,
                "site/study.html",
                s=study,
                abstract=abstract_paragraphs(study.abstract),
                vancouver=citations.vancouver(study),
                ama=citations.ama(study),
                condition_pages={slug: urls.condition(slug) for slug in condition_slugs},
            )
            return {
                page.path: html,
                folder + "citation.ris": citations.to_ris([study]).encode("utf-8"),
                folder + "citation.bib": citations.to_bibtex([study]).encode("utf-8"),
                folder + "citation.json": citations.to_csl_json([study]).encode("utf-8"),
            }

        return self.spec(page, (page.path, study, condition_slugs), make)

    def condition(self, condition: ConditionView) -> PageSpec:
        page = _Page(f"conditions/{condition.slug}/index.html")

        def make(known: Container[str]) -> dict[str, bytes]:
            html = self.html(
                page,
                known,
                "site/condition.html",
                nav="conditions",
                item=self.items(page, known),
                c=condition,
                groups=group_by_design(condition.studies, self.site.designs),
                summary=summarise(condition),
            )
            feed = atom.render_condition_feed(self.site, condition)
            return {page.path: html, page.path[: -len("index.html")] + "feed.xml": feed}

        inputs = (page.path, self.site.built_at, self.site.designs, condition)
        return self.spec(page, inputs, make)

    def search(self) -> PageSpec:
        page = _Page("search/index.html")
        studies = tuple(self.studies.values())

        def make(known: Container[str]) -> dict[str, bytes]:
            entries = [search_entry(s) for s in studies]
            html = self.html(page, known, "site/search.html", nav="search", count=len(entries))
            as_json = json.dumps(entries, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            # the same data as a script, so search also works from file:// without fetch()
            as_js = json.dumps(entries, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
            as_js = as_js.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            return {
                page.path: html,
                "search/index.json": (as_json + "\n").encode("utf-8"),
                "search/index.js": f"window.digestSearchIndex = {as_js};\n".encode(),
            }

        return self.spec(page, (page.path, studies), make)

    def evidence_map(self) -> PageSpec:
        page = _Page("evidence-map/index.html")
        conditions, designs = self.site.conditions, self.site.designs

        def make(known: Container[str]) -> dict[str, bytes]:
            html = self.html(
                page,
                known,
                "site/evidence_map.html",
                nav="map",
                m=evidence_map(conditions, designs),
                directions=DIRECTIONS,
                direction_labels=DIRECTION_LABELS,
            )
            return {page.path: html}

        return self.spec(page, (page.path, conditions, designs), make)

    def redirect(self, old: str, current: str) -> PageSpec:
        page = _Page(f"studies/{old}/index.html")
        title = one_line(self.studies[current].title)

        def make(_known: Container[str]) -> dict[str, bytes]:
            html = (
                html_env()
                .get_template("site/redirect.html")
                .render(
                    site=self.settings,
                    target=f"../{current}/",
                    canonical=self.settings.base_url + f"studies/{current}/",
                    title=title,
                )
            )
            return {page.path: html.encode("utf-8")}

        return self.spec(page, (page.path, current, title), make)

    def not_found(self) -> PageSpec:
        # served for any missing path, so its links start at the site's own root path
        root_path = urlsplit(self.settings.base_url).path or "/"
        page = _Page("404.html")

        def make(known: Container[str]) -> dict[str, bytes]:
            html = (
                html_env()
                .get_template("site/not_found.html")
                .render(
                    site=self.settings,
                    u=Urls(root_path, known),
                    canonical=self.settings.base_url + "404.html",
                    nav="",
                )
            )
            return {page.path: html.encode("utf-8")}

        return self.spec(page, (page.path,), make)


def site_settings_from_config(settings: Settings) -> SiteSettings:
    """The site's settings from sources.yaml (`digest:`)."""
    return SiteSettings(
        title=settings.digest.title,
        site_url=settings.digest.site_url,
        tag_authority=settings.digest.tag_authority,
        recent_weeks_on_home=settings.digest.recent_weeks_on_home,
        postal_address=settings.email.postal_address,
    )


def site_pages(site: SiteView, fragments: Fragments | None = None) -> Iterator[PageSpec]:
    """Every page of the static archive, one at a time, each rendered only when asked
    (`PageSpec.render()`): the writer renders the pages whose inputs changed. `fragments`
    keeps long lists' entries between builds (the writer's `fragment_store`)."""
    return _Builder(site, fragments or NoFragments()).pages()


def build_site(site: SiteView) -> dict[str, bytes]:
    """Every file of the static archive, by relative path (sorted)."""
    files: dict[str, bytes] = {}
    for page in site_pages(site):
        files.update(page.render().files)
    return dict(sorted(files.items()))
