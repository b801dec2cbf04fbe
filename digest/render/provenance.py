"""Where a digest's studies came from: source names, how it was made, failed searches."""

from __future__ import annotations

from datetime import UTC

from digest.render.wording import day_text
from digest.sources import traits_of
from digest.views import DigestView

# names that are no source kind's records; each kind's own label is in its traits
OTHER_LABELS = {"library": "the clinic's own reference library"}


def source_label(source: str) -> str:
    """A source (a record's `source` value, or a health entry's) in a reader's words."""
    return traits_of(source).label or OTHER_LABELS.get(source, source)


def how_made_line(digest: DigestView) -> str:
    """The subscriber's one plain line on how the digest was made (no pipeline counts)."""
    total = len(digest.health)
    if digest.no_fetch_recorded:
        return (
            "No research source was searched this week, so this digest cannot say whether "
            "anything new was published."
        )
    failed = len(digest.failed_sources)
    base = (
        f"A computer searched {total} research source{'s' if total != 1 else ''} (such as "
        "PubMed and ClinicalTrials.gov), sorted what it found by study design and quoted "
        "each conclusion as the authors wrote it; no one rated the studies."
    )
    if failed == total:
        return (
            f"No research source could be searched this week ({total} tried), so this "
            "digest cannot say whether anything new was published."
        )
    if failed:
        return (
            base + f" {failed} of {total} sources could not be reached, so some studies "
            "may be missing; they will appear once the source is searched again."
        )
    return base


def failure_notice(digest: DigestView) -> str | None:
    """The plain warning a digest opens with when its sources failed, else None."""
    if digest.no_fetch_recorded:
        return (
            "No research source was searched this week. This is not a quiet week: we "
            "cannot say whether anything new was published."
        )
    failed, total = len(digest.failed_sources), len(digest.health)
    if failed == total:
        return (
            f"Every research source failed this week ({total} of {total}). This is not a "
            "quiet week: we could not look, so we cannot say whether anything new was "
            "published."
        )
    if failed:
        return (
            f"{failed} of {total} research sources could not be searched this week, so this "
            "digest may be missing studies. They will appear once the source is searched "
            "again."
        )
    return None


def recheck_line(digest: DigestView) -> str | None:
    """When the studies of earlier issues were last re-checked (None: never, or a digest
    built before the re-check existed)."""
    ran = digest.recheck_ran
    if ran is None:
        return None
    when = ran.astimezone(UTC)
    return (
        "Every study an earlier issue carried is re-checked daily for retractions, "
        "expressions of concern and corrections (Crossref, including Retraction Watch's "
        f"data, and PubMed); the last re-check ran on {day_text(when.date())} at "
        f"{when:%H:%M} UTC."
    )
