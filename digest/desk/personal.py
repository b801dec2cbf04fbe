"""Each subscriber's own copy of an issue, and the monthly issue (pure).

- `for_subscriber`: the issue with only the new-study items `wants` allows for these
  preferences. Corrections (retractions, errata of studies sent before), changed
  registrations, guidance changes and the run-health line always stay: a correction
  must reach everyone who may have read the original.
- `month_issue`: a month's weekly issues as sent, in one: each study once (under the
  first week that carried it), in their sent order, with every correction.
  A week belongs to the month its Thursday falls in (ISO 8601's rule for years).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from datetime import date, timedelta

from digest.desk.subscribe import Preferences, wants
from digest.views import ConditionSection, DigestView, SourceHealth, StudyView
from digest.weeks import parse_week


def for_subscriber(issue: DigestView, preferences: Preferences) -> DigestView:
    if preferences == Preferences(frequency=preferences.frequency):
        return issue  # everything: the generic copy, rendered once
    sections = tuple(
        dataclasses.replace(s, studies=tuple(x for x in s.studies if wants(preferences, x)))
        for s in issue.sections
    )
    return dataclasses.replace(issue, sections=tuple(s for s in sections if s.studies))


def nothing_for_them(generic: DigestView, personal: DigestView) -> bool:
    """The issue had items, none of them wanted, and no correction: nothing to mail
    (an empty email would read as a quiet week, which it was not)."""
    return bool(generic.sections) and not personal.sections and not personal.corrections


def month_of_week(week: str) -> str:
    """'2026-W48' -> '2026-11': the month of the week's Thursday."""
    monday, _ = parse_week(week)
    thursday = monday + timedelta(days=3)
    return f"{thursday.year}-{thursday.month:02d}"


def month_key(month: str) -> str:
    """The delivery ledger's key of a monthly issue: '2026-11' -> '2026-M11'."""
    year, number = month.split("-")
    return f"{year}-M{number}"


def month_bounds(month: str) -> tuple[date, date]:
    year, number = (int(part) for part in month.split("-"))
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    return first, following - timedelta(days=1)


def _merged_health(weeks: Sequence[DigestView]) -> tuple[SourceHealth, ...]:
    totals: dict[str, SourceHealth] = {}
    for week in weeks:
        for row in week.health:
            old = totals.get(row.source)
            if old is None:
                totals[row.source] = row
            else:  # counts add up; the latest week says whether it failed
                totals[row.source] = SourceHealth(
                    row.source, old.fetched + row.fetched, old.new + row.new, row.failed, row.error
                )
    return tuple(sorted(totals.values()))


def monthly_title(title: str) -> str:
    """The configured title said of a month: "…: weekly evidence digest" would be untrue."""
    return re.sub(
        r"\b(weekly|week)\b",
        lambda m: (
            {"weekly": "monthly", "week": "month"}[m.group(1).lower()].capitalize()
            if m.group(1)[0].isupper()
            else {"weekly": "monthly", "week": "month"}[m.group(1).lower()]
        ),
        title,
        flags=re.IGNORECASE,
    )


def month_issue(month: str, weeks: Sequence[DigestView], title: str) -> DigestView:
    """The monthly issue from the month's weekly issues as sent (oldest week first)."""
    first, last = month_bounds(month)
    ordered = sorted(weeks, key=lambda w: w.week)
    seen: set[str] = set()
    by_condition: dict[str, tuple[str, list[StudyView]]] = {}
    for week in ordered:
        for section in week.sections:
            _label, studies = by_condition.setdefault(section.slug, (section.label, []))
            for study in section.studies:
                key = f"{section.slug}/{study.slug}"
                if key not in seen:
                    seen.add(key)
                    studies.append(study)
    sections = tuple(
        ConditionSection(slug, label, tuple(studies))
        for slug, (label, studies) in by_condition.items()
        if studies
    )
    return DigestView(
        week=month_key(month),
        title=monthly_title(title),
        period_start=first,
        period_end=last,
        built_at=max(w.built_at for w in ordered),
        sections=sections,
        registrations_changed=tuple(c for w in ordered for c in w.registrations_changed),
        guidance_changes=tuple(c for w in ordered for c in w.guidance_changes),
        corrections=tuple(c for w in ordered for c in w.corrections),
        health=_merged_health(ordered),
        out_of_scope_count=sum(w.out_of_scope_count for w in ordered),
        month=month,
    )
