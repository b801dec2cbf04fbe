"""What a source said (plain dataclasses) and the SQLModel tables it is stored in.

`RecordData` is parsed-but-unstored data: parsers return it, the store saves it. It
is the normalized record format of PRODUCT.md; `to_json()` gives its JSON Lines form.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

# Field order of the normalized record, as printed by `digest parse`.
RECORD_FIELDS = (
    "source",
    "source_id",
    "pmid",
    "doi",
    "pmcid",
    "nct_ids",
    "title",
    "abstract",
    "journal",
    "published",
    "authors",
    "publication_types",
    "mesh_terms",
    "language",
    "url",
    "relations",
    "extra",
)


@dataclass(frozen=True, slots=True)
class Relation:
    """A typed link from one record to another work, as its source stated it.

    `kind` is one of `digest.facts.RELATION_KINDS` ("retracted-by", "erratum-in",
    "update-of", "preprint-of", "registration", ...). The target is named by whichever
    identifiers the source gave; `date` is the notice's date when known, `via` who asserts
    the link when that is not the source itself (e.g. "retraction-watch"), `note` the
    source's own words (PubMed's RefSource citation), `target_retracted` that the source
    says the target is retracted (a registry listing a retracted results paper).
    """

    kind: str
    pmid: str | None = None
    doi: str | None = None
    pmcid: str | None = None
    ppr: str | None = None
    registry_id: str | None = None
    date: str | None = None
    via: str | None = None
    note: str | None = None
    target_retracted: bool = False

    def to_json_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, False)}

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> Relation:
        return cls(**{k: data[k] for k in _RELATION_FIELDS if k in data})


_RELATION_FIELDS = (
    *("kind", "pmid", "doi", "pmcid", "ppr", "registry_id"),
    *("date", "via", "note", "target_retracted"),
)


@dataclass(slots=True)
class RecordData:
    """One thing one source said once, normalized (PRODUCT.md "Normalized record")."""

    source: str
    source_id: str
    pmid: str | None = None
    doi: str | None = None
    pmcid: str | None = None
    nct_ids: list[str] = field(default_factory=list)
    title: str = ""
    abstract: str | None = None
    journal: str | None = None
    published: str | None = None
    authors: list[str] = field(default_factory=list)
    publication_types: list[str] = field(default_factory=list)
    mesh_terms: list[str] = field(default_factory=list)
    language: str | None = None
    url: str | None = None
    relations: list[Relation] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["relations"] = [r.to_json_dict() for r in self.relations]
        return {name: data[name] for name in RECORD_FIELDS}

    def to_json(self) -> str:
        return json.dumps(self.to_json_dict(), ensure_ascii=False, sort_keys=False)

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> RecordData:
        known = {name: data[name] for name in RECORD_FIELDS if name in data}
        known["relations"] = [
            Relation.from_json_dict(r) for r in data.get("relations") or [] if isinstance(r, dict)
        ]
        return cls(**known)

    def content_hash(self) -> str:
        """Hash of what the record says; equal hashes mean nothing changed."""
        return content_hash_of(self.to_json_dict())


def content_hash_of(data: dict[str, Any]) -> str:
    """`RecordData.content_hash` of a record's `to_json_dict()` (saves serialising twice)."""
    if not data["relations"]:  # records stored before relations existed keep their hash
        data = {name: value for name, value in data.items() if name != "relations"}
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(slots=True)
class ParseResult:
    """What one payload held: records, ids the source says are deleted, soft warnings."""

    records: list[RecordData] = field(default_factory=list)
    deleted_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def utcnow() -> datetime:
    """Aware UTC now (sqlmodel's UTCDateTime columns refuse naive datetimes)."""
    return datetime.now(UTC)


def _json_column() -> Any:
    return Column(JSON, nullable=False)


# --------------------------------------------------------------------------- tables


class SourceState(SQLModel, table=True):
    """Per configured source: its cursor and conditional-GET validators."""

    __tablename__ = "source_state"

    name: str = Field(primary_key=True)
    kind: str
    cursor: dict[str, Any] = Field(default_factory=dict, sa_column=_json_column())
    updated_at: datetime = Field(default_factory=utcnow)


class FetchRun(SQLModel, table=True):
    """One attempt to fetch one source; the run log `digest status` reads."""

    __tablename__ = "fetch_run"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(index=True)
    kind: str
    started_at: datetime = Field(default_factory=utcnow, index=True)
    finished_at: datetime | None = None
    outcome: str = "running"  # running | ok | failed | not-modified
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    error: str | None = None


