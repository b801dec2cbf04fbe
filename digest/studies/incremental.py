"""The incremental refresh: recluster only the records a change can touch.

A record is *dirty* when the index has no row for it, its content hash changed, or it
was deleted (`index_store.dirty_records`). Dirty records are processed in chunks (all
already-indexed ones in the first, new ones `CHUNK` at a time, so a base import never
holds the archive in memory). For each chunk:

1. **word frequencies**: the chunk's title words change the archive-wide counts
   (`StudyWordCount`); records carrying a word whose count moved inside or across the
   blocking range (`blocking_relevant`) get their blocking words recomputed; one that
   gained or lost a blocking word it shares with a near title seeds the run. Blocking
   stays global: `cluster(word_counts=...)` ranks words by the archive's counts.
2. **seeds**: the chunk's live records, the other members of the chunk records' stored
   studies, their open candidates, records sharing a key with their *old* index rows,
   records of studies linked to those studies, those of step 1, of changed decisions
   and of studies left unclassified (a classification that raised is retried).
3. **core** = the closure of the seeds over *join edges*: a shared id / title / version
   key (`MERGE_ROLES`), a shared blocking word with titles close enough to be scored
   (`near_title_candidate`), a decision, an open candidate, the same stored study.
   Every union, conflict, distrusted identifier or possible duplicate `cluster()` can
   produce involves records joined by such edges, so the core is a union of whole
   components: `cluster(core)` gives what a run over the whole archive gives for these
   records, and records outside it keep their studies.
4. **H1** = the join closure of records sharing any key with the core (links: relations,
   notices, trials) or in a study linked to a core study; **H2** the same around H1.
   The run clusters core + H1 + H2; studies, flags and links are rewritten for core and
   H1 (whose links and flags are then complete); H2 is context only.
5. slugs are unique across all studies: a study outside the run holding a new slug (or
   its "-2".."-4" forms) joins the seeds, and the chunk is planned again.
The caps (`_MAX_BLOCK`, `_MAX_TITLE_GROUP`, `_MAX_TRIAL_GROUP`) hold: blocks, title and
trial groups are always whole in a closure (their members share the word or key).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col
from sqlmodel import select as orm_select

from digest.classify import Classification
from digest.config import TopicModel
from digest.model import DuplicateCandidate, Record, RecordData, Study, StudyLink
from digest.record_schema import record_problem
from digest.studies import index_store
from digest.studies.apply import RefreshSummary, Scope, apply_run
from digest.studies.cluster import cluster
from digest.studies.features import Features, features_of
from digest.studies.index_entries import MERGE_ROLES, IndexEntry, index_entry
from digest.studies.index_store import Row, batches
from digest.studies.joins import (
    blocking_relevant,
    chosen_may_change,
    chosen_words,
    near_title_candidate,
)
from digest.studies.saved_links import save_candidates, save_links, stored_decisions
from digest.studies.slugs import unique_slugs

Classifier = Callable[[list[RecordData], TopicModel], Classification]
CHUNK = 2_000  # new records per chunk
_MAX_PLANS = 5  # slug collisions re-plan a chunk at most this often


def refresh_changed(
    session: Session, topics: TopicModel, rules: str, now: datetime, classify: Classifier
) -> RefreshSummary:
    summary = RefreshSummary()
    decisions = stored_decisions(session)
    before = index_store.stored_state_decisions(session)
    changed = {p for p in decisions.keys() | before.keys() if decisions.get(p) != before.get(p)}
    decided = {rid for pair in changed for rid in pair} | index_store.unclassified(session)
    chunks = index_store.dirty_chunks(session, CHUNK)
    if chunks[0] or decided:
        for number, chunk in enumerate(chunks):
            pending = {rid for later in chunks[number + 1 :] for rid in later}
            work = _Chunk(session, chunk, pending, decisions, decided if number == 0 else set())
            work.run(topics, rules, now, summary, classify)
            session.flush()
            session.expunge_all()
    index_store.save_state(session, rules, decisions)
    summary.studies, summary.links, summary.possible_duplicates, summary.skipped_records = (
        index_store.totals(session)
    )
    return summary


@dataclass
class _Chunk:
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

    # ------------------------------------------------------------------ edges

    def _key_neighbours(self, ids: Collection[int], roles: tuple[str, ...] | None) -> set[int]:
        keys = {
            k for rid in ids for k, role in self.keys.get(rid, ()) if not roles or role in roles
        }
        found = {
            rid
            for rid, _, _ in index_store.holders(self.session, keys, roles)
            if rid not in self.entries
        }
        for key in keys:
            found.update(
                rid for rid, role in self.chunk_keys.get(key, ()) if not roles or role in roles
            )
        return found

    def _word_neighbours(self, ids: Collection[int]) -> set[int]:
        words = {w for rid in ids if rid in self.info for w in self.info[rid].chosen}
        postings = index_store.postings(self.session, words)
        candidates = {rid for w in words for rid in postings.get(w, ())} - set(self.entries)
        self._load_nodes([rid for rid in candidates if rid not in self.pending])
        found = set()
        for rid in ids:
            me = self.info.get(rid)
            if me is None:
                continue
            for word in me.chosen:
                others = {o for o in postings.get(word, ()) if o not in self.entries}
                others |= self.chunk_words.get(word, set())
                for other in others:
                    row = self.info.get(other)
                    if (
                        row is not None
                        and word in row.chosen
                        and other != rid
                        and near_title_candidate(me.title, row.title)
                    ):
                        found.add(other)
        return found

    def _study_neighbours(self, ids: Collection[int]) -> set[int]:
        studies = {sid for rid in ids if (sid := self.study_of.get(rid)) is not None}
        members = index_store.members_of_studies(self.session, studies)
        return {rid for group in members.values() for rid in group}

    def _pair_neighbours(self, ids: Collection[int]) -> set[int]:
        found = {other for pair in self.decisions if pair & set(ids) for other in pair}
        for batch in batches(sorted(ids)):
            a, b = col(DuplicateCandidate.record_a_id), col(DuplicateCandidate.record_b_id)
            query = select(a, b).where(a.in_(batch) | b.in_(batch))
            for a, b in self.session.execute(query):
                found.update((a, b))
        return found

    def _members_linked_to(self, studies: Collection[int]) -> set[int]:
        linked: set[int] = set()
        for batch in batches(sorted(studies)):
            a, b = col(StudyLink.from_study_id), col(StudyLink.to_study_id)
            query = select(a, b).where(a.in_(batch) | b.in_(batch))
            for a, b in self.session.execute(query):
                linked.update((a, b))
        members = index_store.members_of_studies(self.session, linked)
        return {rid for group in members.values() for rid in group}

    def closure(self, seeds: Iterable[int], visited: set[int]) -> set[int]:
        """Every eligible record joined to the seeds by join edges (whole components)."""
        added: set[int] = set()
        frontier = set(seeds) - visited
        while frontier:
            self._load_nodes(frontier)
            frontier = {rid for rid in frontier if self.eligible(rid)} - visited
            visited |= frontier
            added |= frontier
            if not frontier:
                break
            found = self._key_neighbours(frontier, MERGE_ROLES)
            found |= self._word_neighbours(frontier)
            found |= self._study_neighbours(frontier)
            found |= self._pair_neighbours(frontier)
            frontier = found - visited
        return added

    def link_neighbours(self, ids: Collection[int]) -> set[int]:
        return self._key_neighbours(ids, None) | self._members_linked_to(
            {sid for rid in ids if (sid := self.study_of.get(rid)) is not None}
        )

    # ------------------------------------------------------------------ the run

    def _seeds(self) -> set[int]:
        old_keys = index_store.keys_of(self.session, self.ids)
        self.study_of.update(index_store.study_ids_of(self.session, self.ids))
        old_studies = {sid for rid in self.ids if (sid := self.study_of.get(rid)) is not None}
        seeds = set(self.live) | self.rechosen_seeds | self.decided
        members = index_store.members_of_studies(self.session, old_studies)
        seeds |= {rid for group in members.values() for rid in group}
        seeds |= self._members_linked_to(old_studies)
        keys = {key for found in old_keys.values() for key, _ in found}
        seeds |= {rid for rid, _, _ in index_store.holders(self.session, keys)}
        seeds |= self._pair_neighbours(self.ids)
        return seeds

    def run(
        self,
        topics: TopicModel,
        rules: str,
        now: datetime,
        summary: RefreshSummary,
        classify: Classifier,
    ) -> None:
        before, changed = self._load_chunk()
        seeds = self._seeds()
        for _ in range(_MAX_PLANS):
            visited: set[int] = set()
            core = self.closure(seeds, visited)
            h1 = self.closure(self.link_neighbours(core), visited)
            h2 = self.closure(self.link_neighbours(h1), visited)
            records, by_id = self._records(core | h1 | h2)
            self._ensure_counts(w for rid in records for w in self.info[rid].words)
            result = cluster(
                records, self._decisions_within(records), self.word_counts, self.features
            )
            applied = sorted({result.cluster_of[rid] for rid in core | h1})
            pool = self._pool(core | h1)
            slugs = unique_slugs([[records[k] for k in keys] for keys in result.clusters])
            clash = self._slug_clashes(slugs, applied, pool)
            if not clash:
                break
            seeds |= clash
        kept = {
            index: sid
            for index, keys in enumerate(result.clusters)
            if (sid := by_id[keys[0]].study_id) is not None
        }
        scope = Scope(applied, pool, kept_study=kept, full=False, classify=classify, slugs=slugs)
        chosen = apply_run(self.session, result, by_id, records, scope, topics, rules, now, summary)
        study_of = dict(kept)
        study_of.update((i, s.id) for i, s in chosen.items() if s.id is not None)
        touched = set(pool) | {s.id for s in chosen.values() if s.id is not None}
        save_links(self.session, result, study_of, touched, chosen)
        save_candidates(self.session, result, core | h1 | set(self.ids))
        summary.reclustered_records += len(records)
        self._save_index(before, changed)

    def _records(self, ids: set[int]) -> tuple[dict[int, RecordData], dict[int, Record]]:
        by_id = {rid: self.rows[rid] for rid in ids if rid in self.live}
        missing = sorted(ids - set(by_id))
        for batch in batches(missing):
            query = orm_select(Record).where(col(Record.id).in_(batch))
            for row in self.session.exec(query.execution_options(yield_per=500)):
                by_id[row.id or 0] = row
        records = {
            rid: self.live[rid] if rid in self.live else RecordData.from_json_dict(row.data)
            for rid, row in by_id.items()
        }
        return records, by_id

    def _decisions_within(self, records: dict[int, RecordData]) -> dict[frozenset[int], str]:
        return {p: v for p, v in self.decisions.items() if all(r in records for r in p)}

    def _pool(self, ids: set[int]) -> dict[int, Study]:
        studies = {sid for rid in ids | set(self.ids) if (sid := self.study_of.get(rid))}
        pool: dict[int, Study] = {}
        for batch in batches(sorted(studies)):
            query = orm_select(Study).where(col(Study.id).in_(batch))
            pool.update((s.id, s) for s in self.session.exec(query) if s.id is not None)
        return pool

    def _slug_clashes(
        self, slugs: list[str], applied: list[int], pool: dict[int, Study]
    ) -> set[int]:
        """Members of studies outside the run whose slug a new slug would take."""
        wanted = {slugs[i] for i in applied}
        wanted |= {f"{s}-{n}" for s in list(wanted) for n in (2, 3, 4)}
        clashing: set[int] = set()
        for batch in batches(sorted(wanted)):
            query = select(col(Study.id)).where(col(Study.slug).in_(batch))
            clashing.update(sid for (sid,) in self.session.execute(query) if sid not in pool)
        members = index_store.members_of_studies(self.session, clashing)
        return {rid for group in members.values() for rid in group}

    def _save_index(self, before: dict[str, int], changed: dict[str, int]) -> None:
        index_store.remove(self.session, self.ids)
        chosen = {rid: self.info[rid].chosen for rid in self.live}
        index_store.add(self.session, self.entries, chosen)
        index_store.set_chosen(self.session, [self.info[rid] for rid in self.rechosen])
        index_store.set_counts(self.session, changed)
