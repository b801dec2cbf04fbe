"""Pure ISO-week arithmetic: "2026-W47" <-> dates."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def parse_week(text: str) -> tuple[date, date]:
    """Monday and Sunday of an ISO week written like 2026-W47."""
    match = _WEEK.match(text)
    if not match:
        raise ValueError(f"not an ISO week (YYYY-Www, e.g. 2026-W47): {text!r}")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError as exc:
        raise ValueError(f"{year} has no week {week}") from exc
    return monday, monday + timedelta(days=6)


def week_of(day: date | datetime) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def last_complete_week(today: date) -> str:
    """The most recent ISO week that has fully ended before `today`."""
    return week_of(today - timedelta(days=today.isoweekday()))
