"""the re-check of studies already sent: per-identifier state, the notices found (the
correction clock), the correction-email ledger and the re-check's run log

Revision ID: 0007_recheck
Revises: 0007_scale_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007_recheck"
down_revision: str | None = "0007_scale_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "recheck_state",
        sa.Column("scheme", _TEXT(), nullable=False),
        sa.Column("value", _TEXT(), nullable=False),
        sa.Column("first_checked_at", _WHEN(), nullable=False),
        sa.Column("last_checked_at", _WHEN(), nullable=False),
        sa.Column("last_full_at", _WHEN(), nullable=False),
        sa.Column("outcome", _TEXT(), nullable=False),
        sa.Column("fingerprint", _TEXT(), nullable=False),
        sa.Column("changed_at", _WHEN(), nullable=True),
        sa.PrimaryKeyConstraint("scheme", "value"),
    )
    with op.batch_alter_table("recheck_state", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recheck_state_last_checked_at"), ["last_checked_at"], unique=False
        )
    op.create_table(
        "study_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work", _TEXT(), nullable=False),
        sa.Column("notice_key", _TEXT(), nullable=False),
        sa.Column("kind", _TEXT(), nullable=False),
        sa.Column("notice_doi", _TEXT(), nullable=True),
        sa.Column("notice_pmid", _TEXT(), nullable=True),
        sa.Column("notice_date", _TEXT(), nullable=True),
        sa.Column("asserted_by", _TEXT(), nullable=False),
        sa.Column("label", _TEXT(), nullable=True),
        sa.Column("first_seen_at", _WHEN(), nullable=False),
        sa.Column("told_at", _WHEN(), nullable=True),
        sa.Column("told_how", _TEXT(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("work", "notice_key", name="uq_study_notice"),
    )
    with op.batch_alter_table("study_notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_study_notice_work"), ["work"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_study_notice_first_seen_at"), ["first_seen_at"], unique=False
        )
    op.create_table(
        "correction_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("correction", _TEXT(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("status", _TEXT(), nullable=False),
        sa.Column("message_id", _TEXT(), nullable=True),
        sa.Column("last_error", _TEXT(), nullable=True),
        sa.Column("sent_at", _WHEN(), nullable=True),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscriber.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("correction", "subscriber_id", name="uq_correction"),
    )
    with op.batch_alter_table("correction_delivery", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_correction_delivery_correction"), ["correction"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_correction_delivery_subscriber_id"), ["subscriber_id"], unique=False
        )
    op.create_table(
        "recheck_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", _WHEN(), nullable=False),
        sa.Column("finished_at", _WHEN(), nullable=True),
        sa.Column("outcome", _TEXT(), nullable=False),
        sa.Column("studies", sa.Integer(), nullable=False),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("not_found", sa.Integer(), nullable=False),
        sa.Column("new_notices", sa.Integer(), nullable=False),
        sa.Column("emails", sa.Integer(), nullable=False),
        sa.Column("error", _TEXT(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("recheck_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recheck_run_started_at"), ["started_at"], unique=False)


def downgrade() -> None:
    for table, indexes in (
        ("recheck_run", ["ix_recheck_run_started_at"]),
        (
            "correction_delivery",
            ["ix_correction_delivery_subscriber_id", "ix_correction_delivery_correction"],
        ),
        ("study_notice", ["ix_study_notice_first_seen_at", "ix_study_notice_work"]),
        ("recheck_state", ["ix_recheck_state_last_checked_at"]),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for index in indexes:
                batch_op.drop_index(index)
        op.drop_table(table)
