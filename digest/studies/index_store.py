"""Reads and bulk writes of the study index (`digest.studies.index_tables`).

Every lookup takes a collection of keys and runs batched `IN` queries (at most `_BATCH`
values each), streaming rows; every write is one executemany per table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import delete, func, insert, select
from sqlmodel import Session, col

from digest.model import DuplicateCandidate, Record, RecordData, Study, StudyLink
from digest.studies.features import features_of
from digest.studies.index_entries import IndexEntry, index_entry
from digest.studies.index_tables import (
    StudyIndexKey,
    StudyIndexRecord,
    StudyIndexState,
    StudyWordCount,
    StudyWordPosting,
)
from digest.studies.joins import chosen_words

_BATCH = 900
T = TypeVar("T")
INDEX = StudyIndexRecord.__table__  # type: ignore[attr-defined]
KEYS = StudyIndexKey.__table__  # type: ignore[attr-defined]
COUNTS = StudyWordCount.__table__  # type: ignore[attr-defined]
POSTINGS = StudyWordPosting.__table__  # type: ignore[attr-defined]
STATE = StudyIndexState.__table__  # type: ignore[attr-defined]


@dataclass(slots=True)
class Row:
    """One record as the index knows it."""

    record_id: int
    content_hash: str
    kind: str
    title: str
    words: tuple[str, ...]
    chosen: tuple[str, ...]


def batches(items: Iterable[T], size: int = _BATCH) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --------------------------------------------------------------------------- state


def ready(session: Session, rules: str) -> bool:
    """Whether the index is current for these rules (else the refresh rebuilds). A
    database without studies has an empty, current index."""
    value = session.execute(select(STATE.c.value).where(STATE.c.name == "rules")).scalar()
    if value is not None:
        return bool(value == rules)
    return session.execute(select(func.count()).select_from(Study)).scalar() == 0


def stored_state_decisions(session: Session) -> dict[frozenset[int], str]:
    value = session.execute(select(STATE.c.value).where(STATE.c.name == "decisions")).scalar()
    return {frozenset((a, b)): verdict for a, b, verdict in value or []}


def save_state(session: Session, rules: str, decisions: Mapping[frozenset[int], str]) -> None:
    pairs = sorted([*sorted(pair), verdict] for pair, verdict in decisions.items())
    session.execute(delete(STATE).where(STATE.c.name.in_(["rules", "decisions"])))
    session.execute(
        insert(STATE), [{"name": "rules", "value": rules}, {"name": "decisions", "value": pairs}]
    )


def invalidate(session: Session) -> None:
    """Make the next refresh a full rebuild (after classifications were forgotten)."""
    session.execute(delete(STATE).where(STATE.c.name == "rules"))
    session.execute(insert(STATE), [{"name": "rules", "value": "invalidated"}])


# --------------------------------------------------------------------------- reads


def dirty_records(session: Session) -> list[int]:
    """Record ids whose index row is missing, stale (content hash), or should be gone."""
    r, i = Record.__table__, INDEX  # type: ignore[attr-defined]
    changed = (
        select(r.c.id)
        .select_from(r.outerjoin(i, i.c.record_id == r.c.id))
        .where(
            (
                (r.c.deleted.is_(False))
                & (i.c.record_id.is_(None) | (i.c.content_hash != r.c.content_hash))
            )
            | ((r.c.deleted.is_(True)) & i.c.record_id.is_not(None))
        )
    )
    gone = (
        select(i.c.record_id)
        .select_from(i.outerjoin(r, r.c.id == i.c.record_id))
        .where(r.c.id.is_(None))
    )
    found = {rid for (rid,) in session.execute(changed)}
    found.update(rid for (rid,) in session.execute(gone))
    return sorted(found)


def dirty_chunks(session: Session, size: int) -> list[list[int]]:
    """Dirty records in chunks: every already-indexed one (changed or gone) in the first,
    so no later chunk meets a stale row; new ones `size` at a time. Never empty."""
    dirty = dirty_records(session)
    indexed = set(rows_of(session, dirty))
    first = [rid for rid in dirty if rid in indexed]
    rest = [rid for rid in dirty if rid not in indexed]
    room = max(0, size - len(first))
    return [first + rest[:room], *batches(rest[room:], size)]


def rows_of(session: Session, ids: Collection[int]) -> dict[int, Row]:
    found: dict[int, Row] = {}
    for batch in batches(sorted(ids)):
        for rid, digest, kind, title, words, chosen in session.execute(
            select(INDEX).where(INDEX.c.record_id.in_(batch))
        ):
            found[rid] = Row(rid, digest, kind, title, tuple(words.split()), tuple(chosen.split()))
    return found


def chosen_of(session: Session, ids: Collection[int]) -> dict[int, tuple[str, ...]]:
    """Current blocking words of indexed records (the `chosen` column alone)."""
    found: dict[int, tuple[str, ...]] = {}
    for batch in batches(sorted(ids)):
        query = select(INDEX.c.record_id, INDEX.c.chosen).where(INDEX.c.record_id.in_(batch))
        found.update((rid, tuple(chosen.split())) for rid, chosen in session.execute(query))
    return found


def keys_of(session: Session, ids: Collection[int]) -> dict[int, set[tuple[str, str]]]:
    found: dict[int, set[tuple[str, str]]] = {}
    for batch in batches(sorted(ids)):
        query = select(KEYS.c.record_id, KEYS.c.key, KEYS.c.role).where(KEYS.c.record_id.in_(batch))
        for rid, key, role in session.execute(query):
            found.setdefault(rid, set()).add((key, role))
    return found


def holders(
    session: Session, keys: Collection[str], roles: Sequence[str] | None = None
) -> list[tuple[int, str, str]]:
    """(record id, key, role) of every indexed record carrying one of the keys."""
    found: list[tuple[int, str, str]] = []
    for batch in batches(sorted(keys)):
        query = select(KEYS.c.record_id, KEYS.c.key, KEYS.c.role).where(KEYS.c.key.in_(batch))
        if roles is not None:
            query = query.where(KEYS.c.role.in_(list(roles)))
        found.extend((rid, key, role) for rid, key, role in session.execute(query))
    return found


def postings(session: Session, words: Collection[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for batch in batches(sorted(words)):
        query = select(POSTINGS.c.word, POSTINGS.c.record_id).where(POSTINGS.c.word.in_(batch))
        for word, rid in session.execute(query):
            found.setdefault(word, []).append(rid)
    return found


def counts(session: Session, words: Collection[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for batch in batches(sorted(words)):
        query = select(COUNTS.c.word, COUNTS.c.count).where(COUNTS.c.word.in_(batch))
        found.update((word, count) for word, count in session.execute(query))
    return found


def members_of_studies(session: Session, study_ids: Collection[int]) -> dict[int, list[int]]:
    """Study id -> ids of its live or deleted records (the study as stored)."""
    r = Record.__table__  # type: ignore[attr-defined]
    found: dict[int, list[int]] = {}
    for batch in batches(sorted(study_ids)):
        query = select(r.c.study_id, r.c.id).where(r.c.study_id.in_(batch))
        for sid, rid in session.execute(query):
            found.setdefault(sid, []).append(rid)
    return found


def unclassified(session: Session) -> set[int]:
    """Live records of studies without a classification (one that raised is retried)."""
    r, s = Record.__table__, Study.__table__  # type: ignore[attr-defined]
    query = (
        select(r.c.id)
        .select_from(r.join(s, s.c.id == r.c.study_id))
        .where(s.c.classified_with.is_(None) & r.c.deleted.is_(False))
    )
    return {rid for (rid,) in session.execute(query)}


def study_ids_of(session: Session, ids: Collection[int]) -> dict[int, int | None]:
    r = Record.__table__  # type: ignore[attr-defined]
    found: dict[int, int | None] = {}
    for batch in batches(sorted(ids)):
        for rid, sid in session.execute(select(r.c.id, r.c.study_id).where(r.c.id.in_(batch))):
            found[rid] = sid
    return found


def totals(session: Session) -> tuple[int, int, int, int]:
    """Studies, links, open candidates and records left out as unusable, counted."""

    def count(query: Any) -> int:
        return int(session.execute(query).scalar() or 0)

    open_candidates = col(DuplicateCandidate.decision).is_(None)
    unusable = INDEX.c.kind == "unusable"
    return (
        count(select(func.count()).select_from(Study)),
        count(select(func.count()).select_from(StudyLink)),
        count(select(func.count()).select_from(DuplicateCandidate).where(open_candidates)),
        count(select(func.count()).select_from(INDEX).where(unusable)),
    )


# --------------------------------------------------------------------------- writes


def remove(session: Session, ids: Collection[int]) -> None:
    for batch in batches(sorted(ids)):
        session.execute(delete(KEYS).where(KEYS.c.record_id.in_(batch)))
        session.execute(delete(POSTINGS).where(POSTINGS.c.record_id.in_(batch)))
        session.execute(delete(INDEX).where(INDEX.c.record_id.in_(batch)))


def add(
    session: Session,
    entries: Mapping[int, tuple[str, IndexEntry | None]],
    chosen: Mapping[int, tuple[str, ...]],
) -> None:
    """Index rows, keys and postings of records (entry None: a record left out as unusable)."""
    index_rows: list[dict[str, Any]] = []
    key_rows: list[dict[str, Any]] = []
    posting_rows: list[dict[str, Any]] = []
    for rid, (content_hash, entry) in sorted(entries.items()):
        index_rows.append(
            {
                "record_id": rid,
                "content_hash": content_hash,
                "kind": entry.kind if entry else "unusable",
                "title": entry.title if entry else "",
                "words": " ".join(entry.words) if entry else "",
                "chosen": " ".join(chosen.get(rid, ())),
            }
        )
        if entry is None:
            continue
        key_rows.extend({"record_id": rid, "key": k, "role": role} for k, role in entry.keys)
        posting_rows.extend({"word": w, "record_id": rid} for w in entry.words)
    for table, rows in ((INDEX, index_rows), (KEYS, key_rows), (POSTINGS, posting_rows)):
        for batch in batches(rows, 5000):
            session.execute(insert(table), batch)


def set_chosen(session: Session, rows: Sequence[Row]) -> None:
    """Rewrite index rows whose blocking words moved: delete + one batched insert (an
    executemany UPDATE is a round trip per row on psycopg2)."""
    for batch in batches(sorted(row.record_id for row in rows)):
        session.execute(delete(INDEX).where(INDEX.c.record_id.in_(batch)))
    values: list[dict[str, Any]] = [
        {
            "record_id": row.record_id,
            "content_hash": row.content_hash,
            "kind": row.kind,
            "title": row.title,
            "words": " ".join(row.words),
            "chosen": " ".join(row.chosen),
        }
        for row in rows
    ]
    for chunk in batches(values, 5000):
        session.execute(insert(INDEX), chunk)


def set_counts(session: Session, changed: Mapping[str, int]) -> None:
    """Write the new frequency of each changed word (0: the row goes): delete + insert."""
    for batch in batches(sorted(changed)):
        session.execute(delete(COUNTS).where(COUNTS.c.word.in_(batch)))
    fresh: list[dict[str, Any]] = [{"word": w, "count": c} for w, c in changed.items() if c]
    for chunk in batches(fresh, 5000):
        session.execute(insert(COUNTS), chunk)


def rebuild(
    session: Session,
    records: Mapping[int, RecordData],
    hashes: Mapping[int | None, str],
    unusable: Sequence[Record],
) -> None:
    """Replace the whole index with one built from these (live, usable) records."""
    for table in (KEYS, POSTINGS, COUNTS, INDEX):
        session.execute(delete(table))
    entries = {rid: index_entry(record, features_of(record)) for rid, record in records.items()}
    frequency: Counter[str] = Counter()
    for entry in entries.values():
        frequency.update(entry.words)
    chosen = {rid: chosen_words(entry.words, frequency) for rid, entry in entries.items()}
    rows: dict[int, tuple[str, IndexEntry | None]] = {
        rid: (hashes[rid], entry) for rid, entry in entries.items()
    }
    rows.update((row.id, (row.content_hash, None)) for row in unusable if row.id is not None)
    add(session, rows, chosen)
    words = sorted(frequency.items())
    for batch in batches(words, 5000):
        session.execute(insert(COUNTS), [{"word": w, "count": c} for w, c in batch])
