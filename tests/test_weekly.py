"""The weekly digest from the database: new studies, changed registrations, NCCIH guidance
changes, corrections of studies sent in an earlier issue, and the run-health footer.

Records are the genuine ClinicalTrials.gov legacy XML trials and hand-made NCCIH pages;
the retraction scenario uses a HAND-MADE record built in the test (named so below).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.app.weekly import build_week
from digest.http.client import Http
from digest.http.politeness import RateLimiter
from digest.ingest.run import fetch_one, import_files
from digest.issue.assemble import assemble_week
from digest.model import RecordData
from digest.sources.clinicaltrials.parse import parse_ctgov_legacy_xml
from tests.conftest import CORPUS, FIXTURES, make_settings, store_as_fetched

W46 = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)  # a Wednesday in 2026-W46
W47 = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday in 2026-W47
LEGACY = CORPUS / "acupuncture" / "clinicaltrials-legacy-xml"


def jsonl(path: Path, records: list[RecordData]) -> Path:
    path.write_text("".join(r.to_json() + "\n" for r in records), encoding="utf-8")
    return path


def handmade_trial_report(retracted: bool) -> RecordData:
    """HAND-MADE: a PubMed-shaped record about acupuncture for low back pain, used only to
    exercise the corrections section. Not a real study; never shown outside this test."""
    return RecordData(
        source="pubmed",
        source_id="99999901",
        pmid="99999901",
        title="HAND-MADE TEST RECORD: electroacupuncture for chronic low back pain",
        abstract="CONCLUSIONS: HAND-MADE test sentence, not a finding.",
        publication_types=["Journal Article", "Randomized Controlled Trial"]
        + (["Retracted Publication"] if retracted else []),
        extra={
            "comments_corrections": [
                {"ref_type": "RetractionIn", "ref_source": "x", "pmid": "99999902", "note": None}
            ]
        }
        if retracted
        else {},
    )


def test_week_sections_from_the_database(db_engine: Engine, tmp_path: Path, replay: Any) -> None:
    url = db_engine.url.render_as_string(hide_password=False)
    server = replay(
        [
            {
                "path": "/health/low-back-pain",
                "responses": [
                    {"file": "handmade_nccih_lowback_v1.html", "content_type": "text/html"},
                    {"file": "handmade_nccih_lowback_v2.html", "content_type": "text/html"},
                ],
            }
        ],
        root=FIXTURES / "handmade",
    )
    settings = make_settings(
        url,
        (
            "  - name: nccih\n    kind: nccih\n    pages:\n"
            "      - url: https://www.nccih.nih.gov/health/low-back-pain\n"
            "        design: guideline\n"
            f"    base_url: {server.url}\n"
        ),
    )
    client = Http(
        settings.http,
        settings.contact_email,
        sleep=lambda _s: None,
        limiter=RateLimiter(sleep=lambda _s: None),
    )

    # week 46: two genuine registrations, a hand-made trial report, the NCCIH page
    import_files(
        settings,
        db_engine,
        [LEGACY / "NCT01570127.xml", LEGACY / "NCT02583334.xml"],
        now=W46,
        announce=True,
    )
    store_as_fetched(settings, db_engine, [handmade_trial_report(retracted=False)], now=W46)
    fetch_one(db_engine, client, settings.sources[0], now=W46)
    first = assemble_week(settings, db_engine, "2026-W46", now=W46)
    sent = {s.slug for s in first.studies()}
    assert {"nct-nct01570127", "nct-nct02583334", "pmid-99999901"} <= sent
    assert first.corrections == ()
    assert [h.source for h in first.health] == ["nccih"]

    # week 47: the registration changes status, the page changes, the report is retracted
    record = parse_ctgov_legacy_xml((LEGACY / "NCT01570127.xml").read_bytes()).records[0]
    record.extra["overall_status"] = "COMPLETED"  # HAND-MADE edit of a genuine record
    store_as_fetched(settings, db_engine, [record], fetched_by="import", now=W47)
    store_as_fetched(
        settings, db_engine, [handmade_trial_report(retracted=True)], fetched_by="import", now=W47
    )
    fetch_one(db_engine, client, settings.sources[0], now=W47)
    second = assemble_week(settings, db_engine, "2026-W47", now=W47)

    assert second.studies() == ()  # nothing new this week
    assert [c.study_slug for c in second.registrations_changed] == ["nct-nct01570127"]
    assert "COMPLETED" in second.registrations_changed[0].summary
    assert len(second.guidance_changes) == 1
    assert second.guidance_changes[0].summary.startswith("NCCIH updated its guidance")
    assert [(c.kind, c.study.slug, c.first_sent_week) for c in second.corrections] == [
        ("retraction", "pmid-99999901", "2026-W46")
    ]
    assert second.corrections[0].study.retracted


def test_rebuilding_an_unchanged_week_gives_identical_files(
    db_engine: Engine, tmp_path: Path
) -> None:
    url = db_engine.url.render_as_string(hide_password=False)
    settings = make_settings(url, "  []")
    import_files(settings, db_engine, [LEGACY / "NCT02399969.xml"], now=W46, announce=True)
    first = [
        p.read_bytes()
        for p in build_week(settings, db_engine, "2026-W46", out_dir=tmp_path / "a", now=W46)
    ]
    later = datetime(2026, 11, 30, tzinfo=UTC)
    second = [
        p.read_bytes()
        for p in build_week(settings, db_engine, "2026-W46", out_dir=tmp_path / "b", now=later)
    ]
    assert first == second  # built_at kept: the stored digest did not change
    with Session(db_engine) as session:
        from digest.store.digests import stored_digest

        stored = stored_digest(session, "2026-W46")
        assert stored is not None
        assert json.dumps(stored.content).count("nct-nct02399969") >= 1


def test_a_plain_import_is_back_catalogue_not_news(db_engine: Engine) -> None:
    settings = make_settings(db_engine.url.render_as_string(hide_password=False), "  []")
    import_files(settings, db_engine, [LEGACY / "NCT02399969.xml"], now=W46)
    assert assemble_week(settings, db_engine, "2026-W46", now=W46).studies() == ()
    import_files(settings, db_engine, [LEGACY / "NCT01570127.xml"], now=W46, announce=True)
    view = assemble_week(settings, db_engine, "2026-W46", now=W46)
    assert [s.slug for s in view.studies()] == ["nct-nct01570127"]


def test_a_sent_digest_is_frozen(db_engine: Engine) -> None:
    from digest.model import Delivery, Subscriber

    settings = make_settings(db_engine.url.render_as_string(hide_password=False), "  []")
    import_files(settings, db_engine, [LEGACY / "NCT02399969.xml"], now=W46, announce=True)
    sent = assemble_week(settings, db_engine, "2026-W46", now=W46)
    with Session(db_engine) as session:
        reader = Subscriber(email="reader@example.org")
        session.add(reader)
        session.flush()
        session.add(Delivery(week="2026-W46", subscriber_id=reader.id or 0, status="sent"))
        session.commit()
    import_files(settings, db_engine, [LEGACY / "NCT01570127.xml"], now=W46, announce=True)
    assert assemble_week(settings, db_engine, "2026-W46", now=W47) == sent
