"""The state of one chunk of the incremental refresh, and its loading: the chunk's
records and index entries, the archive-wide word counts they move, the records whose
blocking words change with them (step 1 of `digest.studies.incremental`), and the index
rows, keys and stored studies of the records the closure reaches."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from sqlmodel import Session, col
from sqlmodel import select as orm_select

from digest.model import Record, RecordData
from digest.record_schema import record_problem
from digest.studies import index_store
from digest.studies.features import Features, features_of
from digest.studies.index_entries import IndexEntry, index_entry
from digest.studies.index_store import Row, batches
from digest.studies.joins import (
    blocking_relevant,
    chosen_may_change,
    chosen_words,
    near_title_candidate,
)


@dataclass
class ChunkState:
    """One chunk of dirty records and what the refresh has loaded about them and their
    neighbours: index rows, keys, stored studies, archive word counts (see
    `digest.studies.incremental`). The closure and the run are `incremental._Chunk`."""

    session: Session
    ids: list[int]
    pending: set[int]  # dirty records of later chunks: not part of the archive yet
    decisions: dict[frozenset[int], str]
    decided: set[int]
    rows: dict[int, Record] = field(default_factory=dict)
    live: dict[int, RecordData] = field(default_factory=dict)
    features: dict[int, Features] = field(default_factory=dict)  # of the live ones
    entries: dict[int, tuple[str, IndexEntry | None]] = field(default_factory=dict)
    info: dict[int, Row] = field(default_factory=dict)  # index rows, chunk ones as new
    keys: dict[int, set[tuple[str, str]]] = field(default_factory=dict)
    chunk_keys: dict[str, set[tuple[int, str]]] = field(default_factory=dict)
    chunk_words: dict[str, set[int]] = field(default_factory=dict)
    word_counts: dict[str, int] = field(default_factory=dict)
    rechosen: dict[int, tuple[str, ...]] = field(default_factory=dict)
    rechosen_seeds: set[int] = field(default_factory=set)  # see _pairs_moved
    study_of: dict[int, int | None] = field(default_factory=dict)

    # ------------------------------------------------------------------ loading

    def _load_chunk(self) -> tuple[dict[str, int], dict[str, int]]:
        """The chunk's records and entries; returns (counts before, changed counts)."""
        old = index_store.rows_of(self.session, self.ids)
        for batch in batches(self.ids):
            for row in self.session.exec(orm_select(Record).where(col(Record.id).in_(batch))):
                self.rows[row.id or 0] = row
        for rid in self.ids:
            stored = self.rows.get(rid)
            if stored is None or stored.deleted:
                continue
            if record_problem(stored.data) is not None:
                self.entries[rid] = (stored.content_hash, None)
                continue
            record = RecordData.from_json_dict(stored.data)
            self.features[rid] = features_of(record)  # once: the index entry and cluster()
            entry = index_entry(record, self.features[rid])
            self.live[rid], self.entries[rid] = record, (stored.content_hash, entry)
        delta: Counter[str] = Counter()
        for row_ in old.values():
            delta.subtract(row_.words)
        for _, entry_ in self.entries.values():
            if entry_ is not None:
                delta.update(entry_.words)
        moved = {w: d for w, d in delta.items() if d}
        before = index_store.counts(self.session, moved)
        changed = {w: before.get(w, 0) + d for w, d in moved.items()}
        self.word_counts.update(before)
        self.word_counts.update(changed)
        self._rechoose(before, changed)
        return before, changed

    def _ensure_counts(self, words: Iterable[str]) -> None:
        missing = {w for w in words if w not in self.word_counts}
        if missing:
            found = index_store.counts(self.session, missing)
            self.word_counts.update({w: found.get(w, 0) for w in missing})

    def _rechoose(self, before: dict[str, int], changed: dict[str, int]) -> None:
        moving = [
            w
            for w, c in changed.items()
            if blocking_relevant(before.get(w, 0)) or blocking_relevant(c)
        ]
        holders = index_store.postings(self.session, moving)
        outside = set(self.ids) | self.pending
        moved: dict[int, list[str]] = {}  # record outside the chunk -> its moving words
        for moving_word in moving:
            for rid in holders.get(moving_word, ()):
                if rid not in outside:
                    moved.setdefault(rid, []).append(moving_word)
        # Only records whose blocking words can change are loaded and recomputed (a
        # word's count moving inside the range touches up to _MAX_BLOCK records each,
        # most of which keep their rarer words).
        stored = index_store.chosen_of(self.session, moved)
        self._ensure_counts(w for c in stored.values() for w in c)
        old_counts = {w: before.get(w, 0) for w in changed}
        affected = [
            rid
            for rid, words in moved.items()
            if chosen_may_change(stored.get(rid, ()), words, self.word_counts, old_counts)
        ]
        rows = index_store.rows_of(self.session, affected)
        self._ensure_counts(w for row in rows.values() for w in row.words)
        old: dict[int, tuple[str, ...]] = {}
        for rid, row in rows.items():
            new = chosen_words(row.words, self.word_counts)
            if new != row.chosen:
                self.rechosen[rid], old[rid] = new, row.chosen
                row.chosen = new
            self.info[rid] = row
        for rid, (digest, entry) in self.entries.items():
            if entry is None:
                continue
            self._ensure_counts(entry.words)
            chosen = chosen_words(entry.words, self.word_counts)
            self.info[rid] = Row(rid, digest, entry.kind, entry.title, entry.words, chosen)
            self.keys[rid] = set(entry.keys)
            for key, role in entry.keys:
                self.chunk_keys.setdefault(key, set()).add((rid, role))
            for word in chosen:
                self.chunk_words.setdefault(word, set()).add(rid)
        self._pairs_moved(old)

    def _pairs_moved(self, old: dict[int, tuple[str, ...]]) -> None:
        """Seeds from rechosen records: only a record that gained or lost a blocking word
        shared with a near title (a pair blocking may newly score, or no longer) matters."""
        moved = {rid: set(old[rid]) ^ set(new) for rid, new in self.rechosen.items()}
        words = {w for changed in moved.values() for w in changed}
        holders = index_store.postings(self.session, words)
        self._load_nodes({r for w in words for r in holders.get(w, ())} - self.pending)
        in_chunk: dict[str, set[int]] = {}
        for rid, (_, entry) in self.entries.items():
            for word in entry.words if entry else ():
                in_chunk.setdefault(word, set()).add(rid)
        for rid, changed in moved.items():
            title = self.info[rid].title
            for word in changed:
                others = {o for o in holders.get(word, ()) if o not in self.entries}
                for other in (others | in_chunk.get(word, set())) - {rid}:
                    row = self.info.get(other)
                    if row is not None and near_title_candidate(title, row.title):
                        self.rechosen_seeds.update((rid, other))

    def _load_nodes(self, ids: Collection[int]) -> None:
        """Index rows, keys and stored studies of indexed records not loaded yet."""
        missing = [rid for rid in ids if rid not in self.info and rid not in self.live]
        for rid, row in index_store.rows_of(self.session, missing).items():
            self.info[rid] = row
        need_keys = [rid for rid in ids if rid not in self.keys]
        found = index_store.keys_of(self.session, need_keys)
        for rid in need_keys:
            self.keys[rid] = found.get(rid, set())
        need_study = [rid for rid in ids if rid not in self.study_of]
        self.study_of.update(index_store.study_ids_of(self.session, need_study))

    def eligible(self, rid: int) -> bool:
        if rid in self.pending or rid in self.ids:
            return rid in self.live
        return (row := self.info.get(rid)) is not None and row.kind != "unusable"
