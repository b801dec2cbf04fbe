"""Scale of the weekly run: full refresh (before) vs incremental refresh (after).

    python -m bench.bench_scale            # 1k and 10k stored, SQLite + PostgreSQL (~8 min)
    python -m bench.bench_scale --sizes 1000,10000,50000,100000   # the issue-16 table (~40 min)
    python -m bench.bench_scale --db sqlite --sizes 1000 --modes after

For each database and stored size N: a *base import* (save N records, then refresh), a
*weekly increment* (save ~200 records: half copies of stored works in Europe PMC, feed
and import shapes, half new works; then refresh) and a *no-op* (refresh, nothing new).
"before" refreshes with `rebuild_studies` (recluster the whole archive; what every fetch
did before issue 16, plus rebuilding the index), "after" with `refresh_studies`
(incremental). The records are bench_dedupe's scaled set (`build_scale_set`), derived
from the real corpus records; nothing here is presented as a real study.

Each phase runs in its own process so its peak RSS (ru_maxrss) is its own: the base
import in one, the weekly increment and no-op in another. PostgreSQL: a fresh database
per run on 127.0.0.1:5432 (user postgres), dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PG_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
WEEKLY = 200
ROOT = Path(__file__).resolve().parent.parent


def _write_records(folder: Path, stored: int) -> Path:
    from bench.bench_dedupe import SEED, build_eval_set, build_scale_set

    records, _ = build_scale_set(build_eval_set(seed=SEED), stored=stored, new=WEEKLY)
    unique: dict[tuple[str, str], Any] = {}
    for _key, record in records:
        unique.setdefault((record.source, record.source_id), record)
    ordered = list(unique.values())
    path = folder / f"records-{stored}.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for index, record in enumerate(ordered):
            part = "stored" if index < stored else "weekly"
            out.write(json.dumps({"part": part, "record": record.to_json_dict()}) + "\n")
    return path


def _load(path: Path, part: str) -> list[Any]:
    from digest.model import RecordData

    with path.open(encoding="utf-8") as lines:
        return [
            RecordData.from_json_dict(row["record"])
            for line in lines
            if (row := json.loads(line))["part"] == part
        ]


def _save(engine: Any, records: Sequence[Any]) -> None:
    from sqlmodel import Session

    from digest.model import ParseResult
    from digest.sources import describe_change
    from digest.store.records import ParsedPage, save_outcome

    for start in range(0, len(records), 5_000):
        page = ParsedPage(
            url="bench://scale",
            content=f"bench {start}".encode(),
            content_type="bench",
            parsed=ParseResult(records=list(records[start : start + 5_000])),
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


def _refresh(engine: Any, mode: str) -> Any:
    from sqlmodel import Session

    from digest.config import load_settings
    from digest.studies.refresh import rebuild_studies, refresh_studies

    topics = load_settings(ROOT / "sources.yaml", env={}).topics
    with Session(engine) as session:
        run = rebuild_studies if mode == "before" else refresh_studies
        summary = run(session, topics)
        session.commit()
    return summary


def child(phase: str, mode: str, url: str, path: Path) -> dict[str, Any]:
    """One phase in this process: 'base' (migrate, save stored, refresh) or 'weekly'
    (save the week's records, refresh; then refresh again with nothing new)."""
    from digest.store.db import make_engine, migrate

    engine = make_engine(url)
    figures: dict[str, Any] = {}
    if phase == "base":
        migrate(engine)
        records = _load(path, "stored")
        started = time.perf_counter()
        _save(engine, records)
        del records
        _refresh(engine, mode)
        figures["base_s"] = time.perf_counter() - started
        figures["base_rss_mb"] = _rss_mb()
    else:
        records = _load(path, "weekly")
        started = time.perf_counter()
        _save(engine, records)
        summary = _refresh(engine, mode)
        figures["weekly_s"] = time.perf_counter() - started
        figures["weekly_reclustered"] = summary.reclustered_records
        figures["weekly_reclassified"] = summary.reclassified
        started = time.perf_counter()
        _refresh(engine, mode)
        figures["noop_s"] = time.perf_counter() - started
        figures["weekly_rss_mb"] = _rss_mb()
    engine.dispose()
    return figures


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_child(phase: str, mode: str, url: str, path: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.bench_scale", "--child", phase, mode, url, str(path)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{phase} {mode} {url} failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _database(db: str, folder: Path, name: str) -> tuple[str, Any]:
    if db == "sqlite":
        return f"sqlite:///{folder / name}.db", None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    database = f"bench_scale_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    url = make_url(PG_SERVER).set(database=database).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def run(
    sizes: Sequence[int], dbs: Sequence[str], modes: Sequence[str] = ("before", "after")
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for size in sizes:
            path = _write_records(folder, size)
            for db in dbs:
                for mode in modes:
                    url, drop = _database(db, folder, f"{db}-{size}-{mode}")
                    try:
                        figures = {"db": db, "stored": size, "mode": mode}
                        figures |= _run_child("base", mode, url, path)
                        figures |= _run_child("weekly", mode, url, path)
                    finally:
                        if drop:
                            drop()
                    rows.append(figures)
                    _print_row(figures)
    _print_table(rows)
    return rows


def _print_row(f: dict[str, Any]) -> None:
    print(
        f"{f['db']:<8} {f['stored']:>7,} {f['mode']:<6} base import {f['base_s']:6.1f} s "
        f"({f['base_rss_mb']:5.0f} MB) | week of {WEEKLY}: {f['weekly_s']:6.2f} s, "
        f"{f['weekly_reclustered']:,} records reclustered | no-op {f['noop_s']:6.2f} s | "
        f"weekly peak RSS {f['weekly_rss_mb']:5.0f} MB",
        flush=True,
    )


def _print_table(rows: Sequence[dict[str, Any]]) -> None:
    print(
        "\nstored  db       | weekly before / after | no-op before / after | "
        "peak RSS (weekly) before / after | base import before / after (peak RSS after)"
    )
    for row in rows:
        if row["mode"] != "after":
            continue
        before = next(
            (
                r
                for r in rows
                if r["mode"] == "before" and r["db"] == row["db"] and r["stored"] == row["stored"]
            ),
            {k: float("nan") for k in row},
        )
        print(
            f"{row['stored']:>7,} {row['db']:<8} | {before['weekly_s']:6.2f} / "
            f"{row['weekly_s']:6.2f} s | {before['noop_s']:6.2f} / {row['noop_s']:6.2f} s | "
            f"{before['weekly_rss_mb']:5.0f} / {row['weekly_rss_mb']:5.0f} MB | "
            f"{before['base_s']:6.1f} / {row['base_s']:6.1f} s ({row['base_rss_mb']:.0f} MB)"
        )
    print(
        "\nratios (after): weekly at N stored / weekly at the smallest size; targets: "
        "<= 1.5x at 100k, no-op < 2 s at 100k, peak RSS < 400 MB, base import 100k < 90 s "
        "(SQLite)"
    )
    for db in sorted({r["db"] for r in rows}):
        after = sorted(
            (r for r in rows if r["db"] == db and r["mode"] == "after"), key=lambda r: r["stored"]
        )
        if not after:
            continue
        base = after[0]["weekly_s"]
        for row in after:
            print(
                f"  {db:<8} {row['stored']:>7,}: weekly {row['weekly_s'] / base:4.2f}x "
                f"of {after[0]['stored']:,}"
            )


def main(argv: Sequence[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else list(argv)
    if args_list[:1] == ["--child"]:
        phase, mode, url, path = args_list[1:5]
        print(json.dumps(child(phase, mode, url, Path(path))))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.bench_scale", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000", help="stored sizes, comma separated")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--modes", default="before,after", help="before, after or both")
    args = parser.parse_args(args_list)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    run(sizes, dbs, [m for m in args.modes.split(",") if m in ("before", "after")])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
