"""study index: the tables the incremental study refresh looks records up by

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

Derived data only (see digest.studies.index_tables): an empty index is filled by the
first refresh, which then runs the full rebuild once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
# Written while migration 0002 was being written on another branch: on a tree without
# 0002 this migration follows 0001. When both are merged, make this plain "0002".
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "study_index_record",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("words", sa.String(), nullable=False),
        sa.Column("chosen", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("record_id"),
    )
    op.create_table(
        "study_index_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_study_index_key_key", "study_index_key", ["key"])
    op.create_index("ix_study_index_key_record_id", "study_index_key", ["record_id"])
    op.create_table(
        "study_word_count",
        sa.Column("word", sa.String(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("word"),
    )
    op.create_table(
        "study_word_posting",
        sa.Column("word", sa.String(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("word", "record_id"),
    )
    op.create_index("ix_study_word_posting_record_id", "study_word_posting", ["record_id"])
    op.create_table(
        "study_index_state",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("study_index_state")
    op.drop_index("ix_study_word_posting_record_id", table_name="study_word_posting")
    op.drop_table("study_word_posting")
    op.drop_table("study_word_count")
    op.drop_index("ix_study_index_key_record_id", table_name="study_index_key")
    op.drop_index("ix_study_index_key_key", table_name="study_index_key")
    op.drop_table("study_index_key")
    op.drop_table("study_index_record")
