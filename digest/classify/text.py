"""Abstract text as labelled sections and sentences, each with its offsets in the source.

Offsets matter: the key finding is cut out of the abstract by offsets, so it is always a
verbatim substring. Abstracts come as PRODUCT.md says (`LABEL: text` paragraphs separated
by a blank line), but RSS and imports also give one paragraph with inline `METHODS:`
labels, or a heading alone on its line (HTML `<h4>` turned into text); all three are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# What a section is for, from its label. Order matters: the first match wins
# ("conclusions and relevance" is conclusions, "data collection and analysis" methods).
_SECTION_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("admin", re.compile(r"regist|funding|prospero|level of evidence|keywords|copyright")),
    ("protocol", re.compile(r"ethics and dissemination")),
    ("conclusions", re.compile(r"conclu|interpretation|implication|relevance|take[- ]home")),
    ("discussion", re.compile(r"discussion|summary|comment")),
    ("background", re.compile(r"background|introduction|context|rationale|importance|issue")),
    ("objective", re.compile(r"objective|aim|purpose|goal|question|hypothes")),
    ("results", re.compile(r"result|finding")),
    (
        "methods",
        re.compile(
            r"method|design|setting|participant|patient|subject|intervention|measure|search|"
            r"selection|data|eligib|material|procedure|analys|source|population|sample|"
            r"outcome|exposure|approach|case|presentation|description|diagnos|treatment"
        ),
    ),
)

# `LABEL: text` at the start of a paragraph: short, and either known or in capitals.
_LEADING_LABEL = re.compile(r"([A-Z][A-Za-z0-9 ,'’&/()\-]{1,70}?)\s*:\s+")
# Inline labels inside one paragraph: capitals (`METHODS:`) or well-known title-case ones.
_INLINE_LABEL = re.compile(
    r"(?:(?<=[.!?)\]])\s+|^)"
    r"((?:[A-Z][A-Z'’&/,\- ]{2,60}[A-Z])|"
    r"(?:Background|Objectives?|Aims?|Purpose|Introduction|Context|Methods?|Design|"
    r"Setting|Participants|Interventions?|Results?|Findings|Conclusions?|Interpretation|"
    r"Discussion|Trial registration|Materials and methods|Patients and methods))"
    r"\s*:\s+"
)
_PARAGRAPH = re.compile(r"\S(?:.*?)(?=\n[ \t]*\n|\Z)", re.DOTALL)

# A full stop after these is not the end of a sentence.
_ABBREVIATIONS = frozenset(
    {
        "e.g", "i.e", "vs", "etc", "al", "fig", "figs", "no", "nos", "approx", "dr", "st",
        "mr", "mrs", "ms", "prof", "ca", "cf", "resp", "ref", "refs", "vol", "eq", "min",
        "max", "sd", "se", "inc", "ltd", "co", "jr", "sr", "viz", "u.s", "u.k", "e.u",
    }
)  # fmt: skip
_SENTENCE_END = re.compile(r"[.!?](?:[\"”’)\]]*)\s+(?=[\"“(\[]?[A-Z0-9])")


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of a title or abstract; `start`/`end` are offsets into its source text."""

    text: str
    start: int
    end: int
    section: str  # title | background | objective | methods | results | conclusions | ...


@dataclass(frozen=True, slots=True)
class Section:
    """A labelled (or unlabelled) part of an abstract; offsets are of its body."""

    label: str | None
    kind: str
    start: int
    end: int


def section_kind(label: str | None) -> str:
    """'CONCLUSIONS AND RELEVANCE' -> 'conclusions'; None -> 'unlabelled'."""
    if not label:
        return "unlabelled"
    lowered = label.lower()
    for kind, pattern in _SECTION_KINDS:
        if pattern.search(lowered):
            return kind
    return "other"


def _looks_like_label(label: str) -> bool:
    words = label.split()
    return 0 < len(words) <= 8 and (label.isupper() or section_kind(label) != "other")


def split_sections(abstract: str) -> list[Section]:
    """Sections of an abstract, in order, with offsets of their bodies."""
    sections: list[Section] = []
    pending_heading: str | None = None
    for paragraph in _PARAGRAPH.finditer(abstract):
        start, end = paragraph.start(), paragraph.end()
        while end > start and abstract[end - 1].isspace():
            end -= 1
        body = abstract[start:end]
        if _is_bare_heading(body):
            pending_heading = body.rstrip(":")
            continue
        label = pending_heading
        pending_heading = None
        leading = _LEADING_LABEL.match(body)
        if leading and _looks_like_label(leading.group(1)):
            label = leading.group(1)
            start += leading.end()
        sections.extend(_split_inline(abstract, start, end, label))
    return sections


def _is_bare_heading(body: str) -> bool:
    """A heading alone on its paragraph (what an HTML <h4> becomes): short, no full stop."""
    words = body.rstrip(":").split()
    return 0 < len(words) <= 5 and body[-1] not in ".!?" and section_kind(body) != "other"


def _split_inline(text: str, start: int, end: int, label: str | None) -> list[Section]:
    """One paragraph -> sections at inline labels such as '... METHODS: ...'."""
    sections: list[Section] = []
    current_label, current_start = label, start
    for match in _INLINE_LABEL.finditer(text, start, end):
        candidate = match.group(1)
        if not _looks_like_label(candidate) or section_kind(candidate) == "other":
            continue
        if match.start(1) > current_start:
            sections.append(_section(current_label, current_start, match.start(1), text))
        current_label, current_start = candidate, match.end()
    if end > current_start:
        sections.append(_section(current_label, current_start, end, text))
    return [s for s in sections if s.end > s.start]


def _section(label: str | None, start: int, end: int, text: str) -> Section:
    while end > start and text[end - 1].isspace():
        end -= 1
    return Section(label=label, kind=section_kind(label), start=start, end=end)


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of text[start:end]."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        stop = match.start() + 1
        while stop < match.end() and not text[stop].isspace():
            stop += 1  # keep closing quotes and brackets with their sentence
        if _ends_with_abbreviation(text[cursor:stop]):
            continue
        spans.append((cursor, stop))
        cursor = match.end()
    if cursor < end and text[cursor:end].strip():
        spans.append((cursor, end))
    return [_trim(text, s, e) for s, e in spans if text[s:e].strip()]


def _ends_with_abbreviation(chunk: str) -> bool:
    words = chunk.rstrip('.!?"”’)]').split()
    if not words:
        return True
    last = words[-1].lower().rstrip(".")
    # a lone capital is an initial ("J. Smith"); a decimal cannot end here (no space after)
    return last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def abstract_sentences(abstract: str | None) -> list[Sentence]:
    """Every sentence of an abstract with the kind of section it is in."""
    if not abstract:
        return []
    sentences: list[Sentence] = []
    for section in split_sections(abstract):
        for start, end in split_sentences(abstract, section.start, section.end):
            sentences.append(Sentence(abstract[start:end], start, end, section.kind))
    return sentences


def mesh_key(value: str) -> str:
    """'*Acupuncture Therapy/methods' -> 'acupuncture therapy' (descriptor, lower case)."""
    return " ".join(value.split("/")[0].strip("* ").lower().split())


def title_sentence(title: str) -> list[Sentence]:
    """The title as one pseudo-sentence (empty list for an empty title)."""
    stripped = title.strip()
    return [Sentence(stripped, 0, len(stripped), "title")] if stripped else []
