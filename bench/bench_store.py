"""Dedupe through the database: store N records, refresh studies, then N more and refresh.

`python -m bench.bench_store [--scale 5000] [--db URL]` (50,000 takes ~5 min and ~1.3 GB)
uses the same scaled records as bench_dedupe (derived from real corpus records) and times
what a fetch pays on top of the pure clustering: saving records (payload, identifiers,
change detection) and `refresh_studies` (incremental since issue 16: recluster what the
new records touch, map onto existing studies, classify new ones; see bench_scale for the
full rebuild beside it).
SQLite in a temporary folder unless --db names another database.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlmodel import Session

from bench.bench_dedupe import SEED, build_eval_set, build_scale_set
from digest.config import load_settings
from digest.model import ParseResult, RecordData
from digest.sources import describe_change
from digest.store.db import make_engine, migrate
from digest.store.records import ParsedPage, save_outcome
from digest.studies.refresh import refresh_studies

ROOT = Path(__file__).resolve().parent.parent


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _save(engine: Any, records: Sequence[RecordData]) -> float:
    started = time.perf_counter()
    page = ParsedPage(
        url="bench://scale",
        content=b"bench",
        content_type="bench",
        parsed=ParseResult(records=list(records)),
    )
    with Session(engine) as session:
        save_outcome(
            session,
            source_name="bench",
            kind="bench",
            pages=[page],
            cursor={},
            describe_change=describe_change,
        )
        session.commit()
    return time.perf_counter() - started


def _refresh(engine: Any, topics: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    with Session(engine) as session:
        summary = refresh_studies(session, topics)
        session.commit()
    return time.perf_counter() - started, summary


def run(scale: int = 5_000, database_url: str | None = None) -> dict[str, Any]:
    topics = load_settings(ROOT / "sources.yaml", env={}).topics
    records, _truth = build_scale_set(build_eval_set(seed=SEED), stored=scale, new=scale)
    unique: dict[tuple[str, str], RecordData] = {}
    for _key, record in records:
        unique.setdefault((record.source, record.source_id), record)
    ordered = list(unique.values())
    stored, new = ordered[:scale], ordered[scale:]
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(database_url or f"sqlite:///{folder}/bench.db")
        migrate(engine)
        rss_before = _rss_mb()
        save_stored = _save(engine, stored)
        first, first_summary = _refresh(engine, topics)
        save_new = _save(engine, new)
        second, second_summary = _refresh(engine, topics)
        again, _ = _refresh(engine, topics)
        engine.dispose()
    figures = {
        "stored": len(stored),
        "new": len(new),
        "save_stored_s": save_stored,
        "refresh_first_s": first,
        "save_new_s": save_new,
        "refresh_new_s": second,
        "refresh_unchanged_s": again,
        "studies": second_summary.studies,
        "classified_new": second_summary.reclassified,
        "first_classified": first_summary.reclassified,
        "maxrss_delta_mb": _rss_mb() - rss_before,
    }
    print(
        f"{figures['stored']:,} stored records: saved in {save_stored:.1f} s, first refresh "
        f"{first:.1f} s ({first_summary.reclassified:,} studies classified)"
    )
    print(
        f"{figures['new']:,} new records: saved in {save_new:.1f} s, refresh {second:.1f} s "
        f"({second_summary.reclassified:,} studies (re)classified, "
        f"{second_summary.studies:,} studies in all)"
    )
    print(
        f"refresh with nothing new: {again:.1f} s; "
        f"peak RSS grew {figures['maxrss_delta_mb']:.0f} MB"
    )
    print(
        f"per fetch at this size, on top of the fetch itself: save + refresh = "
        f"{save_new + second:.1f} s (target for the pure clustering alone: < 60 s)"
    )
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_store", description=__doc__)
    parser.add_argument("--scale", type=int, default=5_000)
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary folder)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    run(args.scale, args.db)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
