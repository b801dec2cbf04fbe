"""The re-check by PMID against PubMed, on the replay server with the genuine efetch of a
retracted article (PMID 993, `Retracted Publication` and `RetractionIn` PMID 195582;
tests/fixtures/corpus/PROVENANCE.md), then the incremental pass: ESearch by `[uid]` with
`datetype=mdat`, answered by a genuine zero-hit ESearch, so nothing is fetched again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from digest.app.recheck import run_recheck
from digest.desk.tables import TriageDecision
from digest.model import Study
from digest.sources.pubmed.parse_efetch import parse_efetch
from digest.store.recheck_tables import RecheckState, StudyNotice
from tests.conftest import CORPUS, make_settings, no_wait_client, store_as_fetched

NOW = datetime(2026, 12, 7, 4, 30, tzinfo=UTC)
EFETCH = "pubmed-efetch/neilfws_efetch_pmid993_retracted.xml"
NO_HITS = "pubmed-esearch/biopython_esearch_zero_results_errorlist.xml"


def test_a_retracted_pubmed_article_is_filed_then_only_changes_are_asked(
    db_engine: Engine, replay: Any, tmp_path: Path
) -> None:
    server = replay(
        [
            {
                "path": "/efetch.fcgi",
                "match": {"id": "993"},
                "responses": [{"file": EFETCH, "content_type": "text/xml"}],
            },
            {
                "path": "/esearch.fcgi",
                "match": {"datetype": "mdat", "term": "993[uid]"},
                "responses": [{"file": NO_HITS, "content_type": "text/xml"}],
            },
        ],
        root=CORPUS,
    )
    settings = make_settings(
        db_engine.url.render_as_string(hide_password=False),
        "  []",
        f"digest: {{output_dir: {tmp_path / 'out'}}}\n"
        f"recheck: {{eutils_base_url: {server.url}, crossref: false, europepmc: false}}\n",
    )
    (record,) = parse_efetch((CORPUS / EFETCH).read_bytes()).records
    store_as_fetched(settings, db_engine, [record], fetched_by="pm", now=NOW - timedelta(days=9))
    with Session(db_engine) as session:  # watched: the staff wrote a note on it
        slug = session.exec(select(Study).where(Study.pmid == "993")).one().slug
        session.add(TriageDecision(week="2026-W48", slug=slug, note="Check this one."))
        session.commit()

    report = run_recheck(settings, db_engine, now=NOW, http=no_wait_client(settings))
    assert report.ok, report.failed
    assert report.new_notices == [(slug, "retraction", "https://pubmed.ncbi.nlm.nih.gov/195582/")]
    first = server.requests[0]
    assert first.path == "/efetch.fcgi" and first.params["tool"] and first.params["email"]
    with Session(db_engine) as session:
        (notice,) = session.exec(select(StudyNotice)).all()
        state = session.get(RecheckState, ("pmid", "993"))
    assert notice.asserted_by == "pubmed" and notice.notice_pmid == "195582"
    assert notice.notice_date is None  # PubMed does not date the link
    assert state is not None and state.outcome == "found"

    later = run_recheck(
        settings, db_engine, now=NOW + timedelta(days=1), http=no_wait_client(settings)
    )
    assert later.ok, later.failed
    assert [r.path for r in server.requests] == ["/efetch.fcgi", "/esearch.fcgi"]
    search = server.requests[1].params
    assert (search["mindate"], search["maxdate"]) == ("2026/12/06", "2026/12/08")
    assert later.fetched == 0 and later.new_notices == []
