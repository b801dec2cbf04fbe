"""Issue 17, command side: CSV export neutralises formulas; bad input files, URLs and
folders are one-line errors (exit 2), never tracebacks; `digest serve` survives hostile
clients.

Bad inputs are HAND-MADE in the tests (named handmade_*).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from digest.cli import main
from digest.export import CSV_COLUMNS, to_csv


def run(config: Path | None, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    prefix = ["--config", str(config)] if config else []
    code = main([*prefix, *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


# ------------------------------------------------------------------ 8. CSV injection


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_handmade_formula_cells_are_neutralised_in_csv(start: str) -> None:
    item: dict[str, Any] = {c: None for c in CSV_COLUMNS}
    item.update(
        slug="pmid-1",
        title=f'{start}HYPERLINK("https://evil.example","x")',
        journal=f"{start}1+1",
        conditions=[f"{start}cmd|' /C calc'!A0"],
        sample_size=120,
        records=[{"source": "import", "source_id": "x"}],
    )
    rows = list(csv.DictReader(io.StringIO(to_csv([item]), newline="")))
    shown = "\n" if start == "\r" else start  # a CR inside a cell is written as LF (quoted)
    assert len(rows) == 1
    assert rows[0]["title"].startswith("'" + shown)
    assert rows[0]["journal"] == f"'{shown}1+1"
    assert rows[0]["conditions"].startswith("'" + shown)
    assert rows[0]["sample_size"] == "120"  # numbers stay numbers
    assert rows[0]["slug"] == "pmid-1"
