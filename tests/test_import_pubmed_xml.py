"""`digest import` of PubMed XML (EFetch exports, baseline and update files): read and
stored in batches, in one transaction, on SQLite and PostgreSQL.

The files are genuine EFetch recordings (tests/fixtures/corpus/pubmed-efetch), gzipped
or cut short here; the batch size is lowered so that a 259-article file makes 6 batches.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from digest.app.cli import main
from digest.errors import ParseError
from digest.ingest import imports
from digest.ingest.imports import detect_import_format, import_files
from digest.ingest.replay import replay_payloads
from digest.model import Payload, Record, RecordData
from digest.sources.pubmed.parse import parse_efetch
from tests.conftest import CORPUS, MINIMAL_TOPICS, make_settings

LARGEST = CORPUS / "pubmed-efetch" / "hawc_efetch_259_phthalates_liver.xml"
BATCH = 50


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "IMPORT_BATCH_SIZE", BATCH)


def stored_records(engine: Engine) -> dict[str, RecordData]:
    with Session(engine) as session:
        rows = session.exec(select(Record).where(Record.source == "import")).all()
        return {row.source_id: RecordData.from_json_dict(row.data) for row in rows}


def stored_payloads(engine: Engine) -> list[Payload]:
    with Session(engine) as session:
        return list(session.exec(select(Payload).order_by(col(Payload.url))))


@pytest.mark.parametrize("zipped", [False, True], ids=["xml", "xml.gz"])
def test_a_multi_batch_file_is_stored_whole_and_replays_to_the_same_records(
    db_engine: Engine, tmp_path: Path, small_batches: None, zipped: bool
) -> None:
    settings = make_settings(db_engine.url.render_as_string(hide_password=False), "  []")
    payload = LARGEST.read_bytes()
    path = tmp_path / ("pubmed-export.xml.gz" if zipped else "pubmed-export.xml")
    path.write_bytes(gzip.compress(payload) if zipped else payload)
    expected = parse_efetch(payload, "import").records
    assert len(expected) == 259

    [(_, summary)] = import_files(settings, db_engine, [path])

    assert (summary.fetched, summary.new, summary.updated) == (259, 259, 0)
    assert stored_records(db_engine) == {record.source_id: record for record in expected}
    payloads = stored_payloads(db_engine)
    assert len(payloads) == 6  # 259 articles in batches of 50
    assert all(p.context["format"] == "pubmed-xml" for p in payloads)
    assert all("#batch=" in p.url for p in payloads)
    with Session(db_engine) as session:
        replayed = [r for p in replay_payloads(session) for r in p.parsed.records]
    assert sorted(replayed, key=lambda r: r.source_id) == sorted(
        expected, key=lambda r: r.source_id
    )

    if zipped:
        return
    # Importing the same file again stores nothing new.
    [(_, again)] = import_files(settings, db_engine, [path])
    assert (again.fetched, again.new, again.updated, again.unchanged) == (259, 0, 0, 259)
    assert len(stored_payloads(db_engine)) == 6


def test_a_file_truncated_after_several_batches_imports_nothing(
    db_engine: Engine, tmp_path: Path, small_batches: None
) -> None:
    settings = make_settings(db_engine.url.render_as_string(hide_password=False), "  []")
    payload = LARGEST.read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(payload[: len(payload) * 3 // 4])  # past three batches, then cut
    with pytest.raises(ParseError, match=r"^cut\.xml: truncated or malformed XML"):
        import_files(settings, db_engine, [cut])
    assert stored_records(db_engine) == {}
    assert stored_payloads(db_engine) == []


def test_pubmed_xml_is_recognised_by_its_root_also_gzipped() -> None:
    head = LARGEST.read_bytes()[:4096]
    assert detect_import_format("pubmed25n0001.xml", head) == "pubmed-xml"
    assert detect_import_format("export.xml", head) == "pubmed-xml"
    # the CLI reads a gzipped file's head decompressed
    unzipped_head = gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(head))).read(4096)
    assert detect_import_format("pubmed25n0001.xml.gz", unzipped_head) == "pubmed-xml"


def test_digest_import_of_a_gzipped_pubmed_file_through_the_cli(
    tmp_path: Path, db_engine: Engine
) -> None:
    config = tmp_path / "sources.yaml"
    database_url = db_engine.url.render_as_string(hide_password=False)
    config.write_text(
        f"database_url: {database_url}\ncontact_email: t@example.org\n"
        f"{MINIMAL_TOPICS}\nsources: []\n"
    )
    path = tmp_path / "pubmed25n0001.xml.gz"  # named like a baseline file
    path.write_bytes(
        gzip.compress((CORPUS / "pubmed-efetch/hawc_efetch_20_articles.xml").read_bytes())
    )
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(config), "import", str(path)], out=out, err=err)
    assert code == 0, err.getvalue()
    assert "20" in out.getvalue()
    assert len(stored_records(db_engine)) == 20
