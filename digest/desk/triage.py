"""Triage: staff decisions on a week's candidates, what the weekly send asks, and the
simple rule by which decisions feed the next week's order.

Per candidate: approve / hold / leave out (hold and leave out need a reason), relevance
and newsworthiness 1-7 (as McMaster PLUS's raters use), an optional "our take" note
(plain text, at most NOTE_MAX characters, the clinic's own words) and the scarce label
"changes the picture for <condition>", which needs a stated reason and is limited to
`max_labels` items a week.

The feedback rule (pure, `feedback_boosts` + `feedback_rank_key`):
    score of a past rated decision = (relevance - 4) + (newsworthiness - 4)   (-6 .. +6)
    boost of a (condition, design) pair = the mean score of the rated decisions on
        studies with that condition and that design in the last LOOKBACK_WEEKS weeks
        before this one, rounded to the nearest integer (0 when there are none)
    boost of a candidate = the largest boost over its conditions (its design fixed)
Design strength always comes first: the boost only reorders studies of the SAME design
(a loved case report never climbs above an RCT), before size, recency and slug.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from digest.desk import audit
from digest.desk.tables import TriageDecision, WeekSignOff
from digest.errors import DigestError
from digest.issue.rank import rank_key
from digest.model import utcnow
from digest.views import StudyView
from digest.weeks import parse_week

STATUSES = ("approved", "held", "left-out", "undecided")
NOTE_MAX = 600
REASON_MAX = 300
LOOKBACK_WEEKS = 12
DEFAULT_MAX_LABELS = 1
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class TriageError(DigestError):
    """A decision the desk refuses (no reason given, label limit reached, ...)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What the staff decided about one study of one week. `label` is the condition
    slug of "changes the picture for <condition>", or None."""

    slug: str
    status: str  # approved | held | left-out | undecided
    reason: str | None = None
    relevance: int | None = None
    newsworthiness: int | None = None
    note: str | None = None  # plain text: escape it when rendering; mark it as ours
    label: str | None = None
    label_reason: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Approval:
    """What the weekly send should do with a week.

    review "required": send only `approved_slugs`, and only once `ready`: the week was
    signed off on the desk, or the deadline passed (then the approved items go, and an
    empty approval means no issue). review "optional": `ready` is always True and every
    item goes except `held_slugs` and `left_out_slugs` (`include(slug)` says it)."""

    week: str
    required: bool
    approved_slugs: frozenset[str] = frozenset()
    held_slugs: frozenset[str] = frozenset()
    left_out_slugs: frozenset[str] = frozenset()
    signed_off_by: str | None = None
    signed_off_at: datetime | None = None
    deadline: datetime | None = None
    deadline_passed: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)  # slug -> condition slug

    @property
    def signed_off(self) -> bool:
        return self.signed_off_by is not None

    @property
    def ready(self) -> bool:
        return not self.required or self.signed_off or self.deadline_passed

    def include(self, slug: str) -> bool:
        if self.required:
            return slug in self.approved_slugs
        return slug not in self.held_slugs and slug not in self.left_out_slugs


# --------------------------------------------------------------------------- reading


def _rows(session: Session, week: str) -> list[TriageDecision]:
    query = select(TriageDecision).where(TriageDecision.week == week)
    return list(session.exec(query.order_by(col(TriageDecision.slug))).all())


def _decision(row: TriageDecision) -> Decision:
    return Decision(
        slug=row.slug,
        status=row.status,
        reason=row.reason,
        relevance=row.relevance,
        newsworthiness=row.newsworthiness,
        note=row.note,
        label=row.label_condition,
        label_reason=row.label_reason,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


def desk_decisions(session: Session, week: str) -> dict[str, Decision]:
    """Every decision made for `week`, by study slug (studies nobody touched are absent)."""
    return {row.slug: _decision(row) for row in _rows(session, week)}


def sign_off_of(session: Session, week: str) -> WeekSignOff | None:
    return session.exec(select(WeekSignOff).where(WeekSignOff.week == week)).first()


def week_approval(
    session: Session,
    week: str,
    review: str = "optional",
    deadline: datetime | None = None,
    now: datetime | None = None,
) -> Approval:
    """The desk's answer for the weekly send. `review` is the config's `review:` setting
    ("required" or "optional"); `deadline` (aware) is when the send goes ahead anyway."""
    if review not in ("required", "optional"):
        raise ValueError(f"review must be 'required' or 'optional', not {review!r}")
    now = now or utcnow()
    decisions = desk_decisions(session, week)
    by_status: dict[str, set[str]] = defaultdict(set)
    for decision in decisions.values():
        by_status[decision.status].add(decision.slug)
    sign_off = sign_off_of(session, week)
    return Approval(
        week=week,
        required=review == "required",
        approved_slugs=frozenset(by_status["approved"]),
        held_slugs=frozenset(by_status["held"]),
        left_out_slugs=frozenset(by_status["left-out"]),
        signed_off_by=sign_off.approved_by if sign_off else None,
        signed_off_at=sign_off.approved_at if sign_off else None,
        deadline=deadline,
        deadline_passed=deadline is not None and now >= deadline,
        labels={d.slug: d.label for d in decisions.values() if d.label},
    )


# --------------------------------------------------------------------------- writing


def clean_text(value: str | None, limit: int) -> str | None:
    """Plain text as typed, control characters removed, trimmed; None when empty."""
    if value is None:
        return None
    text = _CONTROL.sub("", value.replace("\r\n", "\n")).strip()
    if len(text) > limit:
        raise TriageError(f"at most {limit} characters, this has {len(text)}")
    return text or None


def _rating(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if not 1 <= value <= 7:
        raise TriageError(f"{name} is rated 1 to 7")
    return value


def decide(
    session: Session,
    week: str,
    study: StudyView,
    actor: str,
    *,
    status: str,
    reason: str | None = None,
    relevance: int | None = None,
    newsworthiness: int | None = None,
    note: str | None = None,
    label: str | None = None,
    label_reason: str | None = None,
    max_labels: int = DEFAULT_MAX_LABELS,
    now: datetime | None = None,
) -> Decision:
    """Record (or replace) the decision on one study of `week`, with an audit entry.
    The caller commits. Raises TriageError for a decision the rules refuse."""
    parse_week(week)
    if status not in STATUSES:
        raise TriageError(f"status must be one of {', '.join(STATUSES)}")
    reason = clean_text(reason, REASON_MAX)
    if status in ("held", "left-out") and not reason:
        raise TriageError("say why it is held or left out (the reason is kept)")
    note = clean_text(note, NOTE_MAX)
    label = (label or "").strip() or None
    label_reason = clean_text(label_reason, REASON_MAX)
    if label is not None:
        conditions = {tag.slug for tag in study.conditions}
        if label not in conditions:
            raise TriageError("the label names one of the study's own conditions")
        if not label_reason:
            raise TriageError("'changes the picture' needs a stated reason")
        if status != "approved":
            raise TriageError("only an approved item can carry 'changes the picture'")
        others = [r for r in _rows(session, week) if r.label_condition and r.slug != study.slug]
        if len(others) >= max_labels:
            raise TriageError(
                f"at most {max_labels} 'changes the picture' label(s) a week: "
                f"already on {', '.join(r.slug for r in others)}"
            )
    else:
        label_reason = None
    row = session.exec(
        select(TriageDecision).where(TriageDecision.week == week, TriageDecision.slug == study.slug)
    ).first() or TriageDecision(week=week, slug=study.slug)
    row.status, row.reason = status, reason
    row.relevance = _rating(relevance, "relevance")
    row.newsworthiness = _rating(newsworthiness, "newsworthiness")
    row.note, row.label_condition, row.label_reason = note, label, label_reason
    row.design, row.conditions = study.design, [tag.slug for tag in study.conditions]
    row.decided_by, row.decided_at = actor, now or utcnow()
    session.add(row)
    audit.record(
        session,
        actor,
        "decision",
        week=week,
        slug=study.slug,
        now=row.decided_at,
        status=status,
        reason=reason,
        relevance=row.relevance,
        newsworthiness=row.newsworthiness,
        note=note,
        label=label,
        label_reason=label_reason,
    )
    session.flush()
    return _decision(row)


def sign_off_week(
    session: Session, week: str, actor: str, now: datetime | None = None
) -> WeekSignOff:
    """Approve the week as a whole (idempotent: the first sign-off stays)."""
    parse_week(week)
    existing = sign_off_of(session, week)
    if existing is not None:
        return existing
    row = WeekSignOff(week=week, approved_by=actor, approved_at=now or utcnow())
    session.add(row)
    audit.record(session, actor, "approve-week", week=week, now=row.approved_at)
    session.flush()
    return row


# --------------------------------------------------------------------------- feedback


@dataclass(frozen=True, slots=True)
class PastRating:
    """One rated decision of an earlier week, as the feedback rule reads it."""

    design: str
    conditions: tuple[str, ...]
    relevance: int
    newsworthiness: int


def rating_score(relevance: int, newsworthiness: int) -> int:
    """(relevance - 4) + (newsworthiness - 4): 0 for a neutral 4/4, -6 .. +6."""
    return (relevance - 4) + (newsworthiness - 4)


def feedback_boosts(past: Iterable[PastRating]) -> dict[tuple[str, str], int]:
    """(condition, design) -> the rounded mean score of past ratings (pure)."""
    scores: dict[tuple[str, str], list[int]] = defaultdict(list)
    for rating in past:
        for condition in rating.conditions:
            scores[(condition, rating.design)].append(
                rating_score(rating.relevance, rating.newsworthiness)
            )
    return {key: round(sum(values) / len(values)) for key, values in scores.items()}


def boost_of(study: StudyView, boosts: Mapping[tuple[str, str], int]) -> int:
    """The largest boost over the study's conditions for its design; 0 if none."""
    values = [boosts.get((tag.slug, study.design), 0) for tag in study.conditions]
    return max(values, default=0)


