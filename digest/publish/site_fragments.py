"""Rendered pieces of site pages kept between builds, in one SQLite file in the site folder
(`.digest-site-fragments.sqlite`, beside the manifest; never listed, never served as a page).

A condition page lists every study it holds, and /feed.xml the newest 50 digests; after a
week only the new studies' and the new digest's entries need rendering, the rest are read
back by the hash of their inputs (`render.site_pages.Fragments`). A piece no page used in
a build is deleted at its end, so the file holds one build's pieces. An unreadable file is
replaced by an empty one (everything is rendered).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FRAGMENTS = ".digest-site-fragments.sqlite"


class FragmentStore:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.used: set[str] = set()

    def get(self, key: str) -> tuple[str, dict[str, bool]] | None:
        row = self.connection.execute(
            "SELECT html, asked FROM fragment WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        self.used.add(key)
        return str(row[0]), dict(json.loads(row[1]))

    def put(self, key: str, html: str, asked: dict[str, bool]) -> None:
        self.connection.execute(
            "INSERT OR REPLACE INTO fragment (key, html, asked) VALUES (?, ?, ?)",
            (key, html, json.dumps(asked, sort_keys=True)),
        )
        self.used.add(key)

    def keep_only_used(self) -> None:
        self.connection.execute("CREATE TEMP TABLE used (key TEXT PRIMARY KEY)")
        self.connection.executemany("INSERT INTO used VALUES (?)", ((k,) for k in self.used))
        self.connection.execute("DELETE FROM fragment WHERE key NOT IN (SELECT key FROM used)")
        self.connection.execute("DROP TABLE used")


def _open(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE IF NOT EXISTS fragment (key TEXT PRIMARY KEY, html TEXT NOT NULL, "
        "asked TEXT NOT NULL)"
    )
    connection.execute("SELECT count(*) FROM fragment").fetchone()
    return connection


@contextmanager
def fragment_store(out_dir: Path, *, fresh: bool = False) -> Iterator[FragmentStore]:
    """The folder's kept pieces, for one build (`fresh`: start from none). Changes are
    committed only when the build ends without an error."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / FRAGMENTS
    if fresh:
        path.unlink(missing_ok=True)
    try:
        connection = _open(path)
    except sqlite3.DatabaseError:
        path.unlink(missing_ok=True)
        connection = _open(path)
    store = FragmentStore(connection)
    try:
        yield store
        store.keep_only_used()
        connection.commit()
    finally:
        connection.close()
