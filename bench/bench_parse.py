"""EFetch parse benchmark on the largest real recording (259 articles, about 3 MB).

    python -m bench.bench_parse [--repeats 7]

Times, best of N interleaved runs (time.perf_counter), on the same bytes:
  ours             digest.sources.pubmed.parse.parse_efetch (in-memory path: the payload is
                   below STREAM_ABOVE_BYTES, as every EFetch page is)
  ours-streaming   the same with stream_above=0 (iterparse, articles freed as read)
  biopython        Bio.Entrez.read (the usual way to read EFetch XML in Python)
  lxml-fromstring  a bare lxml.etree.fromstring with our parser options (parse only)
  lxml-iterparse   a bare iterparse loop over the same tags, clearing each article
                   (the streaming path minus reading the articles)
Targets: ours >= 5x Biopython, and >= 0.5x the bare lxml parse (throughput ratios).
On a shared machine the figures move with its load; compare ratios from one run.
"""

from __future__ import annotations

import argparse
import gc
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lxml import etree

from digest.sources.pubmed import parse as pubmed

BENCH_FILE = (
    Path(__file__).resolve().parent.parent
    / "tests/fixtures/corpus/pubmed-efetch/hawc_efetch_259_phthalates_liver.xml"
)
DEFAULT_REPEATS = 7
TARGET_VS_BIOPYTHON = 5.0
TARGET_VS_LXML = 0.5


def best_times(actions: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Fastest of `repeats` runs of each action, in seconds.

    Rounds are interleaved (A B C, A B C, ...) so that every contender sees the same
    machine load; garbage from earlier runs is collected before each run.
    """
    timings: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            gc.collect()
            started = time.perf_counter()
            action()
            timings[name].append(time.perf_counter() - started)
    return {name: min(values) for name, values in timings.items()}


# The same safety options and top-level tags as digest.sources.pubmed.parse, so the bare
# contenders do exactly the parsing work ours does and nothing else.
SAFE_XML: dict[str, Any] = {"resolve_entities": False, "no_network": True, "load_dtd": False}
TOP_LEVEL_TAGS = ("PubmedArticle", "PubmedBookArticle", "DeleteCitation", "ERROR")


def bare_fromstring(payload: bytes) -> None:
    etree.fromstring(payload, etree.XMLParser(**SAFE_XML))


def bare_iterparse(payload: bytes) -> None:
    context = etree.iterparse(io.BytesIO(payload), events=("end",), tag=TOP_LEVEL_TAGS, **SAFE_XML)
    for _event, element in context:
        element.clear(keep_tail=True)
        parent = element.getparent()
        while element.getprevious() is not None:
            del parent[0]


def biopython_read(payload: bytes) -> Callable[[], object] | None:
    try:
        from Bio import Entrez
    except ImportError:  # a dev-only dependency
        return None
    read: Callable[[io.BytesIO], object] = Entrez.read  # Biopython's def is untyped
    return lambda: read(io.BytesIO(payload))


def run(repeats: int = DEFAULT_REPEATS, path: Path = BENCH_FILE) -> dict[str, Any]:
    """Measure every contender on `path`; the figures as a dict (for a combined runner)."""
    payload = path.read_bytes()
    records = len(pubmed.parse_efetch(payload).records)
    contenders: dict[str, Callable[[], object] | None] = {
        "ours": lambda: pubmed.parse_efetch(payload),
        "ours-streaming": lambda: pubmed.parse_efetch(payload, stream_above=0),
        "biopython": biopython_read(payload),
        "lxml-fromstring": lambda: bare_fromstring(payload),
        "lxml-iterparse": lambda: bare_iterparse(payload),
    }
    seconds = best_times(
        {name: action for name, action in contenders.items() if action is not None}, repeats
    )
    megabytes = len(payload) / 1_000_000
    ratios = {
        f"{ours}/{other}": seconds[other] / seconds[ours]
        for ours in ("ours", "ours-streaming")
        for other in ("biopython", "lxml-fromstring", "lxml-iterparse")
        if other in seconds
    }
    return {
        "file": path.name,
        "bytes": len(payload),
        "records": records,
        "repeats": repeats,
        "seconds": seconds,
        "records_per_s": {name: records / value for name, value in seconds.items()},
        "mb_per_s": {name: megabytes / value for name, value in seconds.items()},
        "ratios": ratios,
        "targets": {
            "ours >= 5x biopython": _met(ratios.get("ours/biopython"), TARGET_VS_BIOPYTHON),
            "ours >= 0.5x lxml-fromstring": _met(ratios["ours/lxml-fromstring"], TARGET_VS_LXML),
            "ours >= 0.5x lxml-iterparse": _met(ratios["ours/lxml-iterparse"], TARGET_VS_LXML),
            "ours-streaming >= 5x biopython": _met(
                ratios.get("ours-streaming/biopython"), TARGET_VS_BIOPYTHON
            ),
            "ours-streaming >= 0.5x lxml-iterparse": _met(
                ratios["ours-streaming/lxml-iterparse"], TARGET_VS_LXML
            ),
        },
    }


def _met(ratio: float | None, target: float) -> bool | None:
    return None if ratio is None else ratio >= target


def report(figures: dict[str, Any]) -> str:
    lines = [
        f"{figures['file']}: {figures['bytes'] / 1e6:.2f} MB, {figures['records']} records, "
        f"best of {figures['repeats']}",
        f"{'contender':<17}{'ms':>9}{'records/s':>12}{'MB/s':>9}",
    ]
    for name, seconds in figures["seconds"].items():
        lines.append(
            f"{name:<17}{seconds * 1000:>9.1f}{figures['records_per_s'][name]:>12,.0f}"
            f"{figures['mb_per_s'][name]:>9.1f}"
        )
    if "biopython" not in figures["seconds"]:
        lines.append("biopython: not installed, skipped")
    lines.append("throughput ratios:")
    lines.extend(f"  {name:<34}{value:>6.2f}x" for name, value in figures["ratios"].items())
    lines.append("targets:")
    for name, met in figures["targets"].items():
        verdict = "n/a" if met is None else ("met" if met else "NOT met")
        lines.append(f"  {name:<38}{verdict}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS)
    # parse_known_args: `python -m bench bench_parse` leaves its own words in sys.argv.
    arguments, _unknown = parser.parse_known_args()
    print(report(run(repeats=arguments.repeats)))


if __name__ == "__main__":
    main()
