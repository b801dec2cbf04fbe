"""The weekly send with the staff desk, end to end with real parts: aiosmtpd on loopback,
SQLite and PostgreSQL, the five genuine ClinicalTrials.gov legacy registrations of
2026-W47. The clinic's take on the site and in the email (marked, inert), issues frozen as
sent, each subscriber's preferences, monthly issues, the review deadline and reminder,
decisions feeding the next ranking."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import lxml.html
import pytest
from markdown_it import MarkdownIt
from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.app.operations import run_review
from digest.app.schedule.jobs import REVIEW_JOB_ID, job_specs
from digest.app.sending import ranked_week, send_week
from digest.app.status import review_holds
from digest.app.weekly import render_site
from digest.config import Settings
from digest.desk.auth import add_staff
from digest.desk.review import NOT_APPROVED_BY_DEADLINE, send_deadline
from digest.desk.sent import sent_issue
from digest.desk.subscribe import Preferences, set_preferences
from digest.desk.triage import decide, sign_off_week
from digest.ingest.run import import_files
from digest.model import FetchRun
from digest.publish.mail.smtp import SmtpUnavailable
from digest.store import deliveries
from digest.views import DigestView
from tests.conftest import make_settings
from tests.test_desk_support import LEGACY, PASSWORD, W47
from tests.test_email import (  # noqa: F401  (smtp_server: the aiosmtpd fixture)
    Recorder,
    plain_transport,
    smtp_server,
)

WEEK = "2026-W47"
HOSTILE = (
    "<script>alert('x')</script> <img src=x onerror=alert(1)> "
    '<a href="javascript:alert(2)">read</a> javascript:alert(3)\nSecond line.'
)
REASON = "<b onmouseover=alert(4)>first sham-controlled trial here</b>"


def _settings(database_url: str, review: str = "required") -> Settings:
    return make_settings(
        database_url,
        "  []",
        f"digest: {{review: {review}, site_url: 'https://digest.example.org/'}}\n"
        "email: {unsubscribe_url: 'https://digest.example.org/unsubscribe'}\n",
    )


def _fetched(engine: Engine, at: datetime) -> None:
    with Session(engine) as session:  # the week's fetch ran: not a failed week
        session.add(
            FetchRun(source="ct", kind="clinicaltrials", started_at=at,
                     finished_at=at + timedelta(minutes=1), outcome="ok", fetched=5, new=5)
        )  # fmt: skip
        session.commit()


def _week(engine: Engine, settings: Settings, *subscribers: str) -> None:
    import_files(settings, engine, sorted(LEGACY.glob("*.xml")), now=W47, announce=True)
    _fetched(engine, W47)
    with Session(engine) as session:
        for email in subscribers:
            deliveries.add_subscriber(session, email)
        session.commit()


def _env(port: int) -> dict[str, str]:
    return {"DIGEST_SECRET": "x" * 32, "DIGEST_SMTP_URL": f"smtp://127.0.0.1:{port}"}


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    return text, html


def _assert_inert(page: str) -> None:
    """No element, attribute or link that the note or reason could have made active."""
    tree = lxml.html.document_fromstring(page)
    assert not tree.xpath("//script"), "a <script> element"
    assert not tree.xpath("//img[@src='x']"), "the note's <img> became an element"
    handlers = [a for el in tree.iter() for a in getattr(el, "attrib", {}) if a.startswith("on")]
    assert handlers == [], handlers
    hrefs = [h.strip().lower() for h in tree.xpath("//@href | //@src")]
    assert not [h for h in hrefs if h.startswith("javascript:")]


def _take_text(page: str) -> str:
    tree = lxml.html.document_fromstring(page)
    [aside] = tree.xpath("//aside[@class='take']")
    return " ".join(aside.text_content().split())


def test_the_clinics_take_is_marked_inert_and_frozen_as_sent(
    db_engine: Engine,
    database_url: str,
    tmp_path: Path,
    smtp_server: tuple[Recorder, int],  # noqa: F811
) -> None:
    recorder, port = smtp_server
    settings = _settings(database_url)
    _week(db_engine, settings, "reader@clinic.example.org")
    view = ranked_week(settings, db_engine, WEEK, now=W47)
    first, second, *rest = view.studies()
    with Session(db_engine) as session:
        decide(session, WEEK, first, "alice", status="approved", note=HOSTILE,
               label=first.conditions[0].slug, label_reason=REASON)  # fmt: skip
        decide(session, WEEK, second, "alice", status="approved")
        decide(session, WEEK, rest[0], "alice", status="left-out", reason="off topic",
               note="never published")  # fmt: skip
        sign_off_week(session, WEEK, "alice")
        session.commit()
    report = send_week(settings, db_engine, WEEK, env=_env(port))
    assert report.sent == ["reader@clinic.example.org"]

    # the email: only the approved items, the take marked as the clinic's, inert
    [message] = recorder.parsed()
    text, html = _parts(message)
    assert first.slug in text and second.slug in text
    assert all(s.slug not in text for s in rest) and "never published" not in text
    assert "OUR TAKE (the clinic's own words, not the study's):" in text
    assert "<script>alert('x')</script>" in text  # plain text shows it as typed
    assert f"CHANGES THE PICTURE for {first.conditions[0].label}" in text
    _assert_inert(html)
    shown = _take_text(html)
    assert "Our take (the clinic's own words, not the study's):" in shown
    assert "<script>alert('x')</script>" in shown and "javascript:alert(2)" in shown
    assert f"Changes the picture for {first.conditions[0].label}" in shown
    assert "&lt;script&gt;" in html and "<script>alert" not in html

    # the site: the issue's page and the study page show it, marked and inert
    out = tmp_path / "site"
    render_site(settings, db_engine, out_dir=out)
    digest_page = (out / "digests" / WEEK / "index.html").read_text()
    study_page = (out / "studies" / first.slug / "index.html").read_text()
    for page in (digest_page, study_page):
        _assert_inert(page)
        assert "the clinic's own words" in _take_text(page)
        assert "<script>alert('x')</script>" in _take_text(page)
    assert rest[0].slug not in digest_page  # left out: not in the issue as sent
    markdown = (out / "digests" / WEEK / "digest.md").read_text()
    assert "**Our take** (the clinic's own words" in markdown
    # and the Markdown stays inert once a blog engine renders it (raw HTML allowed)
    _assert_inert(f"<html><body>{MarkdownIt('commonmark').render(markdown)}</body></html>")

    # the as-sent page: the generic copy as mailed, and /latest/ is it
    as_sent = (out / "sent" / WEEK / "index.html").read_bytes()
    assert (out / "latest" / "index.html").read_bytes() == as_sent
    _assert_inert(as_sent.decode())
    assert "As sent." in as_sent.decode() and "token=" not in as_sent.decode()

    # a later edit changes neither the page nor what the rest of the list gets
    with Session(db_engine) as session:
        decide(session, WEEK, first, "bob", status="approved", note="edited afterwards")
        deliveries.add_subscriber(session, "late@clinic.example.org")
        session.commit()
    again = send_week(settings, db_engine, WEEK, env=_env(port))
    assert again.sent == ["late@clinic.example.org"]
    assert again.already_sent == ["reader@clinic.example.org"]
    late = recorder.parsed()[-1]
    assert "edited afterwards" not in _parts(late)[0] and "OUR TAKE" in _parts(late)[0]
    render_site(settings, db_engine, out_dir=out)
    assert (out / "sent" / WEEK / "index.html").read_bytes() == as_sent
    assert "edited afterwards" not in (out / "studies" / first.slug / "index.html").read_text()
    with Session(db_engine) as session:
        row = sent_issue(session, WEEK)
        assert row is not None and row.page.encode() == as_sent


def test_each_subscriber_gets_only_what_their_preferences_allow(
    db_engine: Engine,
    database_url: str,
    smtp_server: tuple[Recorder, int],  # noqa: F811
) -> None:
    recorder, port = smtp_server
    settings = _settings(database_url, review="optional")
    everything, back, trials = (
        "all@clinic.example.org", "back@clinic.example.org", "trials@clinic.example.org",
    )  # fmt: skip
    _week(db_engine, settings, everything, back, trials)
    with Session(db_engine) as session:
        set_preferences(session, back, Preferences(conditions=frozenset({"low-back-pain"})))
        # registrations are plans, not trials: nothing of this week is for them
        set_preferences(session, trials, Preferences(min_tier="trial"))
        session.commit()
    view = ranked_week(settings, db_engine, WEEK, now=W47)
    back_slugs = {
        s.slug for s in view.studies() if "low-back-pain" in {c.slug for c in s.conditions}
    }
    assert 0 < len(back_slugs) < len(view.studies())

    report = send_week(settings, db_engine, WEEK, env=_env(port))
    assert sorted(report.sent) == [everything, back]
    assert report.nothing_wanted == [trials] and recorder.count(trials) == 0
    by_rcpt = {m["To"].addresses[0].addr_spec: _parts(m)[0] for m in recorder.parsed()}
    assert all(s.slug in by_rcpt[everything] for s in view.studies())
    assert {s.slug for s in view.studies() if s.slug in by_rcpt[back]} == back_slugs

    rerun = send_week(settings, db_engine, WEEK, env=_env(port))  # the ledger: never twice
    assert rerun.sent == [] and sorted(rerun.already_sent) == [everything, back]
    assert len(recorder.messages) == 2


def test_monthly_subscribers_get_the_months_sent_items_once(
    db_engine: Engine,
    database_url: str,
    smtp_server: tuple[Recorder, int],  # noqa: F811
) -> None:
    recorder, port = smtp_server
    settings = _settings(database_url, review="optional")
    weekly, monthly = "weekly@clinic.example.org", "monthly@clinic.example.org"
    _week(db_engine, settings, weekly, monthly)
    with Session(db_engine) as session:
        set_preferences(session, monthly, Preferences(frequency="monthly"))
        session.commit()
    november = send_week(settings, db_engine, WEEK, env=_env(port))
    assert november.sent == [weekly] and november.monthly == []  # November is not over
    assert recorder.count(monthly) == 0

    w49 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # 2026-W49: December's first week
    _fetched(db_engine, w49)
    ranked_week(settings, db_engine, "2026-W49", now=w49)
    december = send_week(settings, db_engine, "2026-W49", env=_env(port))
    assert december.sent == [weekly]
    [month] = december.monthly
    assert month.week == "2026-M11" and month.sent == [monthly]
    [mail] = [m for m in recorder.parsed() if m["To"].addresses[0].addr_spec == monthly]
    assert "November 2026: 5 studies newly found" in mail["Subject"]
    assert "weekly" not in mail["Subject"].lower(), mail["Subject"]  # the title says monthly
    assert "monthly evidence digest" in _parts(mail)[0]
    text = _parts(mail)[0]
    with Session(db_engine) as session:
        row = sent_issue(session, WEEK)
        assert row is not None
        weekly_slugs = [s["slug"] for sec in row.content["sections"] for s in sec["studies"]]
    assert weekly_slugs and all(slug in text for slug in weekly_slugs)
    assert "https://digest.example.org/sent/2026-M11/" in text

    # the next December send does not mail November again
    w50 = datetime(2026, 12, 9, 12, 0, tzinfo=UTC)
    _fetched(db_engine, w50)
    ranked_week(settings, db_engine, "2026-W50", now=w50)
    later = send_week(settings, db_engine, "2026-W50", env=_env(port))
    assert [m.sent for m in later.monthly] == [[]]
    assert recorder.count(monthly) == 1


def test_the_deadline_reminds_staff_once_then_sends_only_what_was_approved_or_holds(
    db_engine: Engine,
    database_url: str,
    smtp_server: tuple[Recorder, int],  # noqa: F811
) -> None:
    recorder, port = smtp_server
    settings = _settings(database_url)
    _week(db_engine, settings, "reader@clinic.example.org")
    with Session(db_engine) as session:
        add_staff(session, "alice", PASSWORD, email="alice@clinic.example.org")
        add_staff(session, "bob", PASSWORD)  # no address: no reminder
        session.commit()
    ranked_week(settings, db_engine, WEEK, now=W47)
    deadline = send_deadline(WEEK, "tue 12:00", "UTC")
    assert deadline == datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

    early = send_week(
        settings, db_engine, WEEK, env=_env(port), now=deadline - timedelta(days=1, hours=1)
    )
    assert early.held and early.held.startswith("waiting") and early.reminded == []
    due = deadline - timedelta(hours=3)
    reminded = send_week(settings, db_engine, WEEK, env=_env(port), now=due)
    assert reminded.reminded == ["alice@clinic.example.org"] and reminded.sent == []
    [reminder] = recorder.parsed()
    assert (
        f"/desk/weeks/{WEEK}" in reminder.get_content()
        and "Tuesday 24 November" in reminder.get_content()
    )
    again = send_week(settings, db_engine, WEEK, env=_env(port), now=due + timedelta(hours=1))
    assert again.reminded == [] and len(recorder.messages) == 1  # once
    assert review_holds(settings, db_engine, now=due)[0][1].startswith("waiting")

    late = send_week(settings, db_engine, WEEK, env=_env(port), now=deadline)
    assert late.held == NOT_APPROVED_BY_DEADLINE and late.sent == []
    assert recorder.count("reader@clinic.example.org") == 0
    assert review_holds(settings, db_engine, now=deadline) == [(WEEK, NOT_APPROVED_BY_DEADLINE)]

    # one item approved, never signed off: at the deadline that one goes, alone
    view = ranked_week(settings, db_engine, WEEK, now=W47)
    chosen = view.studies()[-1]
    with Session(db_engine) as session:
        decide(session, WEEK, chosen, "alice", status="approved", note="worth reading")
        session.commit()
    sent = send_week(settings, db_engine, WEEK, env=_env(port), now=deadline + timedelta(hours=1))
    assert sent.sent == ["reader@clinic.example.org"]
    text = _parts(recorder.parsed()[-1])[0]
    assert chosen.slug in text and "worth reading" in text
    assert all(s.slug not in text for s in view.studies() if s.slug != chosen.slug)
    assert review_holds(settings, db_engine, now=deadline + timedelta(hours=2)) == []


def test_rated_decisions_reorder_the_next_weeks_issue_within_a_design(
    db_engine: Engine, database_url: str
) -> None:
    settings = _settings(database_url, review="optional")
    _week(db_engine, settings)

    def section(view: DigestView, slug: str) -> list[str]:
        return [s.slug for sec in view.sections if sec.slug == slug for s in sec.studies]

    before = ranked_week(settings, db_engine, WEEK, now=W47)
    chronic = section(before, "chronic-pain")
    both = next(
        s
        for s in before.studies()
        if {c.slug for c in s.conditions} == {"low-back-pain", "chronic-pain"}
    )
    assert chronic[-1] == both.slug  # the smallest trial, last by size
    # the week before, staff rated a low-back-pain registration highly: +6 for
    # (low-back-pain, trial-registration), so the one chronic-pain registration that is
    # also about low back pain comes first among the chronic-pain registrations
    liked = next(s for s in before.studies() if [c.slug for c in s.conditions] == ["low-back-pain"])
    with Session(db_engine) as session:
        decide(session, "2026-W46", liked, "alice", status="approved", relevance=7,
               newsworthiness=7)  # fmt: skip
        session.commit()
    after = ranked_week(settings, db_engine, WEEK, now=W47)
    assert section(after, "chronic-pain") == [both.slug, *chronic[:-1]]
    assert {s.slug for s in after.studies()} == {s.slug for s in before.studies()}


def test_the_scheduler_checks_the_review_and_sends_once_signed_off(
    db_engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    smtp_server: tuple[Recorder, int],  # noqa: F811
) -> None:
    recorder, port = smtp_server
    settings = make_settings(
        database_url,
        "  []",
        f"digest: {{review: required, review_check: '*/5 * * * *', output_dir: '{tmp_path}'}}\n"
        "email: {send: true, unsubscribe_url: 'https://digest.example.org/unsubscribe'}\n",
    )
    assert [s.cron for s in job_specs(settings) if s.id == REVIEW_JOB_ID] == ["*/5 * * * *"]
    assert REVIEW_JOB_ID not in {s.id for s in job_specs(_settings(database_url))}  # no send
    for name, value in _env(port).items():
        monkeypatch.setenv(name, value)
    _week(db_engine, settings, "reader@clinic.example.org")
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert (
        run_review(settings, db_engine, monday).held == "not built yet (the weekly run builds it)"
    )
    view = ranked_week(settings, db_engine, WEEK, now=W47)
    assert (run_review(settings, db_engine, monday).held or "").startswith("waiting")
    with Session(db_engine) as session:
        decide(session, WEEK, view.studies()[0], "alice", status="approved")
        sign_off_week(session, WEEK, "alice")
        session.commit()
    report = run_review(settings, db_engine, monday + timedelta(minutes=5))
    assert report.sent == ["reader@clinic.example.org"] and len(recorder.messages) == 1
    assert (tmp_path / "site" / "sent" / WEEK / "index.html").is_file()  # the site re-rendered
    assert run_review(settings, db_engine, monday + timedelta(minutes=10)).sent == []


def test_an_issue_nobody_received_gets_no_as_sent_page_until_it_reaches_someone(
    db_engine: Engine,
    database_url: str,
    tmp_path: Path,
    smtp_server: tuple[Recorder, int],  # noqa: F811
) -> None:
    recorder, port = smtp_server
    settings = _settings(database_url, review="optional")
    _week(db_engine, settings, "reader@clinic.example.org")
    with socket.socket() as probe:  # a port nothing listens on: SMTP is down all run
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(SmtpUnavailable):
        send_week(settings, db_engine, WEEK, env=_env(closed), transport=plain_transport(closed))
    assert recorder.parsed() == []
    with Session(db_engine) as session:  # frozen for the rerun, but nobody has it
        assert sent_issue(session, WEEK) is not None
    out = tmp_path / "site"
    render_site(settings, db_engine, out_dir=out)
    assert not (out / "sent" / WEEK).exists() and not (out / "latest").exists()

    # SMTP back: the frozen copy goes, and now it has a public "as sent" page
    up = send_week(settings, db_engine, WEEK, env=_env(port))
    assert up.sent == ["reader@clinic.example.org"]
    render_site(settings, db_engine, out_dir=out)
    assert (out / "sent" / WEEK / "index.html").exists()
    assert (out / "latest" / "index.html").exists()