def feedback_rank_key(
    study: StudyView, boosts: Mapping[tuple[str, str], int]
) -> tuple[int, int, int, int, tuple[int, int, int], str]:
    """The digest's rank key with the boost inserted right after design strength."""
    strength, *rest = rank_key(study)
    return (strength, -boost_of(study, boosts), *rest)  # type: ignore[return-value]


def feedback_order(
    studies: Sequence[StudyView], boosts: Mapping[tuple[str, str], int]
) -> list[StudyView]:
    return sorted(studies, key=lambda study: feedback_rank_key(study, boosts))


def past_ratings(session: Session, week: str, lookback: int = LOOKBACK_WEEKS) -> list[PastRating]:
    """Rated decisions of the `lookback` weeks before `week` (not `week` itself)."""
    monday, _ = parse_week(week)
    earlier = {
        f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}"
        for d in (monday.fromordinal(monday.toordinal() - 7 * n) for n in range(1, lookback + 1))
    }
    query = select(TriageDecision).where(col(TriageDecision.week).in_(sorted(earlier)))
    return [
        PastRating(row.design or "other", tuple(row.conditions), row.relevance, row.newsworthiness)
        for row in session.exec(query).all()
        if row.relevance is not None and row.newsworthiness is not None
    ]


def next_order(session: Session, week: str) -> Callable[[Sequence[StudyView]], list[StudyView]]:
    """The order the issue of `week` uses: `feedback_order` with the boosts of the rated
    decisions of the weeks before it (the rule in this module's docstring)."""
    boosts = feedback_boosts(past_ratings(session, week))
    return lambda studies: feedback_order(studies, boosts)
