"""A study sent in week N and retracted in week N+1: the re-check finds it, its page gets
the banner in the same run, week N+1's "corrections since last issue" lists it with the
notice's date and link, and the correction email reaches the week-N reader exactly once
(aiosmtpd), on SQLite and PostgreSQL. Then the other notice kinds, each with its own
words, and a retraction reversed.

HAND-MADE throughout: the study is a PubMed-shaped record built here and the Crossref
answers are `tests/fixtures/handmade/handmade_crossref_work_*.json` (Crossref's test
prefix 10.5555; listed in tests/fixtures/HANDMADE.md). No real study is said to be
retracted. The genuine Crossref payloads are exercised in tests/test_recheck_crossref.py.
"""

from __future__ import annotations

import dataclasses
import email
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from digest.app.recheck import run_recheck
from digest.app.recheck_clock import correction_clock, render_clock
from digest.app.recheck_mail import send_corrections
from digest.app.sending import send_week
from digest.app.weekly import build_week
from digest.desk.subscribe import Preferences, set_preferences
from digest.facts import NoticeData
from digest.issue.assemble import assemble_week
from digest.model import FetchRun, RecordData, Study
from digest.store import deliveries
from digest.store.recheck import record_notices
from digest.store.recheck_tables import CorrectionDelivery, StudyNotice
from tests.conftest import FIXTURES, make_settings, no_wait_client, store_as_fetched
from tests.test_email import Recorder, smtp_server  # noqa: F401  (the aiosmtpd fixture)

HANDMADE = FIXTURES / "handmade"
W46 = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)  # Wednesday of 2026-W46
SENT = datetime(2026, 11, 16, 6, 0, tzinfo=UTC)  # Monday: the W46 issue goes out
RECHECK = datetime(2026, 11, 18, 4, 30, tzinfo=UTC)  # Wednesday of 2026-W47
W47_SENT = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
DOI = "10.5555/handmade.acupuncture.1"
NOTICE = "10.5555/handmade.notice.1"


def handmade_study(n: int, title: str) -> RecordData:
    """HAND-MADE: a PubMed-shaped record of an acupuncture-for-pain trial, to be carried by
    an issue; not a real study (PMID 9999992n, DOI under Crossref's test prefix)."""
    return RecordData(
        source="pubmed",
        source_id=f"9999992{n}",
        pmid=f"9999992{n}",
        doi=f"10.5555/handmade.acupuncture.{n}",
        title=title,
        abstract="CONCLUSIONS: HAND-MADE test sentence, not a finding.",
        publication_types=["Journal Article", "Randomized Controlled Trial"],
    )


def env(port: int) -> dict[str, str]:
    return {"DIGEST_SECRET": "x" * 32, "DIGEST_SMTP_URL": f"smtp://127.0.0.1:{port}"}


# HAND-MADE: Crossref's answer when no notice naming the DOIs was indexed in the window
NO_NOTICES = {
    "path": "/works",
    "responses": [
        {
            "body": '{"status": "ok", "message-type": "work-list", "message": '
            '{"items": [], "total-results": 0}}',
            "content_type": "application/json",
        }
    ],
}


def work_route(n: int, name: str) -> dict[str, Any]:
    return {
        "path": f"/works/10.5555/handmade.acupuncture.{n}",
        "responses": [{"file": name, "content_type": "application/json"}],
    }


# Crossref: study 1 retracted (HAND-MADE answer), no notices indexed since
RETRACTED_1 = [work_route(1, "handmade_crossref_work_retracted.json"), NO_NOTICES]


def settings_for(database_url: str, server: Any, tmp_path: Path, email_: str = "serious") -> Any:
    return make_settings(
        database_url,
        "  []",
        f"digest: {{output_dir: {tmp_path / 'out'}, site_url: 'https://digest.example.org/'}}\n"
        "email: {unsubscribe_url: 'https://digest.example.org/unsubscribe'}\n"
        f"recheck: {{crossref_base_url: {server.url}, pubmed: false, europepmc: false,"
        f" email: {email_}}}\n",
    )


def fetched(engine: Engine, at: datetime) -> None:
    with Session(engine) as session:  # the week's fetch ran: not a failed week
        session.add(
            FetchRun(source="pm", kind="pubmed", started_at=at,
                     finished_at=at + timedelta(minutes=1), outcome="ok", fetched=1, new=1)
        )  # fmt: skip
        session.commit()


def messages(recorder: Recorder) -> list[EmailMessage]:
    parsed = [
        email.message_from_bytes(raw, policy=default_policy) for _, _, raw in recorder.messages
    ]
    return [m for m in parsed if isinstance(m, EmailMessage)]


