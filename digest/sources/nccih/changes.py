"""What changed between two snapshots of an NCCIH page, by section, in words."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from digest.sources.changes import Change, changed_fields, generic_change
from digest.sources.text import collapse_whitespace

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9“\"(])|\n+")
_CHANGE_SNIPPET = 160


@dataclass(slots=True)
class PageDiff:
    """What changed between two snapshots of a page, by section heading."""

    page_title: str = ""
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def summary(self) -> str:
        topic = self.page_title.split(":")[0].strip() or "this page"
        if self.is_empty:
            return f"No change to NCCIH guidance on {topic}"
        parts = []
        if self.changed:
            names = ", ".join(heading for heading, _ in self.changed)
            parts.append(f"{_count(len(self.changed), 'section')} changed ({names})")
        if self.added:
            parts.append(f"{len(self.added)} added ({', '.join(self.added)})")
        if self.removed:
            parts.append(f"{len(self.removed)} removed ({', '.join(self.removed)})")
        return f"NCCIH updated its guidance on {topic}: {', '.join(parts)}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _keyed(sections: list[dict[str, Any]]) -> dict[str, str]:
    """heading -> normalized text; repeated headings get ' (2)', ' (3)' so none is lost."""
    keyed: dict[str, str] = {}
    for section in sections:
        heading = collapse_whitespace(str(section.get("heading") or "")) or "(introduction)"
        key, number = heading, 1
        while key in keyed:
            number += 1
            key = f"{heading} ({number})"
        keyed[key] = str(section.get("text") or "")
    return keyed


def _sentences(text: str) -> list[str]:
    return [s for s in (collapse_whitespace(p) for p in _SENTENCE_END.split(text)) if s]


def _shorten(text: str) -> str:
    return text if len(text) <= _CHANGE_SNIPPET else text[: _CHANGE_SNIPPET - 1].rstrip() + "…"


def first_change(old_text: str, new_text: str) -> str:
    """The first sentence that differs, readable: the new wording, or what was removed."""
    old, new = _sentences(old_text), _sentences(new_text)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, a_start, _a_end, b_start, _b_end in matcher.get_opcodes():
        if op in ("replace", "insert"):
            return _shorten(new[b_start])
        if op == "delete":
            return "removed: " + _shorten(old[a_start])
    return "wording changed"


def diff_sections(
    old_sections: list[dict[str, Any]], new_sections: list[dict[str, Any]], page_title: str = ""
) -> PageDiff:
    """Compare two extra["sections"] lists; whitespace-only edits are not changes.
    Without `page_title` the page's h1 (its level-1 section) names the page."""
    old, new = _keyed(old_sections), _keyed(new_sections)
    h1 = next((str(s.get("heading")) for s in new_sections if s.get("level") == 1), "")
    diff = PageDiff(page_title=page_title or h1)
    diff.added = [heading for heading in new if heading not in old]
    diff.removed = [heading for heading in old if heading not in new]
    for heading, text in new.items():
        before = old.get(heading)
        if before is not None and _sentences(before) != _sentences(text):
            diff.changed.append((heading, first_change(before, text)))
    return diff


def describe_page_change(old: dict[str, Any], new: dict[str, Any]) -> Change | None:
    """A watched page's sections added, removed or changed."""
    page_diff = diff_sections(
        old.get("extra", {}).get("sections", []), new.get("extra", {}).get("sections", [])
    )
    if page_diff.is_empty:
        return generic_change(changed_fields(old, new))
    return page_diff.summary(), {
        "added": page_diff.added,
        "removed": page_diff.removed,
        "changed": [list(item) for item in page_diff.changed],
        "notable": True,
    }
