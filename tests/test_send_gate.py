"""The weekly send honours the staff desk: with `review: required` it waits for the week's
sign-off and mails only approved items; bounced addresses are never mailed. Real parts:
aiosmtpd on loopback, SQLite and PostgreSQL, genuine ClinicalTrials.gov registrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.app.weekly import send_week
from digest.desk.tables import Suppression
from digest.desk.triage import decide, sign_off_week
from digest.issue.assemble import assemble_week
from digest.model import FetchRun
from digest.sources.clinicaltrials.parse import parse_ctgov_legacy_xml
from digest.store import deliveries
from tests.conftest import CORPUS, make_settings, store_as_fetched
from tests.test_email import Recorder, smtp_server  # noqa: F401  (the aiosmtpd fixture)

W47 = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
WEEK = "2026-W47"
REGISTRATIONS = CORPUS / "acupuncture" / "clinicaltrials-legacy-xml"


def _week_with_two_registrations(engine: Engine, database_url: str) -> tuple[object, list[str]]:
    settings = make_settings(
        database_url,
        "  []",
        "digest: {review: required}\n"
        "email: {unsubscribe_url: 'https://digest.example.org/unsubscribe'}\n",
    )
    records = [
        parse_ctgov_legacy_xml((REGISTRATIONS / f"{nct}.xml").read_bytes()).records[0]
        for nct in ("NCT01570127", "NCT02399969")
    ]
    store_as_fetched(settings, engine, records, now=W47)
    with Session(engine) as session:  # the week's fetch ran: not a failed week
        session.add(
            FetchRun(source="ct", kind="clinicaltrials", started_at=W47,
                     finished_at=W47 + timedelta(minutes=1), outcome="ok", fetched=2, new=2)
        )  # fmt: skip
        deliveries.add_subscriber(session, "reader@clinic.example.org")
        deliveries.add_subscriber(session, "bounced@clinic.example.org")
        session.add(Suppression(email="bounced@clinic.example.org", reason="hard-bounce"))
        session.commit()
    view = assemble_week(settings, engine, WEEK, now=W47)
    return settings, [s.slug for s in view.studies()]


def test_review_required_waits_then_mails_only_approved_items_and_never_a_bounce(
    db_engine: Engine,
    database_url: str,
    smtp_server: tuple[Recorder, int],  # noqa: F811
) -> None:
    recorder, port = smtp_server
    settings, slugs = _week_with_two_registrations(db_engine, database_url)
    assert len(slugs) == 2
    env = {"DIGEST_SECRET": "x" * 32, "DIGEST_SMTP_URL": f"smtp://127.0.0.1:{port}"}

    waiting = send_week(settings, db_engine, WEEK, env=env)  # type: ignore[arg-type]
    assert waiting.held and "approve" in waiting.held and not recorder.messages

    view = assemble_week(settings, db_engine, WEEK, now=W47)  # type: ignore[arg-type]
    approved = next(s for s in view.studies() if s.slug == slugs[0])
    with Session(db_engine) as session:
        decide(session, WEEK, approved, "alice", status="approved")
        sign_off_week(session, WEEK, "alice")
        session.commit()
    report = send_week(settings, db_engine, WEEK, env=env)  # type: ignore[arg-type]
    assert report.sent == ["reader@clinic.example.org"]
    assert recorder.count("bounced@clinic.example.org") == 0
    [message] = recorder.parsed()
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert slugs[0] in text and slugs[1] not in text