def send_week_46(
    settings: Any, engine: Engine, port: int, *studies: RecordData, expect_sent: int = 1
) -> None:
    store_as_fetched(settings, engine, list(studies), now=W46)
    fetched(engine, W46)
    with Session(engine) as session:
        deliveries.add_subscriber(session, "early@clinic.example.org", now=W46)
        session.commit()
    build_week(settings, engine, "2026-W46", out_dir=None, now=SENT)
    report = send_week(settings, engine, "2026-W46", env=env(port), now=SENT)
    assert "early@clinic.example.org" in report.sent and len(report.sent) == expect_sent
    with Session(engine) as session:  # joins after the W46 issue: it never got the study
        deliveries.add_subscriber(session, "late@clinic.example.org", now=SENT)
        session.commit()


def test_sent_in_week_n_retracted_in_week_n_plus_1(
    db_engine: Engine,
    database_url: str,
    replay: Any,
    tmp_path: Path,
    smtp_server: tuple[Recorder, int],  # noqa: F811
) -> None:
    recorder, port = smtp_server
    server = replay(RETRACTED_1, root=HANDMADE)
    settings = settings_for(database_url, server, tmp_path)
    study = handmade_study(1, "HAND-MADE TEST RECORD: electroacupuncture for chronic low back pain")
    send_week_46(settings, db_engine, port, study)
    assert len(recorder.messages) == 1  # the W46 issue

    report = run_recheck(
        settings, db_engine, now=RECHECK, http=no_wait_client(settings), env=env(port)
    )
    assert report.ok, report.failed
    assert report.new_notices == [("pmid-99999921", "retraction", f"https://doi.org/{NOTICE}")]
    assert report.emails == 1

    # the banner, on the study page, in this run
    page = (tmp_path / "out" / "site" / "studies" / "pmid-99999921" / "index.html").read_text()
    assert "This study has been retracted." in page
    assert "Retraction notice, dated 2026-11-16" in page
    # the condition's Atom feed: the entry marked retracted and updated when it was seen
    feed = (tmp_path / "out" / "site" / "conditions" / "low-back-pain" / "feed.xml").read_text()
    assert "[Retracted]" in feed and "2026-11-18T04:30:00Z" in feed
    # and on the archived W46 digest page, where the study was listed
    issue_page = (tmp_path / "out" / "site" / "digests" / "2026-W46" / "index.html").read_text()
    assert "flag-retracted" in issue_page

    # the correction email: to the reader of W46 only, short, with the notice
    correction = messages(recorder)[1]
    assert correction["To"] == "early@clinic.example.org"
    assert correction["Subject"].startswith("Retracted: HAND-MADE TEST RECORD")
    text = correction.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "2026-W46" in text and "dated 2026-11-16" in text
    assert f"https://doi.org/{NOTICE}" in text
    assert "https://digest.example.org/studies/pmid-99999921/" in text
    assert correction["List-Unsubscribe"]

    # never twice: another run, and the mailer itself, send nothing more
    again = run_recheck(
        settings,
        db_engine,
        now=RECHECK + timedelta(days=1),
        http=no_wait_client(settings),
        env=env(port),
    )
    assert again.ok and again.emails == 0 and again.new_notices == []
    assert [r.path for r in server.requests] == [f"/works/{DOI}", "/works"]  # only what changed
    assert server.requests[1].params["filter"] == f"updates:{DOI},from-index-date:2026-11-17"
    assert send_corrections(settings, db_engine, env=env(port), now=RECHECK) == 0
    assert len(recorder.messages) == 2
    with Session(db_engine) as session:
        (row,) = session.exec(select(CorrectionDelivery)).all()
    assert row.status == "sent" and row.correction == f"doi:{DOI}|retraction"

    # week N+1's issue: the correction, with the notice's date and link
    fetched(db_engine, RECHECK)
    w47 = assemble_week(settings, db_engine, "2026-W47", now=W47_SENT)
    (item,) = w47.corrections
    assert (item.kind, item.study.slug, item.first_sent_week) == (
        "retraction",
        "pmid-99999921",
        "2026-W46",
    )
    assert item.notice_date == "2026-11-16" and item.notice_url == f"https://doi.org/{NOTICE}"
    files = build_week(settings, db_engine, "2026-W47", out_dir=tmp_path / "w47", now=W47_SENT)
    text_issue = " ".join(next(p for p in files if p.suffix == ".txt").read_text().split())
    assert "CORRECTIONS SINCE LAST ISSUE" in text_issue and "dated 2026-11-16" in text_issue
    assert "the last re-check ran on 19 Nov 2026 at 04:30 UTC" in text_issue

    # the correction clock
    (clock,) = correction_clock(db_engine)
    assert clock.dated == "2026-11-16" and clock.first_seen == RECHECK
    assert clock.told_how == "email"
    out = StringIO()
    render_clock(db_engine, None, out)
    assert "re-check: last ran 2026-11-19 04:30 UTC, ok" in out.getvalue()
    assert "pmid-99999921" in out.getvalue() and "(email)" in out.getvalue()


