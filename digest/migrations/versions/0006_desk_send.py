"""the staff desk's send: staff e-mail addresses (review reminders) and the issues as sent

Revision ID: 0006_desk_send
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006_desk_send"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("desk_staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.create_table(
        "desk_sent_issue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("page", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("desk_sent_issue", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_sent_issue_key"), ["key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("desk_sent_issue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_sent_issue_key"))
    op.drop_table("desk_sent_issue")
    with op.batch_alter_table("desk_staff", schema=None) as batch_op:
        batch_op.drop_column("email")
