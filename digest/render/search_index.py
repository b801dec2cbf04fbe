"""The site search index: one entry per study page."""

from __future__ import annotations

from typing import Any

from digest.render.labels import design_label
from digest.render.sanitize import one_line
from digest.views import StudyView


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
