"""Which studies the site has pages for, and where old slugs now point."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from digest.render.sanitize import is_iso_week, is_safe_slug
from digest.views import SiteView, StudyView

_MAX_ALIAS_HOPS = 20
# --------------------------------------------------------------------------- pieces


def check_names(site: SiteView) -> None:
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


def all_studies(site: SiteView) -> dict[str, StudyView]:
    """Every study any page shows gets a page; the first view of a slug wins."""
    studies: dict[str, StudyView] = {}
    for study in _iter_studies(site):
        studies.setdefault(study.slug, study)
    return studies


def resolve_aliases(aliases: Mapping[str, str], current: set[str]) -> dict[str, str]:
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
