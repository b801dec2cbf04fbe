"""The re-check by PMID against Europe PMC, on the replay server with the genuine answers
(tests/fixtures/corpus/PROVENANCE.md): the EXT_ID lookup of PMID 20516115, asked together
with a PMID Europe PMC does not hold, which is named, not a failure. No genuine
Europe PMC record of a retracted article was found (the shared corpus says so); what a
retracted one carries (`pubTypeList`, `commentCorrectionList`) is read by the same
parser as every Europe PMC fetch (tests/test_parse_europepmc.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from digest.app.recheck import run_recheck
from digest.desk.tables import TriageDecision
from digest.model import Record, RecordData, Study
from digest.sources.europepmc.recheck import pmid_query
from digest.store.recheck_tables import RecheckState
from tests.conftest import CORPUS, make_settings, no_wait_client, store_as_fetched

NOW = datetime(2026, 12, 7, 4, 30, tzinfo=UTC)
FOUND = "europepmc/biomcp_search_ext_id_20516115_lite.json"


def watch_by_note(engine: Engine) -> None:
    """A staff note on every stored study: each is watched by the re-check."""
    with Session(engine) as session:
        for study in session.exec(select(Study)):
            session.add(TriageDecision(week="2026-W48", slug=study.slug, note="watch"))
        session.commit()


def test_europepmc_is_asked_by_pmid_and_a_missing_one_is_named(
    db_engine: Engine, replay: Any, tmp_path: Path
) -> None:
    both = "(EXT_ID:20516115 OR EXT_ID:99999931) AND SRC:MED"
    server = replay(
        [
            {  # Europe PMC answers with the records it holds: here only 20516115
                "path": "/search",
                "match": {"query": both},
                "responses": [{"file": FOUND, "content_type": "application/json"}],
            },
        ],
        root=CORPUS,
    )
    settings = make_settings(
        db_engine.url.render_as_string(hide_password=False),
        "  []",
        f"digest: {{output_dir: {tmp_path / 'out'}}}\n"
        f"recheck: {{europepmc_base_url: {server.url}, crossref: false, pubmed: false}}\n",
    )
    # HAND-MADE: two PubMed-shaped stand-ins naming the PMIDs (titles say so), watched
    # through a staff note; 20516115 is the genuine record Europe PMC answers with
    stand_ins = [
        RecordData(source="pubmed", source_id=p, pmid=p, title=f"HAND-MADE stand-in for {p}")
        for p in ("20516115", "99999931")
    ]
    store_as_fetched(settings, db_engine, stand_ins, fetched_by="pm", now=NOW - timedelta(days=9))
    watch_by_note(db_engine)
    report = run_recheck(settings, db_engine, now=NOW, http=no_wait_client(settings))
    assert report.ok, report.failed
    assert report.not_in_pubmed == ["99999931"]
    params = server.requests[0].params
    assert params["resultType"] == "core" and params["format"] == "json"
    assert params["cursorMark"] == "*"
    with Session(db_engine) as session:
        stored = session.exec(select(Record).where(Record.source == "europepmc")).all()
        state = session.get(RecheckState, ("pmid", "20516115"))
    assert len(stored) == 1 and stored[0].data["pmid"] == "20516115"
    assert state is not None and state.outcome == "found"


def test_the_pmid_query_ors_the_ids() -> None:
    assert pmid_query(["1"]) == "EXT_ID:1 AND SRC:MED"
    assert pmid_query(["1", "2"]) == "(EXT_ID:1 OR EXT_ID:2) AND SRC:MED"


def test_when_pubmed_fails_a_pmid_europe_pmc_answered_is_asked_again(
    db_engine: Engine, replay: Any, tmp_path: Path
) -> None:
    server = replay(
        [
            {"path": "/search", "responses": [{"file": FOUND, "content_type": "application/json"}]},
            {  # HAND-MADE: PubMed down for the whole run
                "path": "/efetch.fcgi",
                "responses": [{"status": 500, "body": "<html>Internal Server Error</html>"}],
            },
        ],
        root=CORPUS,
    )
    settings = make_settings(
        db_engine.url.render_as_string(hide_password=False),
        "  []",
        f"digest: {{output_dir: {tmp_path / 'out'}}}\n"
        f"recheck: {{europepmc_base_url: {server.url}, eutils_base_url: {server.url},"
        " crossref: false}\n",
    )
    # HAND-MADE stand-in naming the genuine PMID Europe PMC answers with, watched by a note
    stand_in = RecordData(
        source="pubmed", source_id="20516115", pmid="20516115", title="HAND-MADE stand-in"
    )
    store_as_fetched(settings, db_engine, [stand_in], fetched_by="pm", now=NOW - timedelta(days=9))
    watch_by_note(db_engine)
    report = run_recheck(settings, db_engine, now=NOW, http=no_wait_client(settings))
    assert not report.ok and report.failed
    with Session(db_engine) as session:
        stored = session.exec(select(Record).where(Record.source == "europepmc")).all()
        state = session.get(RecheckState, ("pmid", "20516115"))
    assert len(stored) == 1  # what Europe PMC said is kept
    assert state is None  # but the PMID was not checked: the next run asks PubMed in full
