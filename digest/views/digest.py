"""One weekly digest: its sections, changes and corrections, and the honest headline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from digest.views.study import SourceHealth, StudyView


@dataclass(frozen=True, slots=True)
class ChangeView:
    """Something already known that changed: a registration, an NCCIH page."""

    what: str  # e.g. "registration updated", "NCCIH guidance changed"
    summary: str
    on: date
    study_slug: str | None = None
    study_title: str | None = None
    url: str | None = None  # the changed page itself (NCCIH); http(s) only is rendered


@dataclass(frozen=True, slots=True)
class CorrectionView:
    """A retraction, erratum or concern found this week for a study already sent."""

    kind: str  # retraction | erratum | expression-of-concern | ...
    study: StudyView
    noted_on: date
    notice_slug: str | None = None
    notice_title: str | None = None
    first_sent_week: str | None = None  # the digest that carried the study, e.g. 2026-W45
    # from the re-check: the notice's own date and link, and who asserts it
    notice_date: str | None = None
    notice_url: str | None = None
    asserted_by: str | None = None


@dataclass(frozen=True, slots=True)
class ConditionSection:
    """One condition's new studies in a digest, ranked by the caller."""

    slug: str
    label: str
    studies: tuple[StudyView, ...]


@dataclass(frozen=True, slots=True)
class DigestView:
    """One weekly digest. `built_at` is passed in (never now()) so builds reproduce."""

    week: str  # ISO week, "2026-W47"
    title: str
    period_start: date
    period_end: date
    built_at: datetime  # aware (UTC)
    sections: tuple[ConditionSection, ...] = ()
    registrations_changed: tuple[ChangeView, ...] = ()
    guidance_changes: tuple[ChangeView, ...] = ()
    corrections: tuple[CorrectionView, ...] = ()
    health: tuple[SourceHealth, ...] = ()
    out_of_scope_count: int = 0
    # a monthly issue ("2026-11"): the month's sent weekly items, for monthly subscribers;
    # `week` is then its ledger key "2026-M11" and the wording says "this month"
    month: str | None = None
    # when the re-check of studies already sent last finished before this was built
    recheck_ran: datetime | None = None

    @property
    def span(self) -> str:
        return "month" if self.month else "week"

    def studies(self) -> tuple[StudyView, ...]:
        """Each study once, in section order (a study may sit under two conditions)."""
        seen: dict[str, StudyView] = {}
        for section in self.sections:
            for study in section.studies:
                seen.setdefault(study.slug, study)
        return tuple(seen.values())

    # ------------------------------------------------------------ honest counts
    # "New" in a digest means "first found this week", not "new research": a study found
    # this week may have been published years ago. These say which is which.

    def timing(self, study: StudyView) -> str:
        """'this-week' (its stated date falls in the week), 'earlier' (its stated date,
        however coarse, ended before the week began) or 'unclear' (no date, a date not
        exact enough to tell, or a date after the week)."""
        return publication_timing(study.published, self.period_start, self.period_end)

    @property
    def published_this_week_count(self) -> int:
        return sum(1 for s in self.studies() if self.timing(s) == "this-week")

    @property
    def found_earlier_count(self) -> int:
        """Newly found this week, but published before the week."""
        return sum(1 for s in self.studies() if self.timing(s) == "earlier")

    @property
    def unclear_date_count(self) -> int:
        """Newly found this week, publication date not exact enough to tell."""
        return sum(1 for s in self.studies() if self.timing(s) == "unclear")

    @property
    def week_label(self) -> str:
        """'Week of 30 Nov 2026': the week in words (the ISO week goes beside it);
        'November 2026' for a monthly issue."""
        if self.month:
            return f"{_MONTH_NAMES[self.period_start.month - 1]} {self.period_start.year}"
        return f"Week of {_day_words(self.period_start)}"

    # ------------------------------------------------------------ run health

    @property
    def failed_sources(self) -> tuple[str, ...]:
        return tuple(h.source for h in self.health if h.failed)

    @property
    def no_fetch_recorded(self) -> bool:
        """No source was fetched at all during the week."""
        return not self.health

    @property
    def all_sources_failed(self) -> bool:
        """Every source fetched this week failed (or none was fetched at all)."""
        return self.no_fetch_recorded or all(h.failed for h in self.health)

    @property
    def hold_send(self) -> bool:
        """True when the digest must not go to subscribers: no source could be searched,
        so "nothing found" would be untrue. The weekly job holds the send."""
        return self.all_sources_failed

    # ------------------------------------------------------------ ready wording

    @property
    def headline(self) -> str:
        """The honest one-line count, e.g. '1 study published this week · 4 found this
        week that were published earlier'."""
        if self.all_sources_failed and not self.studies():
            if self.no_fetch_recorded:
                return f"No sources were searched this {self.span}"
            return f"No source could be searched this {self.span}"
        parts = []
        if self.published_this_week_count:
            n = self.published_this_week_count
            parts.append(f"{_count(n, 'study', 'studies')} published this {self.span}")
        if self.found_earlier_count:
            n = self.found_earlier_count
            verb = "was" if n == 1 else "were"
            parts.append(f"{_count(n, 'study', 'studies')} newly found ({verb} published earlier)")
        if self.unclear_date_count:
            n = self.unclear_date_count
            parts.append(f"{_count(n, 'study', 'studies')} newly found (date not exact)")
        if not parts:
            return f"No new studies found this {self.span}"
        return " · ".join(parts)

    @property
    def subject(self) -> str:
        """The email subject: title, the week in words, the honest count."""
        when = self.week_label if self.month else f"week of {_day_words(self.period_start)}"
        return _one_line(f"{self.title}, {when}: {self.headline}")


def _one_line(text: str) -> str:
    return " ".join(text.split())


_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _day_words(value: date) -> str:
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _last_day(iso: str) -> tuple[date, date] | None:
    """The first and last day a stated date ('2026', '2026-11', '2026-11-30') can mean."""
    parts = iso.split("-")
    try:
        numbers = [int(p) for p in parts[:3]]
        if len(numbers) == 3:
            day = date(*numbers)
            return day, day
        if len(numbers) == 2:
            first = date(numbers[0], numbers[1], 1)
            following = date(numbers[0] + numbers[1] // 12, numbers[1] % 12 + 1, 1)
            return first, following - timedelta(days=1)
        return date(numbers[0], 1, 1), date(numbers[0], 12, 31)
    except (ValueError, IndexError):
        return None


def publication_timing(published: str | None, start: date, end: date) -> str:
    """'this-week', 'earlier' or 'unclear' for a stated publication date and a week."""
    span = _last_day(published) if published else None
    if span is None:
        return "unclear"
    first, last = span
    if first >= start and last <= end:
        return "this-week"
    if last < start:
        return "earlier"
    return "unclear"
