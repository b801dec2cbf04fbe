"""Plain-text tables the commands print (the CLI and `digest demo` share them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from digest.ingest.run import SourceRunResult


def print_table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """Left-aligned columns, two spaces apart, no trailing blanks."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip(), file=out)


def print_fetch_table(results: Sequence[SourceRunResult], out: TextIO) -> None:
    """One row per source run: outcome, counts and seconds."""
    rows = [("source", "outcome", "fetched", "new", "updated", "unchanged", "seconds")]
    for r in results:
        s = r.summary
        rows.append(
            (
                r.name,
                r.outcome,
                str(s.fetched),
                str(s.new),
                str(s.updated),
                str(s.unchanged),
                f"{r.seconds:.1f}",
            )
        )
    print_table(rows, out)
