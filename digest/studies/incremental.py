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

from collections.abc import Callable, Collection, Iterable
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col
from sqlmodel import select as orm_select

from digest.classify import Classification
from digest.config import TopicModel
from digest.model import DuplicateCandidate, Record, RecordData, Study, StudyLink
from digest.studies import index_store
from digest.studies.apply import RefreshSummary, Scope, apply_run
from digest.studies.chunk_state import ChunkState
from digest.studies.cluster import cluster
from digest.studies.index_entries import MERGE_ROLES
from digest.studies.index_store import batches
from digest.studies.joins import near_title_candidate
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


class _Chunk(ChunkState):
    """A chunk's closure over join edges, and its run (the module docstring)."""

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
