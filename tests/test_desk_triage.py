"""Triage storage and rules on SQLite and PostgreSQL, with the five genuine
ClinicalTrials.gov acupuncture registrations as the week's candidates; the feedback rule
and Approval as pure functions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from digest.desk import audit
from digest.desk.tables import AuditEntry
from digest.desk.triage import (
    Approval,
    PastRating,
    TriageError,
    boost_of,
    decide,
    desk_decisions,
    feedback_boosts,
    feedback_order,
    past_ratings,
    rating_score,
    sign_off_week,
    week_approval,
)
from digest.issue.context import build_digest_view
from digest.views import StudyView, Tag
from tests.test_desk_support import AFTER_W47, desk_engine, desk_settings, import_week

__all__ = ["desk_engine"]


def _candidates(engine: Engine) -> dict[str, StudyView]:
    settings = desk_settings(engine)
    import_week(engine, settings)
    with Session(engine) as session:
        view = build_digest_view(session, settings, "2026-W47", built_at=AFTER_W47)
    return {s.slug: s for s in view.studies()}


def test_decisions_are_kept_audited_and_answer_the_weekly_send(desk_engine: Engine) -> None:
    studies = _candidates(desk_engine)
    assert len(studies) == 5
    fibro, back = studies["nct-nct02583334"], studies["nct-nct01570127"]
    with Session(desk_engine) as session:
        decide(
            session,
            "2026-W47",
            fibro,
            "alice",
            status="approved",
            relevance=6,
            newsworthiness=5,
            note="We use this protocol.\nSecond line.",
            label="chronic-pain",
            label_reason="first sham-controlled trial here",
            now=AFTER_W47,
        )
        decide(
            session,
            "2026-W47",
            back,
            "bob",
            status="left-out",
            reason="registration only, no results",
            now=AFTER_W47,
        )
        decide(
            session,
            "2026-W47",
            studies["nct-nct02510066"],
            "bob",
            status="held",
            reason="check with Dr Lee",
            now=AFTER_W47,
        )
        session.commit()
    with Session(desk_engine) as session:
        decisions = desk_decisions(session, "2026-W47")
        assert decisions[fibro.slug].status == "approved"
        assert decisions[fibro.slug].note == "We use this protocol.\nSecond line."
        assert decisions[fibro.slug].label == "chronic-pain"
        assert (decisions[fibro.slug].relevance, decisions[fibro.slug].newsworthiness) == (6, 5)
        assert decisions[back.slug].reason == "registration only, no results"
        entries = audit.entries(session, week="2026-W47")
        assert {(e.actor, e.slug, e.detail["status"]) for e in entries} == {
            ("alice", fibro.slug, "approved"),
            ("bob", back.slug, "left-out"),
            ("bob", "nct-nct02510066", "held"),
        }
        required = week_approval(
            session, "2026-W47", "required", deadline=AFTER_W47 + timedelta(hours=1), now=AFTER_W47
        )
        assert required.required and not required.ready and not required.deadline_passed
        assert required.approved_slugs == {fibro.slug}
        assert required.include(fibro.slug) and not required.include("nct-nct02399969")
        assert required.labels == {fibro.slug: "chronic-pain"}
        late = week_approval(
            session,
            "2026-W47",
            "required",
            deadline=AFTER_W47 - timedelta(minutes=1),
            now=AFTER_W47,
        )
        assert late.deadline_passed and late.ready
        optional = week_approval(session, "2026-W47", "optional", now=AFTER_W47)
        assert optional.ready
        assert optional.include("nct-nct02399969") and not optional.include(back.slug)
        assert not optional.include("nct-nct02510066")  # held
        sign_off_week(session, "2026-W47", "alice", AFTER_W47)
        session.commit()
    with Session(desk_engine) as session:
        signed = week_approval(session, "2026-W47", "required", now=AFTER_W47)
        assert signed.ready and signed.signed_off_by == "alice"
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "approve-week")).one()


def test_the_rules_refuse_what_they_must(desk_engine: Engine) -> None:
    studies = _candidates(desk_engine)
    first, second = studies["nct-nct02583334"], studies["nct-nct02510066"]
    with Session(desk_engine) as session:
        with pytest.raises(TriageError, match="why"):
            decide(session, "2026-W47", first, "alice", status="left-out")
        with pytest.raises(TriageError, match="reason"):
            decide(session, "2026-W47", first, "alice", status="approved", label="chronic-pain")
        with pytest.raises(TriageError, match="own conditions"):
            decide(
                session,
                "2026-W47",
                first,
                "alice",
                status="approved",
                label="low-back-pain",
                label_reason="x",
            )
        with pytest.raises(TriageError, match="1 to 7"):
            decide(session, "2026-W47", first, "alice", status="approved", relevance=8)
        with pytest.raises(TriageError, match="at most 600"):
            decide(session, "2026-W47", first, "alice", status="approved", note="x" * 601)
        decide(
            session,
            "2026-W47",
            first,
            "alice",
            status="approved",
            label="chronic-pain",
            label_reason="changes the picture",
        )
        with pytest.raises(TriageError, match="at most 1"):
            decide(
                session,
                "2026-W47",
                second,
                "alice",
                status="approved",
                label="chronic-pain",
                label_reason="also",
            )
        decide(
            session,
            "2026-W47",
            second,
            "alice",
            status="approved",
            label="chronic-pain",
            label_reason="two allowed",
            max_labels=2,
        )
        # re-deciding the labelled item does not count against itself
        decide(
            session,
            "2026-W47",
            first,
            "alice",
            status="approved",
            label="chronic-pain",
            label_reason="still",
            max_labels=2,
        )
        session.commit()


def test_past_ratings_feed_the_next_week_by_condition_and_design(desk_engine: Engine) -> None:
    studies = _candidates(desk_engine)
    with Session(desk_engine) as session:
        decide(
            session,
            "2026-W47",
            studies["nct-nct02583334"],
            "alice",
            status="approved",
            relevance=7,
            newsworthiness=6,
        )  # chronic-pain registration: +5
        decide(
            session,
            "2026-W47",
            studies["nct-nct01570127"],
            "alice",
            status="left-out",
            reason="dull",
            relevance=2,
            newsworthiness=1,
        )  # low-back-pain: -5
        session.commit()
        assert past_ratings(session, "2026-W47") == []  # a week never feeds itself
        past = past_ratings(session, "2026-W48")
    boosts = feedback_boosts(past)
    assert boosts == {
        ("chronic-pain", "trial-registration"): 5,
        ("low-back-pain", "trial-registration"): -5,
    }
    assert boost_of(studies["nct-nct02399969"], boosts) == 5  # both conditions: the larger


def _study(slug: str, design: str, conditions: tuple[str, ...], n: int | None) -> StudyView:
    return StudyView(
        slug=slug,
        title=slug,
        design=design,
        design_label=design,
        conditions=tuple(Tag(c, c) for c in conditions),
        sample_size=n,
    )


def test_feedback_never_lifts_a_weaker_design_over_a_stronger_one() -> None:
    rct = _study("rct-big", "rct", ("neck-pain",), 400)
    loved = _study("case-loved", "case-report", ("neck-pain",), 1)
    small = _study("rct-small", "rct", ("knee-pain",), 40)
    past = [
        PastRating("case-report", ("neck-pain",), 7, 7),
        PastRating("rct", ("knee-pain",), 7, 7),
        PastRating("rct", ("knee-pain",), 5, 4),
    ]
    boosts = feedback_boosts(past)
    assert boosts[("neck-pain", "case-report")] == 6
    assert boosts[("knee-pain", "rct")] == 4  # mean of 6 and 1 is 3.5, rounded to even: 4
    assert [s.slug for s in feedback_order([loved, rct, small], boosts)] == [
        "rct-small",
        "rct-big",
        "case-loved",
    ]
    assert [s.slug for s in feedback_order([loved, rct, small], {})] == [
        "rct-big",
        "rct-small",
        "case-loved",
    ]
    assert rating_score(4, 4) == 0 and rating_score(1, 1) == -6 and rating_score(7, 7) == 6


def test_approval_rules_are_plain() -> None:
    empty = Approval(week="2026-W47", required=True)
    assert not empty.ready and not empty.include("x")
    assert Approval(week="2026-W47", required=False).include("x")
