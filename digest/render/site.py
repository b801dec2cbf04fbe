"""The static web archive: `build_site(SiteView) -> {relative path: bytes}`.

Pure: no clock, no database, no output files (publish.site_writer writes them). Links
between pages are relative (`../../studies/x/`) so any static host, at any path, works;
feeds and canonical links are absolute because readers need them so. Iteration is in
the order given or sorted, so building twice gives the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from digest.classify.direction import DIRECTION_LABELS, DIRECTIONS, direction_of
from digest.config import Settings
from digest.render import atom, citations
from digest.render.environment import html_env
from digest.render.glossary import glossary_entries
from digest.render.labels import design_label
from digest.render.markdown import render_digest_markdown
from digest.render.sanitize import is_iso_week, is_safe_slug, one_line
from digest.render.urls import Urls
from digest.views import (
    ConditionView,
    Design,
    DigestView,
    SiteSettings,
    SiteView,
    StudyView,
    design_of,
)

STATIC_FILES = ("site.css", "search.js", "icon.svg")
_ABSTRACT_LABEL = re.compile(r"^([A-Z][A-Z0-9 ,/&()'-]{1,60}):\s+(.+)$", re.DOTALL)
_MAX_ALIAS_HOPS = 20


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
        _check_names(site)
        self.site = site
        self.settings = site.settings
        self.studies = _all_studies(site)
        self.redirects = _resolve_aliases(site.slug_aliases, set(self.studies))
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


# --------------------------------------------------------------------------- pieces


def _check_names(site: SiteView) -> None:
    """Slugs and weeks become paths: refuse any that could escape their folder."""
    slugs = [s.slug for s in _iter_studies(site)]
    slugs += [c.slug for c in site.conditions]
    slugs += [*site.slug_aliases.keys(), *site.slug_aliases.values()]
    bad = sorted({s for s in slugs if not is_safe_slug(s)})
    if bad:
        raise ValueError(f"unsafe slug(s) for file names: {', '.join(map(repr, bad[:5]))}")
    weeks = sorted({d.week for d in site.digests if not is_iso_week(d.week)})
    if weeks:
        raise ValueError(f"not an ISO week (YYYY-Www): {', '.join(map(repr, weeks[:5]))}")


def _iter_studies(site: SiteView) -> Iterator[StudyView]:
    yield from site.studies
    for condition in site.conditions:
        yield from condition.studies
    for digest in site.digests:
        for section in digest.sections:
            yield from section.studies
        for correction in digest.corrections:
            yield correction.study


def _all_studies(site: SiteView) -> dict[str, StudyView]:
    """Every study any page shows gets a page; the first view of a slug wins."""
    studies: dict[str, StudyView] = {}
    for study in _iter_studies(site):
        studies.setdefault(study.slug, study)
    return studies


def _resolve_aliases(aliases: Mapping[str, str], current: set[str]) -> dict[str, str]:
    """old slug -> the current slug it ends at (chains followed); dead ends dropped."""
    resolved: dict[str, str] = {}
    for old in sorted(aliases):
        if old in current:
            continue  # a live study owns that address now
        target = aliases[old]
        for _ in range(_MAX_ALIAS_HOPS):
            if target in current or target not in aliases:
                break
            target = aliases[target]
        if target in current:
            resolved[old] = target
    return resolved


def abstract_paragraphs(abstract: str | None) -> list[tuple[str | None, str]]:
    """Paragraphs of an abstract; "LABEL: text" sections keep their label apart."""
    paragraphs: list[tuple[str | None, str]] = []
    for block in re.split(r"\n\s*\n|\n", abstract or ""):
        text = one_line(block)
        if not text:
            continue
        match = _ABSTRACT_LABEL.match(text)
        if match and match.group(1) == match.group(1).upper():
            paragraphs.append((match.group(1), match.group(2)))
        else:
            paragraphs.append((None, text))
    return paragraphs


def group_by_design(
    studies: Iterable[StudyView], designs: tuple[Design, ...]
) -> list[tuple[Design, list[StudyView]]]:
    """Studies grouped by design, strongest design first, order kept within a group."""
    groups: dict[str, list[StudyView]] = {}
    for study in studies:
        groups.setdefault(design_of(study.design).slug, []).append(study)
    return [(d, groups[d.slug]) for d in designs if d.slug in groups]


# --------------------------------------------------------------------------- evidence map
# Volume (how many studies) and confidence (how big, how controlled, what the authors
# concluded) are shown apart, and nothing is coloured as if it meant "it works".
# Retracted studies are never counted: they are listed apart.

MAP_COMPARATORS: tuple[tuple[str, str], ...] = (
    ("sham", "Sham (simulated) acupuncture"),
    ("usual-care", "Usual care"),
    ("waitlist", "Waiting list or no treatment"),
    ("active", "Another active treatment (e.g. drugs, exercise)"),
    ("", "Comparison not stated"),
)
MAP_TRIAL_DESIGNS = ("rct", "non-randomized-trial")
MAP_WEIGHTY_DESIGNS = ("systematic-review", "rct")


@dataclass(frozen=True, slots=True)
class MapRow:
    """One condition of the evidence map; every count leaves retracted studies out."""

    slug: str
    label: str
    by_design: dict[str, int]
    by_comparator: dict[str, int]
    reviews: int
    rcts: int
    largest_rct: int | None
    sham_rcts: int
    directions: dict[str, int]  # over systematic reviews and RCTs
    registered: int  # trial registrations and protocols: plans, with no findings
    total: int
    retracted: tuple[StudyView, ...]

    @property
    def sham_share(self) -> str:
        if not self.rcts:
            return "no RCTs"
        return f"{self.sham_rcts} of {self.rcts} ({round(100 * self.sham_rcts / self.rcts)}%)"


@dataclass(frozen=True, slots=True)
class EvidenceMap:
    rows: tuple[MapRow, ...]
    designs: tuple[Design, ...]  # the design columns: any with a study, and SR and RCT
    comparators: tuple[tuple[str, str], ...] = MAP_COMPARATORS

    @property
    def retracted(self) -> tuple[tuple[MapRow, StudyView], ...]:
        return tuple((row, s) for row in self.rows for s in row.retracted)


def evidence_map(conditions: Iterable[ConditionView], designs: tuple[Design, ...]) -> EvidenceMap:
    """The map's rows from each condition's studies (a study counts once per condition)."""
    rows = []
    for condition in conditions:
        unique = list({s.slug: s for s in condition.studies}.values())
        counted = [s for s in unique if not s.retracted]
        by_design = {d.slug: 0 for d in designs}
        for study in counted:
            slug = design_of(study.design).slug
            by_design[slug] = by_design.get(slug, 0) + 1
        trials = [s for s in counted if s.design in MAP_TRIAL_DESIGNS]
        by_comparator = {slug: 0 for slug, _ in MAP_COMPARATORS}
        for study in trials:
            key = study.comparator if study.comparator in by_comparator else ""
            by_comparator[key] += 1
        rcts = [s for s in counted if s.design == "rct"]
        sizes = [s.sample_size for s in rcts if s.sample_size is not None]
        directions = {d: 0 for d in DIRECTIONS}
        for study in counted:
            if study.design in MAP_WEIGHTY_DESIGNS:
                directions[direction_of(study.key_finding).value] += 1
        rows.append(
            MapRow(
                slug=condition.slug,
                label=condition.label,
                by_design=by_design,
                by_comparator=by_comparator,
                reviews=by_design.get("systematic-review", 0),
                rcts=len(rcts),
                largest_rct=max(sizes) if sizes else None,
                sham_rcts=sum(1 for s in rcts if s.comparator == "sham"),
                directions=directions,
                registered=by_design.get("trial-registration", 0) + by_design.get("protocol", 0),
                total=len(counted),
                retracted=tuple(sorted((s for s in unique if s.retracted), key=lambda s: s.slug)),
            )
        )
    # the designs any row has, and always the two that carry most weight, so their gaps show
    shown = tuple(
        d
        for d in designs
        if d.slug in MAP_WEIGHTY_DESIGNS or any(row.by_design.get(d.slug) for row in rows)
    )
    return EvidenceMap(rows=tuple(rows), designs=shown)


def search_entry(study: StudyView) -> dict[str, Any]:
    ids = [f"PMID {study.pmid}" if study.pmid else "", study.doi or "", *study.nct_ids]
    return {
        "slug": study.slug,
        "title": one_line(study.title),
        "journal": one_line(study.journal),
        "year": (study.published or "")[:4],
        "design": study.design,
        "design_label": design_label(study),
        "conditions": [one_line(c.label) for c in study.conditions],
        "interventions": [one_line(i.label) for i in study.interventions],
        "key_finding": one_line(study.key_finding),
        "retracted": study.retracted,
        "ids": [i for i in ids if i],
    }


def site_settings_from_config(settings: Settings) -> SiteSettings:
    """The site's settings from sources.yaml (`digest:`)."""
    return SiteSettings(
        title=settings.digest.title,
        site_url=settings.digest.site_url,
        tag_authority=settings.digest.tag_authority,
        recent_weeks_on_home=settings.digest.recent_weeks_on_home,
    )


def build_site(site: SiteView) -> dict[str, bytes]:
    """Every file of the static archive, by relative path (sorted)."""
    return _Builder(site).build()
