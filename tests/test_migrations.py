"""Migrations: a migrated empty database matches the models (no drift), on SQLite and
PostgreSQL; 0002 upgrades records stored in the old shape (no typed relations), so the
next fetch of the same genuine records reports them unchanged."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from digest.model import ParseResult, Payload, Record, RecordData
from digest.sources.clinicaltrials.parse_v2 import parse_ctgov_json
from digest.sources.europepmc.parse import parse_europepmc_json
from digest.sources.pubmed.parse_efetch import parse_efetch
from digest.store import db as store_db
from digest.store.db import make_engine
from digest.store.records import ParsedPage, save_outcome
from tests.conftest import CORPUS

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_migrated_schema_has_no_drift(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []


def _upgrade(engine: Engine, revision: str) -> None:
    config = store_db._alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _genuine_records() -> list[RecordData]:
    """Genuine records whose parser emits typed relations, one kind each."""
    pubmed = parse_efetch(
        (CORPUS / "pubmed-efetch" / "hawc_efetch_6_science_breast_cancer.xml").read_bytes()
    )
    europepmc = parse_europepmc_json(
        (CORPUS / "europepmc" / "pyeuropepmc_search_cancer_core_25.json").read_bytes()
    )
    ctgov = parse_ctgov_json(
        (CORPUS / "clinicaltrials" / "aact_v2_study_NCT03475563_unknown_status.json").read_bytes()
    )
    records = [r for parsed in (pubmed, europepmc, ctgov) for r in parsed.records if r.relations]
    assert {r.source for r in records} == {"pubmed", "europepmc", "clinicaltrials"}
    return records


def _old_shape(record: RecordData) -> dict[str, Any]:
    """A record as stored before typed relations: no `relations` key."""
    data = record.to_json_dict()
    del data["relations"]
    return data


def test_0002_adds_relations_to_records_stored_in_the_old_shape(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        _upgrade(engine, "0001")
        records = _genuine_records()
        table = sa.table(
            "record",
            *(sa.column(c) for c in ("source", "source_id", "fetched_by", "content_hash")),
            sa.column("data", sa.JSON()),
            *(sa.column(c, sa.DateTime()) for c in ("first_seen", "last_seen", "last_changed")),
            sa.column("deleted", sa.Boolean()),
        )
        identifiers = sa.table(
            "record_identifier", sa.column("record_id"), sa.column("scheme"), sa.column("value")
        )
        with engine.begin() as connection:
            for record in records:
                old = _old_shape(record)
                connection.execute(
                    table.insert().values(
                        source=record.source,
                        source_id=record.source_id,
                        fetched_by="old-run",
                        data=old,
                        content_hash=RecordData.from_json_dict(old).content_hash(),
                        first_seen=NOW,
                        last_seen=NOW,
                        last_changed=NOW,
                        deleted=False,
                    )
                )
            first_id = connection.execute(sa.text("SELECT min(id) FROM record")).scalar_one()
            connection.execute(
                identifiers.insert().values(record_id=first_id, scheme="pmid", value="1")
            )

        _upgrade(engine, "head")

        assert "record_identifier" not in sa.inspect(engine).get_table_names()
        with Session(engine) as session:
            rows = {(r.source, r.source_id): r for r in session.exec(select(Record))}
        for record in records:
            row = rows[(record.source, record.source_id)]
            assert row.data == record.to_json_dict()
            assert row.content_hash == record.content_hash()
        # the same genuine records fetched again: nothing reads as changed
        with Session(engine) as session:
            summary = save_outcome(
                session,
                source_name="new-run",
                kind="pubmed",
                pages=[
                    ParsedPage(
                        url="https://example.org/replayed",
                        content=b"same records",
                        content_type="application/json",
                        parsed=ParseResult(records=list(records)),
                    )
                ],
                cursor={},
                describe_change=lambda _old, _new: None,
                now=NOW,
            )
            session.commit()
            assert summary.unchanged == len(records) and summary.updated == 0
            payload = session.exec(select(Payload)).one()
            assert payload.context == {}
    finally:
        engine.dispose()


def test_0002_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    try:
        _upgrade(engine, "head")
        config = store_db._alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
        assert "record_identifier" in sa.inspect(engine).get_table_names()
        _upgrade(engine, "head")
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        assert diff == []
    finally:
        engine.dispose()
