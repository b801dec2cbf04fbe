"""Helpers shared by the ClinicalTrials.gov parsers (API v2 JSON, legacy XML) and the
change describer: loose JSON access, CT.gov Markdown, the results papers a study cites.
"""

from __future__ import annotations

import re
from typing import Any

from digest.model import Relation
from digest.sources.text import (
    collapse_whitespace,
    drop_markup,
)

SOURCE = "clinicaltrials"


STUDY_URL = "https://clinicaltrials.gov/study/{nct}"


# CT.gov v2 "markup" fields are Markdown: punctuation is backslash-escaped (`\>`, `\[`).
_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>&|~=])")


def markdown_to_text(value: str | None) -> str | None:
    """CT.gov Markdown -> plain text: unescape punctuation, keep paragraphs and list lines."""
    if not value:
        return None
    text = _MARKDOWN_ESCAPE.sub(r"\1", value).replace("\r\n", "\n")
    paragraphs = [
        "\n".join(line.strip() for line in block.splitlines() if line.strip())
        for block in re.split(r"\n\s*\n", text)
    ]
    return drop_markup("\n\n".join(p for p in paragraphs if p)) or None


def title_text(value: Any) -> str:
    return drop_markup(collapse_whitespace(value)) if isinstance(value, str) else ""


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def strings_of(value: Any) -> list[str]:
    return [v for v in as_list(value) if isinstance(v, str)]


def results_relations(references: list[dict[str, Any]]) -> list[Relation]:
    """The results papers a registration cites (RESULT and DERIVED references), typed;
    `target_retracted` when the registry lists a retraction of the paper."""
    return [
        Relation(
            "results-in",
            pmid=ref["pmid"],
            note=str(ref.get("type") or "").upper(),
            target_retracted=bool(ref.get("retractions")),
        )
        for ref in references
        if ref.get("pmid") and str(ref.get("type") or "").upper() in ("RESULT", "DERIVED")
    ]


def unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))
