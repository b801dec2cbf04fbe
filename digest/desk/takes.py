"""The clinic's words on an issue: the staff's "our take" notes and "changes the picture"
labels put on the studies of the issue that goes out (pure; no database, no I/O).

A take is attached only to items that go out, and only from the decision on that item
in that week: a note staff wrote on an item they then left out is never published.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from digest.desk.triage import Decision
from digest.views import DigestView, StaffTake, StudyView


def take_of(study: StudyView, decision: Decision | None, week: str) -> StaffTake | None:
    """The decision's note and label as a StaffTake, or None when staff said nothing."""
    if decision is None or not (decision.note or decision.label):
        return None
    label = next((tag for tag in study.conditions if tag.slug == decision.label), None)
    return StaffTake(
        note=decision.note,
        label=label,
        label_reason=decision.label_reason if label else None,
        week=week,
    )


def with_takes(view: DigestView, decisions: Mapping[str, Decision]) -> DigestView:
    """The issue with each study carrying the clinic's take from this week's decision."""

    def attach(study: StudyView) -> StudyView:
        take = take_of(study, decisions.get(study.slug), view.week)
        return dataclasses.replace(study, take=take) if take != study.take else study

    sections = tuple(
        dataclasses.replace(section, studies=tuple(attach(s) for s in section.studies))
        for section in view.sections
    )
    return dataclasses.replace(view, sections=sections)


def latest_takes(issues: Iterable[DigestView]) -> dict[str, StaffTake]:
    """slug -> the take of the newest sent weekly issue that carried one (for the
    site's study pages); `issues` in any order."""
    takes: dict[str, tuple[str, StaffTake]] = {}
    for issue in issues:
        if issue.month:  # a monthly issue repeats its weeks' takes
            continue
        for study in issue.studies():
            if study.take is not None:
                current = takes.get(study.slug)
                if current is None or current[0] < issue.week:
                    takes[study.slug] = (issue.week, study.take)
    return {slug: take for slug, (_week, take) in takes.items()}
