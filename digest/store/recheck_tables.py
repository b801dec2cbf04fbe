"""The re-check's tables (migration 0007_recheck): per-identifier state, the notices found
(the correction clock), the correction-email ledger and the run log.

Works are named by identifier (`doi:…`, `pmid:…`), not by study id: a merge may drop a
study row, never the identifiers of the work it was.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from digest.model import utcnow


class RecheckState(SQLModel, table=True):
    """One identifier the re-check asks about: when, and what it last heard."""

    __tablename__ = "recheck_state"

    scheme: str = Field(primary_key=True)  # doi | pmid
    value: str = Field(primary_key=True)
    first_checked_at: datetime = Field(default_factory=utcnow)
    last_checked_at: datetime = Field(default_factory=utcnow, index=True)
    # when the work itself was last fetched (the incremental pass asks only what changed)
    last_full_at: datetime = Field(default_factory=utcnow)
    outcome: str = "found"  # found | not-found (not in Crossref / no PubMed article)
    fingerprint: str = ""  # the notice keys last seen, sorted and joined
    changed_at: datetime | None = None


class StudyNotice(SQLModel, table=True):
    """A notice about a work the archive holds: the correction clock's row."""

    __tablename__ = "study_notice"
    __table_args__ = (UniqueConstraint("work", "notice_key", name="uq_study_notice"),)

    id: int | None = Field(default=None, primary_key=True)
    work: str = Field(index=True)  # the checked work: "doi:10.x/y" or "pmid:123"
    notice_key: str  # kind|doi:… or kind|pmid:…
    kind: str  # digest.facts.NOTICE_TYPES
    notice_doi: str | None = None
    notice_pmid: str | None = None
    notice_date: str | None = None  # as the source dated it (YYYY[-MM[-DD]])
    asserted_by: str = "publisher"
    label: str | None = None
    first_seen_at: datetime = Field(default_factory=utcnow, index=True)
    # when subscribers were first told: the issue that carried it went out, or the email
    told_at: datetime | None = None
    told_how: str | None = None  # "issue 2026-W48" | "email"


class CorrectionDelivery(SQLModel, table=True):
    """Correction-email ledger: one row per (correction, subscriber), `sent` once sent."""

    __tablename__ = "correction_delivery"
    __table_args__ = (UniqueConstraint("correction", "subscriber_id", name="uq_correction"),)

    id: int | None = Field(default=None, primary_key=True)
    correction: str = Field(index=True)  # "doi:10.x/y|retraction": the work and the kind
    subscriber_id: int = Field(foreign_key="subscriber.id", index=True)
    status: str = "sending"  # sending | sent | failed | unconfirmed
    message_id: str | None = None
    last_error: str | None = None
    sent_at: datetime | None = None


class RecheckRun(SQLModel, table=True):
    """One run of the re-check: what `digest status` and the site's footer report."""

    __tablename__ = "recheck_run"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(default_factory=utcnow, index=True)
    finished_at: datetime | None = None
    outcome: str = "running"  # running | ok | failed
    studies: int = 0  # studies on the watch list
    checked: int = 0  # identifiers asked about this run
    requests: int = 0
    not_found: int = 0
    new_notices: int = 0
    emails: int = 0
    error: str | None = None
