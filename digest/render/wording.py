"""Dates, counts and text in the digest's wording: one place so every format says it alike."""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime

from digest.render import sanitize

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

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
    "sham": "sham (simulated) or placebo acupuncture",
    "usual-care": "usual care",
    "waitlist": "waiting list or no treatment",
    "active": "another active treatment",
}


def comparator_label(slug: str | None) -> str:
    return COMPARATOR_LABELS.get(slug or "", (slug or "").replace("-", " "))


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
