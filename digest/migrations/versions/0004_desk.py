"""the staff desk: staff, sign-in attempts, audit log, triage decisions, week sign-offs,
sign-ups, consent log, subscriber preferences, suppressions

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "desk_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("week", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("desk_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_audit_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_desk_audit_week"), ["week"], unique=False)

    op.create_table(
        "desk_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("consent_text", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("user_agent", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("desk_consent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_consent_email"), ["email"], unique=False)

    op.create_table(
        "desk_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("week", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("relevance", sa.Integer(), nullable=True),
        sa.Column("newsworthiness", sa.Integer(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("label_condition", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("label_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("design", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("week", "slug", name="uq_desk_decision"),
    )
    with op.batch_alter_table("desk_decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_decision_slug"), ["slug"], unique=False)
        batch_op.create_index(batch_op.f("ix_desk_decision_week"), ["week"], unique=False)

    op.create_table(
        "desk_login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("desk_login_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_desk_login_attempt_address"), ["address"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_desk_login_attempt_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_desk_login_attempt_username"), ["username"], unique=False
        )

    op.create_table(
        "desk_preference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("min_tier", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("frequency", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("desk_preference", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_preference_email"), ["email"], unique=True)

    op.create_table(
        "desk_signup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("nonce", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("preferences", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("nonce"),
    )
    with op.batch_alter_table("desk_signup", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_signup_email"), ["email"], unique=False)

    op.create_table(
        "desk_staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("disabled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("desk_staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_staff_username"), ["username"], unique=True)

    op.create_table(
        "desk_suppression",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("desk_suppression", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_suppression_email"), ["email"], unique=True)

    op.create_table(
        "desk_week",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("week", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("approved_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("approved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("desk_week", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_week_week"), ["week"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("desk_week", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_week_week"))

    op.drop_table("desk_week")
    with op.batch_alter_table("desk_suppression", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_suppression_email"))

    op.drop_table("desk_suppression")
    with op.batch_alter_table("desk_staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_staff_username"))

    op.drop_table("desk_staff")
    with op.batch_alter_table("desk_signup", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_signup_email"))

    op.drop_table("desk_signup")
    with op.batch_alter_table("desk_preference", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_preference_email"))

    op.drop_table("desk_preference")
    with op.batch_alter_table("desk_login_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_login_attempt_username"))
        batch_op.drop_index(batch_op.f("ix_desk_login_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_desk_login_attempt_address"))

    op.drop_table("desk_login_attempt")
    with op.batch_alter_table("desk_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_decision_week"))
        batch_op.drop_index(batch_op.f("ix_desk_decision_slug"))

    op.drop_table("desk_decision")
    with op.batch_alter_table("desk_consent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_consent_email"))

    op.drop_table("desk_consent")
    with op.batch_alter_table("desk_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_audit_week"))
        batch_op.drop_index(batch_op.f("ix_desk_audit_at"))

    op.drop_table("desk_audit")
