"""What every renderer shares: url building, date wording, labels, the Jinja environments."""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import jinja2

from digest.render import sanitize
from digest.views import DESIGNS, Design, Link, StudyView, design_of

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Labels for badges the classifier may set; unknown badges read as their words.
BADGE_LABELS = {
    "large-sample": "Large sample",
    "small-sample": "Small sample",
    "sham-controlled": "Sham-controlled",
    "preprint": "Preprint: not peer reviewed",
    "retracted": "Retracted",
    "erratum": "Correction published",
    "has-results": "Results posted",
    "multicenter": "Multicentre",
}

RELATED_LABELS = {
    "registration": "Trial registration",
    "protocol": "Protocol",
    "results": "Results paper",
    "secondary-analysis": "Secondary analysis",
    "erratum": "Erratum",
    "retraction": "Retraction notice",
    "retracts": "Retracts",
    "corrects": "Corrects",
    "comment": "Comment",
    "published-version": "Published version",
    "preprint": "Preprint version",
}


class Urls:
    """Where things live, relative (`../../`) for site pages or absolute for mail/feeds.

    `known_studies`, when given, is the set of slugs that have a page; `study_if_known`
    returns None for the others so no page links to a page that does not exist.
    """

    def __init__(self, base: str, known_studies: frozenset[str] | None = None) -> None:
        self.base = base
        self.known_studies = known_studies

    def _at(self, path: str) -> str:
        return (self.base + path) or "./"

    def home(self) -> str:
        return self._at("")

    def digest(self, week: str) -> str:
        return self._at(f"digests/{quote(week)}/")

    def archive(self) -> str:
        return self._at("digests/")

    def study(self, slug: str) -> str:
        return self._at(f"studies/{quote(slug, safe='')}/")

    def study_if_known(self, slug: str) -> str | None:
        if self.known_studies is not None and slug not in self.known_studies:
            return None
        return self.study(slug)

    def citation(self, slug: str, extension: str) -> str:
        return self._at(f"studies/{quote(slug, safe='')}/citation.{extension}")

    def studies(self) -> str:
        return self._at("studies/")

    def condition(self, slug: str) -> str:
        return self._at(f"conditions/{quote(slug, safe='')}/")

    def condition_feed(self, slug: str) -> str:
        return self._at(f"conditions/{quote(slug, safe='')}/feed.xml")

    def conditions(self) -> str:
        return self._at("conditions/")

    def feed(self) -> str:
        return self._at("feed.xml")

    def search(self) -> str:
        return self._at("search/")

    def evidence_map(self) -> str:
        return self._at("evidence-map/")

    def static(self, name: str) -> str:
        return self._at(f"static/{name}")


# --------------------------------------------------------------------------- wording


def published_text(iso: str | None) -> str:
    """'2018-05-17' -> '17 May 2018', '2017-06' -> 'Jun 2017', '2013' -> '2013'."""
    if not iso:
        return "date not stated"
    parts = iso.split("-")
    try:
        numbers = [int(p) for p in parts[:3]]
    except ValueError:
        return sanitize.one_line(iso)
    if len(numbers) >= 2 and 1 <= numbers[1] <= 12:
        month = MONTHS[numbers[1] - 1]
        if len(numbers) == 3:
            return f"{numbers[2]} {month} {numbers[0]}"
        return f"{month} {numbers[0]}"
    return str(numbers[0])


def day_text(value: date) -> str:
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def period_text(start: date, end: date) -> str:
    """'16–22 Nov 2026', '30 Nov – 6 Dec 2026', '29 Dec 2025 – 4 Jan 2026'."""
    if start.year != end.year:
        return f"{day_text(start)} – {day_text(end)}"
    if start.month != end.month:
        return f"{start.day} {MONTHS[start.month - 1]} – {day_text(end)}"
    return f"{start.day}–{day_text(end)}"


def rfc3339(value: datetime) -> str:
    """An aware datetime as RFC 3339 in UTC ('2026-11-23T06:00:00Z'); naive = UTC."""
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def sample_size_text(n: int | None) -> str:
    return f"n = {n:,}" if n is not None else "n not stated"


COMPARATOR_LABELS = {
    "sham": "sham or placebo needling",
    "usual-care": "usual care",
    "waitlist": "waiting list or no treatment",
    "active": "another active treatment",
}