def test_no_correction_email_once_an_issue_listed_the_correction(
    db_engine: Engine,
    database_url: str,
    replay: Any,
    tmp_path: Path,
    smtp_server: tuple[Recorder, int],  # noqa: F811
) -> None:
    recorder, port = smtp_server
    server = replay(RETRACTED_1, root=HANDMADE)
    quiet = settings_for(database_url, server, tmp_path, email_="off")
    study = handmade_study(1, "HAND-MADE TEST RECORD: electroacupuncture for chronic low back pain")
    send_week_46(quiet, db_engine, port, study)
    assert run_recheck(quiet, db_engine, now=RECHECK, http=no_wait_client(quiet)).emails == 0
    fetched(db_engine, RECHECK)
    build_week(quiet, db_engine, "2026-W47", out_dir=None, now=W47_SENT)
    sent = send_week(quiet, db_engine, "2026-W47", env=env(port), now=W47_SENT)
    assert sent.sent  # W47 went out, its corrections listing the retraction
    loud = settings_for(database_url, server, tmp_path, email_="serious")
    assert send_corrections(loud, db_engine, env=env(port), now=W47_SENT) == 0
    assert len(recorder.messages) == 3  # W46 to one reader, W47 to both; no correction
    (clock,) = correction_clock(db_engine)
    assert clock.told_how == "issue 2026-W47" and clock.told == W47_SENT


def test_no_correction_email_to_a_reader_whose_own_copy_left_the_study_out(
    db_engine: Engine,
    database_url: str,
    replay: Any,
    tmp_path: Path,
    smtp_server: tuple[Recorder, int],  # noqa: F811
) -> None:
    recorder, port = smtp_server
    server = replay(RETRACTED_1, root=HANDMADE)
    settings = settings_for(database_url, server, tmp_path)
    trial = handmade_study(1, "HAND-MADE TEST RECORD: electroacupuncture for chronic low back pain")
    review = handmade_study(2, "HAND-MADE TEST RECORD: acupuncture for low back pain, a review")
    review = dataclasses.replace(review, publication_types=["Journal Article", "Systematic Review"])
    with Session(db_engine) as session:  # wants systematic reviews only: no trials
        deliveries.add_subscriber(session, "reviews.only@clinic.example.org", now=W46)
        set_preferences(
            session, "reviews.only@clinic.example.org", Preferences(min_tier="synthesis")
        )
        session.commit()
    send_week_46(settings, db_engine, port, trial, review, expect_sent=2)
    copies = {
        m["To"]: m.get_body(preferencelist=("plain",)).get_content() for m in messages(recorder)
    }  # type: ignore[union-attr]
    assert "electroacupuncture" not in copies["reviews.only@clinic.example.org"]
    assert "electroacupuncture" in copies["early@clinic.example.org"]

    report = run_recheck(
        settings, db_engine, now=RECHECK, http=no_wait_client(settings), env=env(port)
    )
    assert report.ok, report.failed
    assert [n[:2] for n in report.new_notices] == [("pmid-99999921", "retraction")]
    assert report.emails == 1  # the trial's reader only
    assert messages(recorder)[-1]["To"] == "early@clinic.example.org"
    assert len(recorder.messages) == 3


@pytest.mark.parametrize(
    ("n", "name", "kind", "words"),
    [
        (2, "handmade_crossref_work_concern.json", "expression-of-concern",
         "The journal has published an expression of concern about this study."),
        (3, "handmade_crossref_work_withdrawn.json", "withdrawal",
         "This study has been withdrawn by its publisher."),
        (5, "handmade_crossref_work_new_version.json", "new-version",
         "A new version of this study has been published."),
        (6, "handmade_crossref_work_corrected.json", "correction",
         "A correction (erratum) has been published for this study."),
    ],
)  # fmt: skip
def test_each_notice_kind_has_its_own_words_and_weight(
    db_engine: Engine, replay: Any, tmp_path: Path, n: int, name: str, kind: str, words: str
) -> None:
    server = replay([work_route(n, name)], root=HANDMADE)
    url = db_engine.url.render_as_string(hide_password=False)
    settings = settings_for(url, server, tmp_path, email_="off")
    store_as_fetched(
        settings, db_engine, [handmade_study(n, f"HAND-MADE TEST RECORD {n}: acupuncture for pain")]
    )
    report = run_recheck(
        settings,
        db_engine,
        now=RECHECK,
        http=no_wait_client(settings),
        dois=[f"10.5555/handmade.acupuncture.{n}"],
    )
    assert report.ok, report.failed
    assert [k for _, k, _ in report.new_notices] == [kind]
    slug = f"pmid-9999992{n}"
    page = (tmp_path / "out" / "site" / "studies" / slug / "index.html").read_text()
    assert words in page
    with Session(db_engine) as session:
        study = session.exec(select(Study).where(Study.slug == slug)).one()
    # a concern, a correction and a new version are not a retraction; a withdrawal is
    assert study.retracted is (kind == "withdrawal")
    if kind != "withdrawal":
        assert "This study has been retracted." not in page


