"""Shared limits that keep one hostile or broken input from stalling or exhausting a run.

- `Deadline`: a wall-clock budget (per HTTP request, per source run), checked between
  chunks of a body and before every retry sleep.
- Field caps: the longest text a single feed element or imported field may hold, and the
  largest library file `digest import` reads. Over-long text is cut (with a warning) before
  any third-party parser sees it, so no parser's worst case (feedparser's e-mail regex is
  quadratic on a long `<author>`) can be reached.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

# One feed element's text (title, author, summary, ...). Abstracts are far shorter.
MAX_FEED_TEXT_CHARS = 200_000
# Elements whose text feedparser runs regexes over that are slow on long input.
MAX_FEED_NAME_CHARS = 2_000
# One field of an imported library record (RIS/BibTeX/MEDLINE/JSON Lines).
MAX_IMPORT_FIELD_CHARS = 200_000
# A library file `digest import` reads (a clinic's library is a few MB).
MAX_IMPORT_FILE_BYTES = 50_000_000


@dataclass(slots=True)
class Deadline:
    """A point in (monotonic) time after which the work it guards must stop."""

    seconds: float
    what: str
    clock: Callable[[], float] = time.monotonic
    start: float = 0.0

    def __post_init__(self) -> None:
        self.start = self.clock()

    def remaining(self) -> float:
        return self.seconds - (self.clock() - self.start)

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def describe(self) -> str:
        return f"{self.what} exceeded its {self.seconds:g} s wall-clock budget"


def cap_text(text: str, limit: int) -> tuple[str, bool]:
    """The text cut to `limit` characters, and whether it was cut."""
    if len(text) <= limit:
        return text, False
    return text[:limit], True