def comparator_label(slug: str | None) -> str:
    return COMPARATOR_LABELS.get(slug or "", (slug or "").replace("-", " "))


def badge_label(slug: str) -> str:
    return BADGE_LABELS.get(slug, slug.replace("-", " ").capitalize())


def related_label(kind: str) -> str:
    return RELATED_LABELS.get(kind, kind.replace("-", " ").capitalize())


def design_label(study: StudyView) -> str:
    return study.design_label or design_of(study.design).label


def design_tier(study: StudyView) -> str:
    return design_of(study.design).tier


def no_results_yet(study: StudyView) -> bool:
    """Registrations and protocols have no findings to report, by their nature."""
    return study.design in ("trial-registration", "protocol")


NO_RESULTS_TEXT = {
    "trial-registration": "No results yet: this is a trial registration (the plan of a study).",
    "protocol": "No results yet: this is a study protocol (the plan of a study).",
}


def no_results_text(study: StudyView) -> str:
    return NO_RESULTS_TEXT.get(study.design, "No results yet.")


def study_links(study: StudyView) -> tuple[Link, ...]:
    """PubMed, DOI, PMC and registry links from the ids, then the extra links; http(s) only."""
    links: list[Link] = []
    for kind, label, url in (
        ("pubmed", f"PubMed {study.pmid}", sanitize.pubmed_url(study.pmid)),
        ("doi", f"DOI {study.doi}", sanitize.doi_url(study.doi)),
        ("pmc", f"PubMed Central {study.pmcid}", sanitize.pmc_url(study.pmcid)),
    ):
        if url:
            links.append(Link(kind, label, url))
    for nct in study.nct_ids:
        url = sanitize.registry_url(nct)
        if url:
            links.append(Link("registry", f"ClinicalTrials.gov {nct.upper()}", url))
    for link in study.links:
        url = sanitize.safe_url(link.url)
        if url:
            links.append(Link(link.kind, link.label, url))
    unique: dict[str, Link] = {}
    for link in links:
        unique.setdefault(link.url, link)  # the first link to a url wins
    return tuple(unique.values())


def wrap_text(text: str | None, first: str = "", rest: str = "", width: int = 72) -> str:
    """One paragraph folded at `width`; urls and long words are never broken."""
    return textwrap.fill(
        sanitize.one_line(text),
        width=width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )


def authors_text(authors: tuple[str, ...], limit: int = 6) -> str:
    if not authors:
        return ""
    shown = ", ".join(authors[:limit])
    return f"{shown}, et al." if len(authors) > limit else shown


# --------------------------------------------------------------------------- Jinja


@dataclass(frozen=True, slots=True)
class _Helpers:
    """Functions templates call; kept in one place so every format words things alike."""

    published: Callable[[str | None], str] = published_text
    day: Callable[[date], str] = day_text
    period: Callable[[date, date], str] = period_text
    sample_size: Callable[[int | None], str] = sample_size_text
    badge: Callable[[str], str] = badge_label
    related: Callable[[str], str] = related_label
    design_label: Callable[[StudyView], str] = design_label
    tier: Callable[[StudyView], str] = design_tier
    no_results_yet: Callable[[StudyView], bool] = no_results_yet
    no_results_text: Callable[[StudyView], str] = no_results_text
    links: Callable[[StudyView], tuple[Link, ...]] = study_links
    safe_url: Callable[[str | None], str | None] = sanitize.safe_url
    authors: Callable[..., str] = authors_text


HELPERS = _Helpers()


def _globals() -> dict[str, Any]:
    designs: tuple[Design, ...] = DESIGNS
    return {"h": HELPERS, "designs": designs}


def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("digest", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(_globals())
    env.filters["comparator"] = comparator_label
    return env


@functools.cache
def html_env() -> jinja2.Environment:
    """HTML: autoescape on, undefined names are errors."""
    return _environment(autoescape=True)


@functools.cache
def text_env() -> jinja2.Environment:
    """Markdown and plain text: no HTML escaping; templates escape Markdown with `md`."""
    env = _environment(autoescape=False)
    env.filters["md"] = sanitize.markdown_escape
    env.filters["line"] = sanitize.one_line
    env.filters["wrap"] = wrap_text
    env.filters["badge"] = badge_label
    return env
