"""The incremental refresh gives the studies a full rebuild gives.

Records are a few hundred of bench/bench_dedupe.py's evaluation set (real corpus records
and the copies, versions, notices, protocols and bad DOIs derived from them; see
tests/fixtures/dedupe_eval/README.md), whole works at a time so their relations stay in.
Hypothesis picks the order they arrive in, how the arrivals are split into refreshes,
and which records are later re-titled (another record's title: new equal-title matches)
or deleted; the incremental database must end with the same studies (by member records),
slugs, flags, links and open candidates as one `rebuild_studies` over the final records.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bench.bench_dedupe import SEED, build_eval_set
from digest.model import DuplicateCandidate, ParseResult, Record, RecordData, Study, StudyLink
from digest.sources import describe_change
from digest.store.db import make_engine, migrate
from digest.store.records import ParsedPage, save_outcome
from digest.studies.cluster import cluster
from digest.studies.joins import blocking_relevant, chosen_may_change, chosen_words
from digest.studies.refresh import forget_classifications, rebuild_studies, refresh_studies
from tests.conftest import _reset_pg, make_settings

_SPECIAL = ("erratum", "retraction", "preprint", "protocol", "bad-doi", "registry", "series")
SIZE = 300


@functools.cache
def sample() -> tuple[RecordData, ...]:
    """About SIZE records, whole true works: first the works at both ends of the links a
    clustering of the whole evaluation set finds (notices, versions, trials, protocols),
    then the works of the special variants (bad DOIs, series, ...), then every 7th work."""
    ev = build_eval_set(seed=SEED)
    works: dict[str, list[RecordData]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for key, record in ev.records:
        if (record.source, record.source_id) not in seen:
            seen.add((record.source, record.source_id))
            works[ev.truth[key]].append(record)
    result = cluster(ev.records)
    linked = [w for link in result.links for w in (ev.truth[link.key_a], ev.truth[link.key_b])]
    special = [ev.truth[k] for k, _ in ev.records if ev.variant[k].startswith(_SPECIAL)]
    order = list(dict.fromkeys([*linked[: SIZE // 3], *special, *sorted(works)[::7]]))
    chosen: list[RecordData] = []
    for work in order:
        chosen.extend(works[work])
        if len(chosen) >= SIZE:
            break
    return tuple(chosen)


def _save(engine: Engine, records: Sequence[RecordData]) -> None:
    page = ParsedPage(
        url="test://incremental",
        content=b"test",
        content_type="test",
        parsed=ParseResult(records=list(records)),
    )
    with Session(engine) as session:
        save_outcome(
            session,
            source_name="test",
            kind="test",
            pages=[page],
            cursor={},
            describe_change=describe_change,
        )
        session.commit()


def _delete(engine: Engine, keys: set[tuple[str, str]]) -> None:
    with Session(engine) as session:
        for row in session.exec(select(Record)):
            if (row.source, row.source_id) in keys:
                row.deleted = True
                session.add(row)
        session.commit()


def _refresh(engine: Engine, topics: Any, full: bool) -> None:
    with Session(engine) as session:
        (rebuild_studies if full else refresh_studies)(session, topics)
        session.commit()


def snapshot(engine: Engine) -> dict[str, Any]:
    """Studies by their live member records, with slug, flags and fields; links by slug;
    open candidates by record."""
    with Session(engine) as session:
        name = {
            r.id: f"{r.source}:{r.source_id}" for r in session.exec(select(Record)) if not r.deleted
        }
        members: dict[int, set[str]] = defaultdict(set)
        for row in session.exec(select(Record)):
            if not row.deleted and row.study_id is not None:
                members[row.study_id].add(name[row.id or 0])
        studies = {s.id: s for s in session.exec(select(Study))}
        assert set(members) == set(studies), "every study has live records, every one a study"
        assert len(set().union(*members.values())) == len(name), "every live record a study"
        slug = {sid: s.slug for sid, s in studies.items()}
        return {
            "studies": {
                frozenset(members[sid]): (
                    s.slug,
                    s.retracted,
                    s.has_erratum,
                    s.is_preprint,
                    s.title,
                    s.design,
                    s.in_scope,
                    name.get(s.primary_record_id or 0),
                )
                for sid, s in studies.items()
            },
            "links": sorted(
                (slug[x.from_study_id], slug[x.to_study_id], x.kind, x.evidence)
                for x in session.exec(select(StudyLink))
            ),
            "candidates": sorted(
                (*sorted((name[c.record_a_id], name[c.record_b_id])), c.score, c.reason)
                for c in session.exec(select(DuplicateCandidate))
                if c.decision is None
            ),
        }


def retitled(
    records: Sequence[RecordData], changes: Sequence[tuple[int, int]]
) -> dict[int, RecordData]:
    return {
        target: dataclasses.replace(records[target], title=records[source].title)
        for target, source in changes
        if target != source
    }


def check(
    url_full: str,
    url_incremental: str,
    order: Sequence[int],
    cuts: Sequence[int],
    changes: Sequence[tuple[int, int]],
    deletions: Sequence[int],
) -> None:
    records = list(sample())
    topics = make_settings("sqlite://", "  []").topics
    changed = retitled(records, changes)
    final = [changed.get(i, r) for i, r in enumerate(records)]
    gone = {(records[i].source, records[i].source_id) for i in deletions}

    full = make_engine(url_full)
    migrate(full)
    _save(full, final)
    _delete(full, gone)
    _refresh(full, topics, full=True)
    expected = snapshot(full)
    full.dispose()

    incremental = make_engine(url_incremental)
    migrate(incremental)
    arrivals = [records[i] for i in order]
    bounds = [0, *sorted(set(cuts)), len(arrivals)]
    for start, end in itertools.pairwise(bounds):
        _save(incremental, arrivals[start:end])
        _refresh(incremental, topics, full=False)
    _save(incremental, [changed[i] for i in sorted(changed)])
    _delete(incremental, gone)
    _refresh(incremental, topics, full=False)
    _refresh(incremental, topics, full=False)  # nothing new: a no-op
    got = snapshot(incremental)
    incremental.dispose()

    for part in ("studies", "links", "candidates"):
        _report(part, expected[part], got[part])
    assert got["studies"] == expected["studies"]
    assert got["links"] == expected["links"]
    assert got["candidates"] == expected["candidates"]


def _report(part: str, expected: Any, got: Any) -> None:
    """Print what differs (the asserts' diffs of whole snapshots are unreadable)."""
    if isinstance(expected, dict):
        for key in sorted(set(expected) | set(got), key=sorted):
            if expected.get(key) != got.get(key):
                print(part, sorted(key), "full:", expected.get(key), "incremental:", got.get(key))
    else:
        for item in sorted(set(expected) ^ set(got)):
            print(part, "only full:" if item in expected else "only incremental:", item)


def _cases() -> st.SearchStrategy[tuple[list[int], list[int], list[tuple[int, int]], list[int]]]:
    n = len(sample())
    index = st.integers(0, n - 1)
    return st.tuples(
        st.permutations(range(n)),
        st.lists(st.integers(1, n - 1), max_size=4),
        st.lists(st.tuples(index, index), max_size=4),
        st.lists(index, max_size=4),
    )


@settings(
    max_examples=6,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: bounded time
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=_cases())
def test_incremental_batches_match_a_full_rebuild_sqlite(
    tmp_path_factory: pytest.TempPathFactory,
    case: tuple[list[int], list[int], list[tuple[int, int]], list[int]],
) -> None:
    folder: Path = tmp_path_factory.mktemp("incremental")
    order, cuts, changes, deletions = case
    check(
        f"sqlite:///{folder / 'full.db'}",
        f"sqlite:///{folder / 'incremental.db'}",
        order,
        cuts,
        changes,
        deletions,
    )


def test_incremental_in_arrival_order_matches_a_full_rebuild(tmp_path: Path) -> None:
    n = len(sample())
    check(
        f"sqlite:///{tmp_path / 'full.db'}",
        f"sqlite:///{tmp_path / 'incremental.db'}",
        list(range(n)),
        [n // 3, 2 * n // 3],
        [(5, 6), (40, 41)],
        [0, 17],
    )


@pytest.mark.postgres
def test_incremental_matches_a_full_rebuild_postgres(pg_database_url: str, tmp_path: Path) -> None:
    _reset_pg(pg_database_url)
    n = len(sample())
    order = list(reversed(range(n)))
    check(f"sqlite:///{tmp_path / 'full.db'}", pg_database_url, order, [n // 2], [(3, 9)], [11])


def test_the_sample_exercises_links_flags_and_candidates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'full.db'}"
    engine = make_engine(url)
    migrate(engine)
    _save(engine, sample())
    _refresh(engine, make_settings("sqlite://", "  []").topics, full=True)
    got = snapshot(engine)
    engine.dispose()
    merged = [m for m in got["studies"] if len(m) > 1]
    flags = [v for v in got["studies"].values() if v[1] or v[2] or v[3]]
    print(len(got["studies"]), len(merged), len(flags), len(got["links"]), len(got["candidates"]))
    assert len(merged) > 20 and flags and got["links"] and got["candidates"]


def test_a_noop_refresh_reclusters_nothing_and_forgetting_rebuilds(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.db'}")
    migrate(engine)
    topics = make_settings("sqlite://", "  []").topics
    _save(engine, sample()[:60])
    with Session(engine) as session:
        first = refresh_studies(session, topics)
        session.commit()
    with Session(engine) as session:
        again = refresh_studies(session, topics)
        session.commit()
    assert first.reclustered_records == 60 and first.reclassified == first.studies
    assert again.reclustered_records == 0 and again.reclassified == 0
    assert again.studies == first.studies
    with Session(engine) as session:
        forget_classifications(session)
        session.commit()
    with Session(engine) as session:
        rebuilt = refresh_studies(session, topics)  # the index was invalidated: full path
        session.commit()
    assert rebuilt.reclustered_records == 60 and rebuilt.reclassified == first.studies
    engine.dispose()


def test_chosen_may_change_never_misses_a_change() -> None:
    """The refresh recomputes only the blocking words `chosen_may_change` says can move:
    whenever it says they cannot, recomputing gives the old ones (random counts)."""
    rng = random.Random("chosen-may-change")
    vocabulary = [f"w{n}" for n in range(12)]
    skipped = 0
    for _ in range(20_000):
        words = rng.sample(vocabulary, rng.randint(1, 8))
        before = {w: rng.choice([0, 1, 2, 3, 5, 8, 30, 63, 64, 65, 90]) for w in vocabulary}
        after = dict(before)
        moved = [w for w in words if rng.random() < 0.3]
        for word in moved:
            after[word] = max(0, before[word] + rng.choice([-2, -1, 1, 2, 40]))
        old = chosen_words(words, before)
        changed = {w: before[w] for w in moved if after[w] != before[w]}
        relevant = [
            w for w in changed if blocking_relevant(before[w]) or blocking_relevant(after[w])
        ]
        if not chosen_may_change(old, relevant, after, changed):
            skipped += 1
            assert chosen_words(words, after) == old, (words, before, after)
    assert skipped > 1_000  # the check does spare most records
