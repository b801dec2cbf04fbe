"""payload.context; drop record_identifier; typed relations on stored records

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03

- `payload.context` (JSON, NULL for older payloads): what the kind's parser needs besides
  the body, so a stored payload re-parses to the records it stored.
- `record_identifier` was written on every save and never read: dropped.
- Stored records get `relations` computed from the raw extra their parser kept (PubMed /
  MEDLINE `comments_corrections`, Europe PMC `comment_corrections` / `published_version`
  / `preprint`, CT.gov `references`) with the parsers' own helpers, and their content hash
  recomputed, so the next fetch does not report every old record as changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table("payload", schema=None) as batch_op:
        batch_op.add_column(sa.Column("context", sa.JSON(), nullable=True))
    with op.batch_alter_table("record_identifier", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_record_identifier_value"))
        batch_op.drop_index(batch_op.f("ix_record_identifier_scheme"))
        batch_op.drop_index(batch_op.f("ix_record_identifier_record_id"))
    op.drop_table("record_identifier")
    add_relations(op.get_bind())


def downgrade() -> None:
    # relations stay in the stored JSON: older code ignores them
    op.create_table(
        "record_identifier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("scheme", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["record.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("record_id", "scheme", "value", name="uq_record_identifier"),
    )
    with op.batch_alter_table("record_identifier", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_record_identifier_record_id"), ["record_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_record_identifier_scheme"), ["scheme"], unique=False)
        batch_op.create_index(batch_op.f("ix_record_identifier_value"), ["value"], unique=False)
    with op.batch_alter_table("payload", schema=None) as batch_op:
        batch_op.drop_column("context")


def _relation_readers() -> dict[str, Callable[[dict[str, Any]], list[Any]]]:
    """Per stored record `source`: extra -> typed relations, with the parsers' helpers."""
    from digest.sources.clinicaltrials.common import results_relations
    from digest.sources.europepmc.parse import relations_of
    from digest.sources.pubmed.fields import comments_relations

    def pubmed(extra: dict[str, Any]) -> list[Any]:
        return comments_relations(list(extra.get("comments_corrections") or []))

    def europepmc(extra: dict[str, Any]) -> list[Any]:
        return relations_of(
            list(extra.get("comment_corrections") or []),
            extra.get("published_version"),
            extra.get("preprint"),
        )

    def clinicaltrials(extra: dict[str, Any]) -> list[Any]:
        return results_relations(list(extra.get("references") or []))

    # "import" holds MEDLINE imports (comments_corrections) and RIS/BibTeX (none)
    return {
        "pubmed": pubmed,
        "import": pubmed,
        "europepmc": europepmc,
        "clinicaltrials": clinicaltrials,
    }


def add_relations(bind: sa.engine.Connection) -> int:
    """Give stored records without relations the ones their extra implies; returns how
    many records changed."""
    from digest.model import RecordData

    readers = _relation_readers()
    record = sa.table(
        "record",
        sa.column("id", sa.Integer()),
        sa.column("source", sa.String()),
        sa.column("data", sa.JSON()),
        sa.column("content_hash", sa.String()),
    )
    changed = 0
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(record.c.id, record.c.source, record.c.data)
            .where(record.c.id > last_id, record.c.source.in_(list(readers)))
            .order_by(record.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return changed
        for row_id, source, data in rows:
            last_id = row_id
            if not isinstance(data, dict) or data.get("relations"):
                continue
            relations = readers[source](dict(data.get("extra") or {}))
            if not relations:
                continue
            upgraded = {**data, "relations": [r.to_json_dict() for r in relations]}
            new_hash = RecordData.from_json_dict(upgraded).content_hash()
            bind.execute(
                record.update()
                .where(record.c.id == row_id)
                .values(data=upgraded, content_hash=new_hash)
            )
            changed += 1
