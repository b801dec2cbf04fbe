"""indexes the weekly refresh reads by, so a refresh with nothing new never scans the
record or study tables (issue 16: the no-op fetch under 2 s at 100k stored records)

Revision ID: 0007_scale_indexes
Revises: 0006_desk_send

- `ix_record_dirty` (id, deleted, content_hash): finding records whose study index row
  is missing or stale reads this index alone, not every record's JSON;
- `ix_study_classified_with`: studies left unclassified (a classification that raised,
  retried by the next refresh) are found without reading every study.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_scale_indexes"
down_revision: str | None = "0006_desk_send"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.create_index("ix_record_dirty", ["id", "deleted", "content_hash"], unique=False)
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.create_index("ix_study_classified_with", ["classified_with"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.drop_index("ix_study_classified_with")
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.drop_index("ix_record_dirty")
