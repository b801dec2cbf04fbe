"""Scale of the weekly run: full refresh (before) vs incremental refresh (after).

    python -m bench.bench_scale            # 1k and 10k stored, SQLite + PostgreSQL (~8 min)
    python -m bench.bench_scale --sizes 1000,10000,50000,100000   # the issue-16 table (~40 min)
    python -m bench.bench_scale --db sqlite --sizes 1000 --modes after --json s.json
    python -m bench.bench_scale --table s.json p.json   # one table from separate runs

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
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
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


def _write_records_apart(folder: Path, stored: int) -> Path:
    """`_write_records` in a process of its own. Linux carries a process's peak RSS over
    fork + exec into the child's ru_maxrss, so a parent that built the scaled set (~280 MB
    at 100k) would lend every phase that peak: the parent stays small instead."""
    command = [sys.executable, "-m", "bench.bench_scale", "--write", str(folder), str(stored)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"writing {stored:,} records failed:\n{done.stderr[-3000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def _load(path: Path, part: str) -> Iterator[Any]:
    """The records of one part, read as they are saved (the archive is never all in memory)."""
    from digest.model import RecordData

    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if (row := json.loads(line))["part"] == part:
                yield RecordData.from_json_dict(row["record"])


def _save(engine: Any, records: Iterable[Any]) -> None:
    """Save in pages of 5,000 records, a transaction each (as `digest import` of files)."""
    from sqlmodel import Session

    from digest.model import ParseResult
    from digest.sources import describe_change
    from digest.store.records import ParsedPage, save_outcome

    for start, page_records in enumerate(_pages(records, 5_000)):
        page = ParsedPage(
            url="bench://scale",
            content=f"bench {start}".encode(),
            content_type="bench",
            parsed=ParseResult(records=page_records),
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


def _pages(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    page: list[Any] = []
    for item in items:
        page.append(item)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


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
    (save the week's records, refresh; then refresh again with nothing new). CPU seconds
    are this process's (user + system): on PostgreSQL the server's own CPU is not in them."""
    from digest.store.db import make_engine, migrate

    engine = make_engine(url)
    figures: dict[str, Any] = {}
    if phase == "base":
        migrate(engine)
        started, cpu = time.perf_counter(), time.process_time()
        _save(engine, _load(path, "stored"))
        _refresh(engine, mode)
        figures["base_s"] = time.perf_counter() - started
        figures["base_cpu_s"] = time.process_time() - cpu
        figures["base_rss_mb"] = _rss_mb()
    else:
        records = list(_load(path, "weekly"))
        started, cpu = time.perf_counter(), time.process_time()
        _save(engine, records)
        summary = _refresh(engine, mode)
        figures["weekly_s"] = time.perf_counter() - started
        figures["weekly_cpu_s"] = time.process_time() - cpu
        figures["weekly_reclustered"] = summary.reclustered_records
        figures["weekly_reclassified"] = summary.reclassified
        started, cpu = time.perf_counter(), time.process_time()
        _refresh(engine, mode)
        figures["noop_s"] = time.perf_counter() - started
        figures["noop_cpu_s"] = time.process_time() - cpu
        figures["weekly_rss_mb"] = _rss_mb()
    figures[f"{phase}_load"] = os.getloadavg()[0]
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
    sizes: Sequence[int],
    dbs: Sequence[str],
    modes: Sequence[str] = ("before", "after"),
    json_path: Path | None = None,
) -> list[dict[str, Any]]:
    """Every (size, database, mode) in turn; with `json_path`, the rows so far (with their
    ratios) are rewritten there after each one, so a long run interrupted keeps them."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for size in sizes:
            path = _write_records_apart(folder, size)
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
                    if json_path is not None:
                        _write_json(json_path, rows)
    _print_table(rows)
    return rows


# (figure, label, unit, format) in the order printed
FIGURES = (
    ("weekly_s", "week of ~200", "s", "6.2f"),
    ("weekly_cpu_s", "its CPU", "s", "6.2f"),
    ("noop_s", "no-op", "s", "5.2f"),
    ("noop_cpu_s", "its CPU", "s", "5.2f"),
    ("weekly_rss_mb", "weekly peak RSS", "MB", "5.0f"),
    ("base_s", "base import", "s", "6.1f"),
    ("base_cpu_s", "its CPU", "s", "6.1f"),
    ("base_rss_mb", "base peak RSS", "MB", "5.0f"),
)
TARGETS = (
    "weekly at the largest size <= 1.5x the weekly at the smallest (both databases)",
    "no-op < 2 s at the largest size",
    "peak RSS < 400 MB at every size",
    "base import of 100k < 90 s (SQLite)",
)


def _print_row(f: dict[str, Any]) -> None:
    print(
        f"{f['db']:<8} {f['stored']:>7,} {f['mode']:<6} "
        + " | ".join(f"{label} {f[key]:{fmt}} {unit}" for key, label, unit, fmt in FIGURES)
        + f" | {f['weekly_reclustered']:,} reclustered, {f['weekly_reclassified']:,} "
        f"reclassified | load {f['base_load']:.1f} / {f['weekly_load']:.1f}",
        flush=True,
    )


def with_ratios(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with `<figure>_x`: the figure over the same figure at the smallest size
    (same database and mode)."""
    out = []
    for row in rows:
        group = [r for r in rows if r["db"] == row["db"] and r["mode"] == row["mode"]]
        smallest = min(group, key=lambda r: r["stored"])
        ratios = {
            f"{key}_x": row[key] / smallest[key] if smallest[key] else float("nan")
            for key, *_ in FIGURES
        }
        out.append(row | ratios)
    return out


