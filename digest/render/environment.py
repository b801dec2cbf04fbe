"""The Jinja environments (HTML and text) and the helpers every template calls."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import jinja2

from digest.classify.direction import Direction
from digest.render import sanitize
from digest.render.glossary import glossary_anchor
from digest.render.labels import (
    arm_label,
    asserted_text,
    badge_label,
    conclusion_direction,
    design_label,
    design_tier,
    no_results_text,
    no_results_yet,
    plain_lead,
    related_label,
    retracted_prefix,
    shown_badges,
    shows_n,
    study_links,
)
from digest.render.provenance import failure_notice, how_made_line, recheck_line, source_label
from digest.render.registry import (
    enrolment_text,
    registry_summary,
    results_paper_label,
    results_search_url,
    results_summary,
    trial_status,
)
from digest.render.wording import (
    authors_text,
    comparator_label,
    day_text,
    period_text,
    published_text,
    sample_size_text,
    wrap_text,
)
from digest.views import (
    DESIGNS,
    Design,
    DigestView,
    Link,
    RegistrationView,
    ResultsPaper,
    StudyView,
)

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
    asserted: Callable[[str], str] = asserted_text
    design_label: Callable[[StudyView], str] = design_label
    tier: Callable[[StudyView], str] = design_tier
    no_results_yet: Callable[[StudyView], bool] = no_results_yet
    no_results_text: Callable[[StudyView], str] = no_results_text
    links: Callable[[StudyView], tuple[Link, ...]] = study_links
    safe_url: Callable[[str | None], str | None] = sanitize.safe_url
    authors: Callable[..., str] = authors_text
    lead: Callable[[StudyView], str] = plain_lead
    status: Callable[[RegistrationView], tuple[str, str]] = trial_status
    enrolment: Callable[[RegistrationView], str] = enrolment_text
    arm: Callable[[str | None], str] = arm_label
    results_search: Callable[[str], str] = results_search_url
    paper: Callable[[ResultsPaper], str] = results_paper_label
    pubmed_url: Callable[[str | None], str | None] = sanitize.pubmed_url
    registry_url: Callable[[str | None], str | None] = sanitize.registry_url
    source: Callable[[str], str] = source_label
    how_made: Callable[[DigestView], str] = how_made_line
    recheck_line: Callable[[DigestView], str | None] = recheck_line
    failure: Callable[[DigestView], str | None] = failure_notice
    gloss: Callable[[str], str | None] = glossary_anchor
    direction: Callable[[StudyView], Direction] = conclusion_direction
    shown_badges: Callable[[StudyView], tuple[str, ...]] = shown_badges
    shows_n: Callable[[StudyView], bool] = shows_n
    retracted_prefix: Callable[[StudyView], bool] = retracted_prefix
    registry_summary: Callable[[RegistrationView], str] = registry_summary
    results_summary: Callable[[RegistrationView], tuple[str, tuple[str, ...]]] = results_summary


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