class Payload(SQLModel, table=True):
    """A raw response body exactly as received, content-addressed (gzip at rest)."""

    __tablename__ = "payload"

    sha256: str = Field(primary_key=True, max_length=64)
    source: str = Field(index=True)
    url: str
    content_type: str | None = None
    fetched_at: datetime = Field(default_factory=utcnow)
    size: int
    body_gz: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # what the kind's parser needs besides the body (a feed's configured name, a watched
    # page's selectors): re-parsing body + context gives the records this payload stored.
    # NULL for payloads stored before migration 0002.
    context: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class Record(SQLModel, table=True):
    """A stored RecordData: what one source said about one work, latest version."""

    __tablename__ = "record"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_record_source_id"),
        # the refresh's dirty check reads this index alone, not every record (0007)
        Index("ix_record_dirty", "id", "deleted", "content_hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(index=True)
    source_id: str
    fetched_by: str | None = None  # configured source name that last reported it
    data: dict[str, Any] = Field(default_factory=dict, sa_column=_json_column())
    content_hash: str = Field(max_length=64)
    payload_sha256: str | None = Field(default=None, foreign_key="payload.sha256")
    first_seen: datetime = Field(default_factory=utcnow, index=True)
    last_seen: datetime = Field(default_factory=utcnow)
    last_changed: datetime = Field(default_factory=utcnow)
    deleted: bool = False
    study_id: int | None = Field(default=None, foreign_key="study.id", index=True)


class RecordChange(SQLModel, table=True):
    """A stored record that changed: a registry update, an NCCIH page edit, a new flag."""

    __tablename__ = "record_change"

    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="record.id", index=True)
    detected_at: datetime = Field(default_factory=utcnow, index=True)
    summary: str
    diff: dict[str, Any] = Field(default_factory=dict, sa_column=_json_column())
    old_hash: str
    new_hash: str


class Study(SQLModel, table=True):
    """One work, however many records reported it; fields merged from its best record."""

    __tablename__ = "study"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, index=True)
    primary_record_id: int | None = None
    title: str = ""
    abstract: str | None = None
    journal: str | None = None
    published: str | None = None
    doi: str | None = Field(default=None, index=True)
    pmid: str | None = Field(default=None, index=True)
    pmcid: str | None = None
    nct_ids: list[str] = Field(default_factory=list, sa_column=_json_column())
    authors: list[str] = Field(default_factory=list, sa_column=_json_column())
    publication_types: list[str] = Field(default_factory=list, sa_column=_json_column())
    mesh_terms: list[str] = Field(default_factory=list, sa_column=_json_column())
    language: str | None = None
    url: str | None = None
    provenance: dict[str, Any] = Field(default_factory=dict, sa_column=_json_column())
    # classification (digest.classify); recomputed by `digest reclassify`
    design: str = "other"
    design_evidence: str | None = None  # why the classifier chose the design
    conditions: list[str] = Field(default_factory=list, sa_column=_json_column())
    interventions: list[str] = Field(default_factory=list, sa_column=_json_column())
    comparator: str | None = None
    sample_size: int | None = None
    key_finding: str | None = None
    badges: list[str] = Field(default_factory=list, sa_column=_json_column())
    in_scope: bool = Field(default=False, index=True)
    classified_with: str | None = Field(default=None, index=True)  # None: (re)classify
    # status flags
    retracted: bool = False
    has_erratum: bool = False
    is_preprint: bool = False
    first_seen: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class SlugAlias(SQLModel, table=True):
    """An old slug of a study, kept so that permalinks never break."""

    __tablename__ = "slug_alias"

    slug: str = Field(primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class StudyLink(SQLModel, table=True):
    """A relation between two different works (registration, erratum, retraction, ...)."""

    __tablename__ = "study_link"
    __table_args__ = (UniqueConstraint("from_study_id", "to_study_id", "kind", name="uq_link"),)

    id: int | None = Field(default=None, primary_key=True)
    from_study_id: int = Field(foreign_key="study.id", index=True)
    to_study_id: int = Field(foreign_key="study.id", index=True)
    kind: str
    evidence: str | None = None


class DuplicateCandidate(SQLModel, table=True):
    """A near-miss held apart for a person to confirm (merge) or reject (keep-apart)."""

    __tablename__ = "duplicate_candidate"
    __table_args__ = (UniqueConstraint("record_a_id", "record_b_id", name="uq_dup_pair"),)

    id: int | None = Field(default=None, primary_key=True)
    record_a_id: int = Field(foreign_key="record.id", index=True)
    record_b_id: int = Field(foreign_key="record.id", index=True)
    score: float
    reason: str
    decision: str | None = None  # None (open) | merge | keep-apart
    decided_at: datetime | None = None


class Digest(SQLModel, table=True):
    """One built weekly digest (ISO week), the unit that is emailed and published."""

    __tablename__ = "digest"

    id: int | None = Field(default=None, primary_key=True)
    week: str = Field(unique=True, index=True)  # 2026-W47
    built_at: datetime = Field(default_factory=utcnow)
    content: dict[str, Any] = Field(default_factory=dict, sa_column=_json_column())


class Subscriber(SQLModel, table=True):
    __tablename__ = "subscriber"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True)
    name: str | None = None
    subscribed_at: datetime = Field(default_factory=utcnow)
    unsubscribed_at: datetime | None = None


class Delivery(SQLModel, table=True):
    """Delivery ledger: one row per (digest, subscriber); `sent` once delivered."""

    __tablename__ = "delivery"
    __table_args__ = (UniqueConstraint("week", "subscriber_id", name="uq_delivery"),)

    id: int | None = Field(default=None, primary_key=True)
    week: str = Field(index=True)
    subscriber_id: int = Field(foreign_key="subscriber.id", index=True)
    status: str = "pending"  # pending | sent | failed
    message_id: str | None = None
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None


class SchedulerLock(SQLModel, table=True):
    """Single-instance guard for `digest schedule` on SQLite (PostgreSQL uses an advisory lock)."""

    __tablename__ = "scheduler_lock"

    name: str = Field(primary_key=True)
    holder: str
    pid: int
    hostname: str
    heartbeat_at: datetime = Field(default_factory=utcnow)