def _print_table(rows: Sequence[dict[str, Any]]) -> None:
    rows = with_ratios(rows)
    for mode in ("before", "after"):
        chosen = sorted(
            (r for r in rows if r["mode"] == mode), key=lambda r: (r["db"], r["stored"])
        )
        if not chosen:
            continue
        print(f"\n{mode}: figure (ratio to the smallest size of the same database)")
        print(f"{'db':<8} {'stored':>7} | " + " | ".join(label for _, label, *_ in FIGURES))
        for r in chosen:
            cells = [
                f"{r[key]:{fmt}} {unit} ({r[key + '_x']:.2f}x)" for key, _, unit, fmt in FIGURES
            ]
            print(f"{r['db']:<8} {r['stored']:>7,} | " + " | ".join(cells))
    after = [r for r in rows if r["mode"] == "after"]
    if not after:
        return
    print("\ntargets (after):")
    for db in sorted({r["db"] for r in after}):
        group = sorted((r for r in after if r["db"] == db), key=lambda r: r["stored"])
        small, large = group[0], group[-1]
        ratio = large["weekly_s"] / small["weekly_s"]
        print(
            f"  {db:<8} weekly {large['stored']:,} / {small['stored']:,}: {ratio:.2f}x "
            f"({'met' if ratio <= 1.5 else 'MISSED'}, target <= 1.5x)"
        )
        print(
            f"  {db:<8} no-op at {large['stored']:,}: {large['noop_s']:.2f} s "
            f"({'met' if large['noop_s'] < 2 else 'MISSED'}, target < 2 s)"
        )
        peak = max(max(r["weekly_rss_mb"], r["base_rss_mb"]) for r in group)
        print(
            f"  {db:<8} peak RSS: {peak:.0f} MB "
            f"({'met' if peak < 400 else 'MISSED'}, target < 400 MB)"
        )
        for r in group:
            if r["stored"] == 100_000 and db == "sqlite":
                print(
                    f"  {db:<8} base import of 100,000: {r['base_s']:.1f} s "
                    f"({'met' if r['base_s'] < 90 else 'MISSED'}, target < 90 s)"
                )


def main(argv: Sequence[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else list(argv)
    if args_list[:1] == ["--write"]:
        print(_write_records(Path(args_list[1]), int(args_list[2])))
        return 0
    if args_list[:1] == ["--child"]:
        phase, mode, url, path = args_list[1:5]
        print(json.dumps(child(phase, mode, url, Path(path))))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.bench_scale", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000", help="stored sizes, comma separated")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--modes", default="before,after", help="before, after or both")
    parser.add_argument("--json", type=Path, help="also write every row (with ratios) here")
    parser.add_argument(
        "--table", type=Path, nargs="+", help="print the tables of earlier --json runs and stop"
    )
    args = parser.parse_args(args_list)
    if args.table:
        rows = [r for p in args.table for r in json.loads(p.read_text("utf-8"))["rows"]]
        _print_table([{k: v for k, v in r.items() if not k.endswith("_x")} for r in rows])
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s]
    load_at_start = os.getloadavg()
    print(
        f"load average at start: {load_at_start[0]:.2f} {load_at_start[1]:.2f} "
        f"{load_at_start[2]:.2f} on {os.cpu_count()} cores",
        flush=True,
    )
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    modes = [m for m in args.modes.split(",") if m in ("before", "after")]
    run(sizes, dbs, modes, args.json)
    return 0


def _write_json(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    document = {"cores": os.cpu_count(), "rows": with_ratios(rows)}
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
