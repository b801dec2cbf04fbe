"""Alembic environment: runs against the engine digest.store.db hands it."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import digest.desk.tables
import digest.model
import digest.store.recheck_tables
import digest.studies.index_tables  # noqa: F401  (the study index tables)

target_metadata = SQLModel.metadata
connection = context.config.attributes.get("connection")


def run_migrations() -> None:
    if connection is None:
        url = context.config.get_main_option("sqlalchemy.url")
        context.configure(
            url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
