"""Site build at scale: full build vs incremental build after one new week.

    python -m bench.bench_site                       # 1k and 10k studies (~3 min)
    python -m bench.bench_site --sizes 100000 --weeks 260   # the issue-16 size
    python -m bench.bench_site --sizes 1000 --profile       # top cProfile entries too
    python -m bench.bench_site --sizes "" --db sqlite --db-sizes 1000   # the database part

For each size N: an archive of N studies and W weekly digests (each study in the digest
of the week it was first seen; conditions list their studies newest first), then

- *before*: `digest site` as it was before issue 16 (the code of BEFORE_REV, extracted
  with `git archive` into .cache/bench/): every file built into one dict in memory, then
  written (each file read back, compared, and fsync'd);
- *full*: what `digest site --full` does: `write_site(site_pages(view, fragments), fresh
  folder, full=True)`: page by page;
- *incremental*: one new week (WEEKLY new studies and their digest) added, written into
  the full build's folder: only pages whose inputs changed are rendered;
- *no-op*: the same view again: nothing rendered, nothing written.

The studies are the genuine corpus views of tests/test_render.py (ClinicalTrials.gov
registrations and PubMed articles from tests/fixtures/corpus), copied verbatim with a
renumbered slug; nothing here is presented as a real study. The site renderer is pure (a
SiteView in, files out), so this measures the renderer and the writer. `--db` adds
`digest site` from SQLite and PostgreSQL (`db_child`): the time of the database query that
makes the view (`site_view`), a full and a no-op build. Each phase runs in its own process
so its peak RSS (ru_maxrss) is its own; stored record sets are cached in .cache/bench/.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WEEKLY = 200
BEFORE_REV = "983fe6a"  # main just before the incremental site build
FIRST_MONDAY = date(2021, 11, 29)  # 2021-W48: 260 weeks before 2026-W48


def _week(index: int) -> tuple[str, date]:
    monday = FIRST_MONDAY + timedelta(weeks=index)
    year, number, _ = monday.isocalendar()
    return f"{year}-W{number:02d}", monday


def synthetic_site(size: int, weeks: int, extra_week: bool = False) -> Any:
    """N renumbered copies of the genuine corpus studies across `weeks` digests (plus one
    more week of WEEKLY new studies with extra_week)."""
    from digest.views import ConditionSection, DigestView, SiteView
    from tests.test_render import SETTINGS, conditions_of, corpus_digests, corpus_studies

    genuine = list(corpus_studies().values())
    health = corpus_digests()[0].health
    total = size + (WEEKLY if extra_week else 0)
    studies = []
    for n in range(total):
        week = n * weeks // size if n < size else weeks
        _iso, monday = _week(week)
        base = genuine[n % len(genuine)]
        studies.append(
            replace(
                base,
                slug=f"{base.slug}-n{n:06d}",
                feed_key=f"{base.slug}-n{n:06d}",
                first_seen=monday + timedelta(days=n % 7),
            )
        )
    by_week: dict[int, list[Any]] = {}
    for n, study in enumerate(studies):
        by_week.setdefault(n * weeks // size if n < size else weeks, []).append(study)
    digests = []
    for week in sorted(by_week, reverse=True):
        iso, monday = _week(week)
        sections: dict[Any, list[Any]] = {}
        for study in by_week[week]:
            sections.setdefault(study.conditions[0], []).append(study)
        digests.append(
            DigestView(
                week=iso,
                title=SETTINGS.title,
                period_start=monday,
                period_end=monday + timedelta(days=6),
                built_at=datetime.combine(monday + timedelta(days=7), clock(6), tzinfo=UTC),
                sections=tuple(
                    ConditionSection(tag.slug, tag.label, tuple(items))
                    for tag, items in sorted(sections.items(), key=lambda kv: kv[0].label)
                ),
                health=health,
            )
        )
    newest = sorted(studies, key=lambda s: (s.first_seen, s.slug), reverse=True)
    return SiteView(
        settings=SETTINGS,
        built_at=digests[0].built_at,
        digests=tuple(digests),
        studies=tuple(sorted(studies, key=lambda s: s.slug)),
        conditions=conditions_of(newest),
    )


def db_child(url: str, records: Path, folder: Path) -> dict[str, Any]:
    """`digest site` from a database (`--db`): bench_scale's stored set (derived from the
    genuine corpus records), saved and refreshed, every study then marked in scope
    (bench-only, so each has a page; no digests are stored), then site_view alone, a full
    `render_site` and a no-op one."""
    from sqlalchemy import text

    from bench.bench_scale import _load, _refresh, _save
    from digest.app.weekly import render_site
    from digest.config import load_settings
    from digest.issue.assemble import site_view
    from digest.store.db import make_engine, migrate

    engine = make_engine(url)
    migrate(engine)
    _save(engine, _load(records, "stored"))
    _refresh(engine, "after")
    with engine.begin() as connection:
        connection.execute(text("UPDATE study SET in_scope = true"))
    settings = load_settings(ROOT / "sources.yaml", env={})
    figures: dict[str, Any] = {}
    started = time.perf_counter()
    view = site_view(settings, engine)
    figures["site_view_s"] = time.perf_counter() - started
    figures["studies"] = len(view.studies)
    del view
    started = time.perf_counter()
    figures["files"] = len(render_site(settings, engine, out_dir=folder, full=True))
    figures["full_s"] = time.perf_counter() - started
    started = time.perf_counter()
    figures["noop_written"] = len(render_site(settings, engine, out_dir=folder))
    figures["noop_s"] = time.perf_counter() - started
    figures["rss_mb"] = _rss_mb()
    engine.dispose()
    return figures


def run_db(sizes: Sequence[int], dbs: Sequence[str]) -> None:
    from bench.bench_scale import _database, _write_records

    print(
        "\ndigest site from the database (site_view + render; every stored study in scope,"
        " no digests)\nstudies  db       | site_view | full render_site | no-op render_site "
        "(files written) | peak RSS"
    )
    cache = ROOT / ".cache" / "bench"
    cache.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        records = cache / f"records-{size}.jsonl"
        if not records.exists():
            _write_records(cache, size)
        for db in dbs:
            with tempfile.TemporaryDirectory(dir=cache) as tmp:
                url, drop = _database(db, Path(tmp), f"site-{size}")
                try:
                    command = [sys.executable, str(Path(__file__)), "--db-child", url]
                    command += [str(records), str(Path(tmp) / "site")]
                    env = {**os.environ, "PYTHONPATH": str(ROOT)}
                    done = subprocess.run(
                        command, capture_output=True, text=True, cwd=ROOT, env=env, check=False
                    )
                    if done.returncode != 0:
                        raise RuntimeError(f"db {db} {size} failed:\n{done.stderr[-3000:]}")
                    f = json.loads(done.stdout.strip().splitlines()[-1])
                finally:
                    if drop:
                        drop()
            print(
                f"{f['studies']:>7,} {db:<8} | {f['site_view_s']:7.1f} s | {f['full_s']:7.1f} s "
                f"({f['files']:,} files) | {f['noop_s']:6.1f} s ({f['noop_written']}) | "
                f"{f['rss_mb']:.0f} MB",
                flush=True,
            )


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(phase: str, size: int, weeks: int, folder: Path, profile: bool) -> dict[str, Any]:
    from digest.publish.site_writer import write_site
    from digest.render import site

    view = synthetic_site(size, weeks, extra_week=phase in ("incremental", "noop"))
    figures: dict[str, Any] = {"view_rss_mb": _rss_mb()}
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    if phase == "before":
        files = site.build_site(view)
        report = write_site(files, folder)
        figures["files_mb"] = sum(map(len, files.values())) / 1e6
    else:
        from digest.publish.site_fragments import fragment_store

        with fragment_store(folder, fresh=phase == "full") as fragments:
            pages = site.site_pages(view, fragments)
            report = write_site(pages, folder, full=phase == "full")
    if profiler:
        profiler.disable()
    figures["seconds"] = time.perf_counter() - started
    figures["rendered"] = getattr(report, "rendered", len(report.written) + len(report.unchanged))
    figures["skipped"] = getattr(report, "skipped", 0)
    figures["written"] = len(report.written)
    figures["rss_mb"] = _rss_mb()
    if profiler:
        stats = pstats.Stats(profiler, stream=sys.stderr)
        print(f"--- profile: {phase}, {size:,} studies ---", file=sys.stderr)
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(15)
    return figures


def _before_tree() -> Path:
    """The code before issue 16's site work, extracted once (read-only use of git)."""
    tree = ROOT / ".cache" / "bench" / f"before-{BEFORE_REV}"
    if not (tree / "digest").is_dir():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", BEFORE_REV, "digest", "tests"], cwd=ROOT, capture_output=True
        )
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def _run_child(phase: str, size: int, weeks: int, folder: Path, profile: bool) -> dict[str, Any]:
    # run as a script, so `digest` comes from PYTHONPATH: the old tree for "before"
    command = [sys.executable, str(Path(__file__)), "--child", phase, str(size), str(weeks)]
    command += [str(folder), "1" if profile else "0"]
    code = _before_tree() if phase == "before" else ROOT
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(command, capture_output=True, text=True, cwd=code, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{phase} {size} failed:\n{done.stderr[-3000:]}")
    if profile:
        print(done.stderr, flush=True)
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def run(
    sizes: Sequence[int], weeks: int, profile: bool, before_max: int = 10_000
) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory(dir=ROOT / ".cache") as tmp:
        for size in sizes:
            row: dict[str, Any] = {"studies": size, "weeks": min(weeks, size)}
            before, after = Path(tmp) / f"before-{size}", Path(tmp) / f"after-{size}"
            w = row["weeks"]
            row["before"] = None
            if size <= before_max:
                row["before"] = _run_child("before", size, w, before, profile)
                shutil.rmtree(before)
            row["full"] = _run_child("full", size, w, after, profile)
            row["incremental"] = _run_child("incremental", size, w, after, profile)
            row["noop"] = _run_child("noop", size, w, after, profile)
            rows.append(row)
            _print_row(row)  # before the clean-up: removing 400k files takes minutes
            shutil.rmtree(after)
    _print_table(rows)
    return rows


def _print_row(row: dict[str, Any]) -> None:
    b = row["before"]
    print(
        f"{row['studies']:>7,} studies x {row['weeks']} weeks: "
        + (
            f"before {b['seconds']:6.1f} s, {b['written']:,} files built and written, "
            f"{b['rss_mb']:.0f} MB | "
            if b
            else "before not run (--before-max) | "
        )
        + " | ".join(
            f"{phase} {row[phase]['seconds']:6.1f} s, {row[phase]['rendered']:,} pages rendered, "
            f"{row[phase]['written']:,} files written, {row[phase]['rss_mb']:.0f} MB"
            for phase in ("full", "incremental", "noop")
        ),
        flush=True,
    )


def _print_table(rows: Sequence[dict[str, Any]]) -> None:
    print(
        "\nstudies x weeks | before: build+write (peak RSS) | full (peak RSS) | "
        f"incremental after one week of {WEEKLY} (pages rendered / written) | no-op | "
        "incremental / full | incremental / before"
    )
    for r in rows:
        b, f, i, n = r["before"], r["full"], r["incremental"], r["noop"]
        before = f"{b['seconds']:7.1f} s ({b['rss_mb']:5.0f} MB)" if b else "    not run      "
        versus = f"{i['seconds'] / b['seconds']:.3f}x" if b else "-"
        print(
            f"{r['studies']:>7,} x {r['weeks']:<3} | {before}"
            f" | {f['seconds']:7.1f} s ({f['rss_mb']:5.0f} MB) | {i['seconds']:6.2f} s "
            f"({i['rendered']:,} / {i['written']:,} of {f['written']:,} files) | "
            f"{n['seconds']:5.2f} s | {i['seconds'] / f['seconds']:.3f}x | {versus}"
        )
    print(
        "\npeak RSS of the view alone (the SiteView the build reads): "
        + ", ".join(f"{r['studies']:,}: {r['full']['view_rss_mb']:.0f} MB" for r in rows)
    )
    print("ratios against the smallest size (target: incremental < 5 s at 100k):")
    first = rows[0]
    for r in rows:
        print(
            f"  {r['studies']:>7,}: full {r['full']['seconds'] / first['full']['seconds']:6.1f}x, "
            f"incremental {r['incremental']['seconds'] / first['incremental']['seconds']:6.1f}x "
            f"(studies {r['studies'] / first['studies']:.0f}x)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else list(argv)
    if args_list[:1] == ["--db-child"]:
        url, records, folder = args_list[1:4]
        print(json.dumps(db_child(url, Path(records), Path(folder))))
        return 0
    if args_list[:1] == ["--child"]:
        phase, size, weeks, folder, profile = args_list[1:6]
        figures = child(phase, int(size), int(weeks), Path(folder), profile == "1")
        print(json.dumps(figures))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.bench_site", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000", help="studies, comma separated")
    parser.add_argument("--weeks", type=int, default=260, help="weekly digests (default 260)")
    parser.add_argument("--profile", action="store_true", help="print the top cProfile entries")
    parser.add_argument(
        "--before-max",
        type=int,
        default=10_000,
        help="run the old code ('before') only up to this size (at 100k it takes about an "
        "hour on 2 cores: an fsync per file, 400k files)",
    )
    parser.add_argument(
        "--db",
        choices=["none", "sqlite", "postgres", "both"],
        default="both",
        help="also time `digest site` from a database (default both)",
    )
    parser.add_argument("--db-sizes", default="1000,10000", help="stored studies for --db")
    args = parser.parse_args(args_list)
    (ROOT / ".cache").mkdir(exist_ok=True)
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",") if s]
        run(sizes, args.weeks, args.profile, args.before_max)
    if args.db != "none":
        dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
        run_db([int(s) for s in args.db_sizes.split(",") if s], dbs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
