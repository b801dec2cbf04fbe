"""What the evidence in this archive shows for one condition, built only from extracted
facts (designs, comparators, sizes, verbatim conclusions, registry status). Pure.

Worded as what research exists, never as what acupuncture treats: the ASA upheld
complaints against clinic pages that listed conditions linked to research.
"""

from __future__ import annotations

from dataclasses import dataclass

from digest.views import ConditionView, StudyView

COMPARATOR_WORDS = {
    "sham": "sham (simulated) acupuncture or placebo",
    "usual-care": "usual care",
    "waitlist": "a waiting list or no treatment",
    "active": "another active treatment",
}
_UNDER_WAY = frozenset(
    {"RECRUITING", "NOT_YET_RECRUITING", "ACTIVE_NOT_RECRUITING", "ENROLLING_BY_INVITATION"}
)


@dataclass(frozen=True, slots=True)
class ConditionSummary:
    reviews: int
    rcts: int
    rcts_by_comparator: tuple[tuple[str, int], ...]  # (reader words, count), every comparator
    newest_review: StudyView | None  # the newest systematic review stating a conclusion
    largest_sham_trial: StudyView | None
    under_way: tuple[StudyView, ...]  # registrations still recruiting or running
    retracted: tuple[StudyView, ...]
    gaps: tuple[str, ...]  # what this archive has no study of, in words


def summarise(condition: ConditionView) -> ConditionSummary:
    counted = [s for s in condition.studies if not s.retracted]
    reviews = [s for s in counted if s.design == "systematic-review"]
    rcts = [s for s in counted if s.design == "rct"]
    by_comparator = tuple(
        (words, sum(1 for s in rcts if s.comparator == key))
        for key, words in COMPARATOR_WORDS.items()
    )
    unstated = sum(1 for s in rcts if s.comparator not in COMPARATOR_WORDS)
    newest = max(
        (s for s in reviews if s.key_finding),
        key=lambda s: (s.published or "", s.slug),
        default=None,
    )
    sham = [s for s in rcts if s.comparator == "sham" and s.sample_size]
    largest = max(sham, key=lambda s: (s.sample_size or 0, s.slug), default=None)
    under_way = tuple(
        s
        for s in counted
        if s.registration is not None and (s.registration.status or "").upper() in _UNDER_WAY
    )
    gaps = []
    if not reviews:
        gaps.append("no systematic review")
    gaps += [f"no randomised trial against {words}" for words, n in by_comparator if n == 0]
    if unstated:  # honest about what the abstracts did not say
        by_comparator += (("comparison not stated", unstated),)
    return ConditionSummary(
        reviews=len(reviews),
        rcts=len(rcts),
        rcts_by_comparator=by_comparator,
        newest_review=newest,
        largest_sham_trial=largest,
        under_way=under_way,
        retracted=tuple(s for s in condition.studies if s.retracted),
        gaps=tuple(gaps),
    )
