"""Pieces of the study and condition pages: abstract paragraphs, studies grouped by design."""

from __future__ import annotations

import re
from collections.abc import Iterable

from digest.render.sanitize import one_line
from digest.views import Design, StudyView, design_of

_ABSTRACT_LABEL = re.compile(r"^([A-Z][A-Z0-9 ,/&()'-]{1,60}):\s+(.+)$", re.DOTALL)


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
