"""The only package that opens database sessions: engines, migrations, upserts, queries."""
