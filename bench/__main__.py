"""`python -m bench` (or `make bench`): every benchmark and evaluation, one after another.

Each module also runs alone: python -m bench.bench_parse | bench.bench_dedupe |
bench.bench_store | bench.bench_scale | bench.bench_site | bench.bench_recheck |
bench.eval_classify.
"""

from __future__ import annotations

import importlib
import sys
import time

MODULES = (
    "bench.bench_parse",
    "bench.bench_dedupe",
    "bench.bench_store",
    "bench.bench_scale",
    "bench.bench_site",
    "bench.bench_recheck",
    "bench.eval_classify",
)


def main() -> None:
    chosen = [m for m in MODULES if not sys.argv[1:] or m.rsplit(".", 1)[-1] in sys.argv[1:]]
    for name in chosen:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        sys.argv = [name]  # each bench parses its own options; run them with defaults
        importlib.import_module(name).main()
        print(f"({name} took {time.perf_counter() - started:.1f}s)", flush=True)


if __name__ == "__main__":
    main()
