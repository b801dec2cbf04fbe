"""The study index: what the incremental refresh looks records up by (migration 0003).

Written only by `digest.studies.incremental` (and rebuilt whole by `rebuild_studies`);
derived from the records, so dropping and rebuilding it loses nothing.

- `StudyIndexRecord`: one row per stored record the studies were last computed from:
  its content hash (a record whose hash differs, or that is deleted, is *dirty*), its
  kind, normalised title, title words and current blocking words;
- `StudyIndexKey`: (key, record id, role) for every key that can relate two records:
  merge identifiers ("doi:10.1/x", "pmid:123", "record:pubmed:123"), the record's title
  key ("title:..."), version references, link references (relations, ids a notice names,
  a registration's results PMIDs, a notice's target title) and trial ids a paper names;
- `StudyWordCount`: title word -> how many indexed article records carry it, the
  archive-wide frequencies near-title blocking ranks words by (`cluster(word_counts=)`);
- `StudyWordPosting`: (word, record id) for every title word of every article record,
  to find the records whose blocking words a frequency change may move;
- `StudyIndexState`: small named values (the decisions and the rules fingerprint the
  index was last brought up to date with).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel


class StudyIndexRecord(SQLModel, table=True):
    __tablename__ = "study_index_record"

    record_id: int = Field(primary_key=True)  # record.id (no FK: rows of deleted records go)
    content_hash: str = Field(max_length=64)
    kind: str  # article | notice | registration | unusable (fails the record schema)
    title: str = ""  # normalised title (near-title pre-filter)
    words: str = ""  # article title words blocking counts, space separated
    chosen: str = ""  # current blocking words, space separated


class StudyIndexKey(SQLModel, table=True):
    __tablename__ = "study_index_key"
    __table_args__ = (Index("ix_study_index_key_key", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(index=True)
    key: str
    role: str  # id | title | vref | lref | trial


class StudyWordCount(SQLModel, table=True):
    __tablename__ = "study_word_count"

    word: str = Field(primary_key=True)
    count: int


class StudyWordPosting(SQLModel, table=True):
    __tablename__ = "study_word_posting"

    word: str = Field(primary_key=True)
    record_id: int = Field(primary_key=True, index=True)


class StudyIndexState(SQLModel, table=True):
    __tablename__ = "study_index_state"

    name: str = Field(primary_key=True)
    value: Any = Field(default=None, sa_column=Column(JSON))
