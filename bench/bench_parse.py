"""EFetch parse benchmark: throughput and peak memory at 3 MB, 120 MB and 600 MB, against
Biopython, pubmed_parser and a bare lxml iterparse loop, in the same run.

    python -m bench.bench_parse [--sizes 3,120,600] [--repeats 5] [--rounds 3] [--profile SIZE]
    python -m bench bench_parse          # the same, with the defaults

The files. 3 MB is the largest genuine EFetch recording, unchanged
(tests/fixtures/corpus/pubmed-efetch/hawc_efetch_259_phthalates_liver.xml, 259 articles).
The 120 MB and 600 MB files are DERIVED from it, not new data: its genuine articles
repeated, each copy with its PMIDs renumbered (copy k adds k x 10^9 to every PMID, so
no two articles share one and references point within their copy). They are written once
to .cache/bench/ (git-ignored) and reused.

The contenders, each run in its own fresh interpreter so that its peak RSS is its own:
  ours             digest.sources.pubmed.parse.iter_efetch(path): batches of records read
                   from the file as it goes (what `digest import` does), each batch dropped
  ours-bytes       parse_efetch(path.read_bytes()): the whole payload and every record in
                   memory (how a fetched page is parsed; before iter_efetch, also imports)
  biopython        Bio.Entrez.read(file) (Entrez.parse refuses a PubmedArticleSet: "does
                   not represent a list")
  pubmed_parser    pubmed_parser.parse_medline_xml(path), consumed; it opens its input with
                   gzip.open, so the child lets it open the same plain file instead
  lxml-iterparse   a bare iterparse loop over the same tags and options as ours, clearing
                   each article (parsing only, nothing read out of the articles)
Time: the CPU time (user + system, time.process_time) of the parse only, which the load
of a shared machine moves far less than wall time (printed beside it); best of --rounds
rounds, each round one fresh child per contender in turn doing --repeats runs (above
100 MB: one round of one run). MB/s, articles/s and the ratios are from CPU time.
Memory: the children's highest ru_maxrss, minus that of a baseline child that only
imported the same modules. Ratios are throughput ratios, ours/peer (a peer's CPU seconds
over ours).
The full run takes some 7 minutes on 2 cores and about 8 GB of free memory: Biopython
holds the 600 MB file as dicts (7 GB peak). `--sizes 3` takes half a minute.
Targets (issue #16): ours >= 5x Biopython and >= 3x pubmed_parser at every size; ours
under 60 MB above baseline on the 600 MB file. On a shared machine the figures still move
with its load; ratios from one run are what to compare.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import pstats
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GENUINE = ROOT / "tests/fixtures/corpus/pubmed-efetch/hawc_efetch_259_phthalates_liver.xml"
CACHE = ROOT / ".cache" / "bench"
DEFAULT_SIZES = (3, 120, 600)
DEFAULT_REPEATS = 5
DEFAULT_ROUNDS = 3
SINGLE_RUN_ABOVE_MB = 100
CONTENDERS = ("ours", "ours-bytes", "biopython", "pubmed_parser", "lxml-iterparse")
PEERS = ("biopython", "pubmed_parser", "lxml-iterparse")
TARGET_VS_BIOPYTHON = 5.0
TARGET_VS_PUBMED_PARSER = 3.0
TARGET_PEAK_MB = 60.0
TARGET_PEAK_AT_MB = 600

# The same safety options and top-level tags as digest.sources.pubmed.parse_efetch, so the
# bare loop does exactly the parsing work ours does and nothing else.
SAFE_XML: dict[str, Any] = {"resolve_entities": False, "no_network": True, "load_dtd": False}
TOP_LEVEL_TAGS = ("PubmedArticle", "PubmedBookArticle", "DeleteCitation", "ERROR")


# ------------------------------------------------------------------ the files

_PMID_RE = re.compile(rb'(<PMID Version="\d+">|<ArticleId IdType="pubmed">)(\d+)(</)')


def bench_file(size_mb: int) -> Path:
    """The genuine recording for 3 MB; above, a file derived from it (see the docstring)."""
    genuine_mb = GENUINE.stat().st_size / 1e6
    copies = max(1, math.ceil(size_mb / genuine_mb - 0.01))
    if copies == 1:
        return GENUINE
    path = CACHE / f"efetch_{size_mb}mb_derived_{copies}x_{GENUINE.stem}.xml"
    if path.exists():
        return path
    payload = GENUINE.read_bytes()
    start = payload.index(b"<PubmedArticle>")
    end = payload.rindex(b"</PubmedArticleSet>")
    head, articles, tail = payload[:start], payload[start:end], payload[end:]
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        out.write(head)
        for copy in range(copies):
            offset = copy * 10**9

            def renumber(match: re.Match[bytes], offset: int = offset) -> bytes:
                return match[1] + str(int(match[2]) + offset).encode() + match[3]

            out.write(_PMID_RE.sub(renumber, articles) if offset else articles)
        out.write(tail)
    partial.rename(path)
    return path


# ------------------------------------------------------------------ the child side


def _import_contender(name: str) -> Callable[[Path], int]:
    """Import what `name` needs and return a function: path -> articles read."""
    if name == "ours":
        from digest.sources.pubmed.parse import iter_efetch

        return lambda path: sum(len(batch.parsed.records) for batch in iter_efetch(path))
    if name == "ours-bytes":
        from digest.sources.pubmed.parse import parse_efetch

        return lambda path: len(parse_efetch(path.read_bytes()).records)
    if name == "biopython":
        from Bio import Entrez

        def biopython(path: Path) -> int:
            with path.open("rb") as handle:
                parsed = Entrez.read(handle)
            return len(parsed["PubmedArticle"]) + len(parsed["PubmedBookArticle"])

        return biopython
    if name == "pubmed_parser":
        import types

        import pubmed_parser
        import pubmed_parser.medline_parser as medline_parser

        # parse_medline_xml opens its path with gzip.open: give it the same plain file.
        medline_parser.gzip = types.SimpleNamespace(  # type: ignore[assignment]
            open=lambda path, mode="rb": open(path, mode)  # noqa: SIM115
        )
        return lambda path: sum(1 for _ in pubmed_parser.parse_medline_xml(str(path)))
    if name == "lxml-iterparse":
        from lxml import etree

        def bare_iterparse(path: Path) -> int:
            count = 0
            for _event, element in etree.iterparse(
                str(path), events=("end",), tag=TOP_LEVEL_TAGS, **SAFE_XML
            ):
                count += 1
                element.clear(keep_tail=True)
                parent = element.getparent()
                while element.getprevious() is not None:
                    del parent[0]
            return count

        return bare_iterparse
    raise SystemExit(f"unknown contender {name}")


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(name: str, path: Path, repeats: int, baseline: bool) -> dict[str, Any]:
    try:
        action = _import_contender(name)
    except ImportError as exc:
        return {"missing": str(exc)}
    if baseline:
        return {"rss_mb": _max_rss_mb()}
    seconds = wall = math.inf
    count = 0
    for _ in range(repeats):
        started, started_wall = time.process_time(), time.perf_counter()
        count = action(path)
        seconds = min(seconds, time.process_time() - started)
        wall = min(wall, time.perf_counter() - started_wall)
    return {"seconds": seconds, "wall": wall, "articles": count, "rss_mb": _max_rss_mb()}


# ------------------------------------------------------------------ the parent side


def _run_child(name: str, path: Path, repeats: int, baseline: bool = False) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.bench_parse", "--child", name, "--file", str(path)]
    command += ["--repeats", str(repeats)] + (["--baseline"] if baseline else [])
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"failed": done.stderr.strip().splitlines()[-1:] or ["no output"]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(size_mb: int, repeats: int, rounds: int) -> dict[str, Any]:
    path = bench_file(size_mb)
    megabytes = path.stat().st_size / 1e6
    if megabytes > SINGLE_RUN_ABOVE_MB:
        repeats = rounds = 1
    figures: dict[str, dict[str, Any]] = {}
    for _round in range(rounds):
        for name in CONTENDERS:
            measured = _run_child(name, path, repeats)
            best = figures.get(name)
            if best is None or measured.get("seconds", math.inf) < best.get("seconds", math.inf):
                measured["rss_mb"] = max(measured.get("rss_mb", 0), (best or {}).get("rss_mb", 0))
                figures[name] = measured
            else:
                best["rss_mb"] = max(best.get("rss_mb", 0), measured.get("rss_mb", 0))
    for name, measured in figures.items():
        if "seconds" in measured:
            base = _run_child(name, path, repeats, baseline=True)
            measured["peak_mb"] = measured["rss_mb"] - base["rss_mb"]
            measured["mb_per_s"] = megabytes / measured["seconds"]
            measured["articles_per_s"] = measured["articles"] / measured["seconds"]
    ours = figures["ours"].get("seconds")
    ratios = {
        peer: figures[peer]["seconds"] and ours and figures[peer]["seconds"] / ours
        for peer in PEERS
        if "seconds" in figures[peer]
    }
    targets: dict[str, bool | None] = {
        f"ours >= {TARGET_VS_BIOPYTHON:g}x biopython": _met(
            ratios.get("biopython"), TARGET_VS_BIOPYTHON
        ),
        f"ours >= {TARGET_VS_PUBMED_PARSER:g}x pubmed_parser": _met(
            ratios.get("pubmed_parser"), TARGET_VS_PUBMED_PARSER
        ),
    }
    if size_mb >= TARGET_PEAK_AT_MB:
        peak = figures["ours"].get("peak_mb")
        targets[f"ours peak < {TARGET_PEAK_MB:g} MB above baseline"] = (
            None if peak is None else peak < TARGET_PEAK_MB
        )
    return {
        "file": path.name,
        "mb": megabytes,
        "runs": f"{rounds} round(s) of {repeats} run(s)",
        "figures": figures,
        "ratios": ratios,
        "targets": targets,
    }


def _met(ratio: float | None, target: float) -> bool | None:
    return None if ratio is None else ratio >= target


def report(size: dict[str, Any]) -> str:
    articles = next((f["articles"] for f in size["figures"].values() if "articles" in f), "?")
    lines = [
        f"{size['file']}: {size['mb']:.1f} MB, {articles} articles, best of {size['runs']}",
        f"  {'contender':<16}{'cpu s':>9}{'wall s':>9}{'MB/s':>8}{'articles/s':>12}"
        f"{'peak MB':>9}{'ours/peer':>11}",
    ]
    for name, figures in size["figures"].items():
        if "seconds" not in figures:
            why = figures.get("missing") or " ".join(figures.get("failed", []))
            lines.append(f"  {name:<16}skipped: {why}")
            continue
        ratio = size["ratios"].get(name)
        lines.append(
            f"  {name:<16}{figures['seconds']:>9.3f}{figures['wall']:>9.3f}"
            f"{figures['mb_per_s']:>8.1f}"
            f"{figures['articles_per_s']:>12,.0f}{figures['peak_mb']:>9.1f}"
            + (f"{ratio:>10.2f}x" if ratio else "")
        )
    for name, met in size["targets"].items():
        verdict = "n/a (peer missing)" if met is None else ("met" if met else "MISSED")
        lines.append(f"  target {name:<40}{verdict}")
    return "\n".join(lines)


def profile(size_mb: int, top: int = 25) -> str:
    """cProfile of ours (iter_efetch) on one size, in this process."""
    from digest.sources.pubmed.parse import iter_efetch

    path = bench_file(size_mb)
    profiler = cProfile.Profile()
    profiler.enable()
    for _batch in iter_efetch(path):
        pass
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="MB, e.g. 3")
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS)
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument("--profile", type=int, metavar="SIZE", help="cProfile ours instead")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    # parse_known_args: `python -m bench bench_parse` leaves its own words in sys.argv.
    arguments, _unknown = parser.parse_known_args()
    if arguments.child:
        figures = child(arguments.child, arguments.file, arguments.repeats, arguments.baseline)
        print(json.dumps(figures))
        return
    if arguments.profile:
        print(profile(arguments.profile))
        return
    for size_mb in (int(size) for size in arguments.sizes.split(",")):
        print(report(measure(size_mb, arguments.repeats, arguments.rounds)), flush=True)


if __name__ == "__main__":
    main()