def test_a_retraction_of_the_retraction_lifts_the_banner_and_says_so(
    db_engine: Engine, replay: Any, tmp_path: Path
) -> None:
    server = replay([work_route(4, "handmade_crossref_work_reinstated.json")], root=HANDMADE)
    url = db_engine.url.render_as_string(hide_password=False)
    settings = settings_for(url, server, tmp_path, email_="off")
    # PubMed (here: a HAND-MADE PubMed-shaped record) still types it retracted
    retracted = handmade_study(4, "HAND-MADE TEST RECORD 4: acupuncture for pain")
    retracted.publication_types.append("Retracted Publication")
    store_as_fetched(settings, db_engine, [retracted])
    with Session(db_engine) as session:
        assert session.exec(select(Study).where(Study.slug == "pmid-99999924")).one().retracted
    report = run_recheck(
        settings,
        db_engine,
        now=RECHECK,
        http=no_wait_client(settings),
        dois=["10.5555/handmade.acupuncture.4"],
    )
    assert report.ok, report.failed
    # Crossref's retraction and its reversal, and PubMed's untyped-link "Retracted Publication"
    kinds = sorted(k for _, k, _ in report.new_notices)
    assert kinds == ["reinstatement", "retraction", "retraction"]
    with Session(db_engine) as session:
        study = session.exec(select(Study).where(Study.slug == "pmid-99999924")).one()
    assert not study.retracted
    page = (tmp_path / "out" / "site" / "studies" / "pmid-99999924" / "index.html").read_text()
    assert "This study has been retracted." not in page
    assert "the retraction has itself been retracted" in page
    assert "Retraction reversed, dated 2026-06-01" in page


def test_a_reversed_retraction_sends_no_retracted_email(
    db_engine: Engine,
    database_url: str,
    replay: Any,
    tmp_path: Path,
    smtp_server: tuple[Recorder, int],  # noqa: F811
) -> None:
    recorder, port = smtp_server
    server = replay(
        [work_route(4, "handmade_crossref_work_reinstated.json"), NO_NOTICES], root=HANDMADE
    )
    settings = settings_for(database_url, server, tmp_path, email_="serious")
    send_week_46(
        settings,
        db_engine,
        port,
        handmade_study(4, "HAND-MADE TEST RECORD 4: acupuncture for pain"),
    )
    report = run_recheck(
        settings, db_engine, now=RECHECK, http=no_wait_client(settings), env=env(port)
    )
    assert report.ok, report.failed
    assert sorted(k for _, k, _ in report.new_notices) == ["reinstatement", "retraction"]
    # the retraction was reversed before we saw it: a "Retracted" email would be untrue,
    # and `serious` does not mail reversals
    assert report.emails == 0 and len(recorder.messages) == 1
    everything = settings_for(database_url, server, tmp_path, email_="all")
    assert send_corrections(everything, db_engine, env=env(port), now=RECHECK) == 1
    assert messages(recorder)[-1]["Subject"].startswith("Retraction reversed:")


def test_a_study_that_gains_a_doi_keeps_its_notices_and_their_clock(db_engine: Engine) -> None:
    # HAND-MADE notice: PubMed's undated retraction link of a PMID-only study
    notice = NoticeData(kind="retraction", pmid="99999925", asserted_by="pubmed")
    with Session(db_engine) as session:
        assert len(record_notices(session, ["pmid:99999925"], [notice], RECHECK)) == 1
        session.commit()
        # a later record brings the DOI: works_of now leads with it
        later = RECHECK + timedelta(days=2)
        works = ["doi:10.5555/handmade.acupuncture.5", "pmid:99999925"]
        assert record_notices(session, works, [notice], later) == []
        session.commit()
        rows = session.exec(select(StudyNotice)).all()
    assert [(r.work, r.first_seen_at.replace(tzinfo=UTC)) for r in rows] == [
        ("pmid:99999925", RECHECK)
    ]
