"""Which records are one work, and how works relate. Pure: records in, a partition out.

`cluster(records)` takes every record (keyed by the caller) and returns:

- **clusters**: the records of one work (PubMed, Europe PMC and feed copies, an imported
  reference, a preprint and its journal version). Precision comes first: when in doubt
  two records stay apart and the pair is returned as a *possible duplicate* for a person.
- **links** between different works: a publication and its trial registration, a protocol
  and the trial's other papers, a notice (erratum, retraction, comment, ...) and its target.
- **conflicts**: identifiers that two clearly different works both carry (a bad DOI) and
  merges refused because they would join two PubMed ids or a human said keep-apart.
- flags: clusters retracted, with an erratum, or made of preprints only.

How records join, in this fixed order (so the result never depends on input order):

1. human `decisions` marked "merge";
2. shared merge-strength identifiers (`identifiers()`: PMID, PMCID, DOI, the ids a kind
   reads from its own records such as Europe PMC ids or a registration's own registry id,
   the record's own source id). An identifier shared by
   records that look like different works (different kinds; titles with almost no words
   in common; titles not near-equal while authors disagree or years are >2 apart; or a
   title that exactly matches a record with another value of that identifier) joins only
   the plausible ones, is reported as a conflict, and no longer guards merges;
3. explicit preprint -> journal links (the typed version relations `preprint-of`,
   `has-preprint`, `update-of`/`updated-in` naming a preprint's DOI): titles may change
   between versions, so only other authors on another title block them;
4. equal titles (after normalising case, punctuation, markup, accents, Greek letters,
   dashes/quotes, brackets and British/American spelling) backed by authors, year and
   journal; a preprint joins its journal version on equal title *and* authors;
5. near-equal titles differing by one typo in one long word, backed by the first author,
   most authors and the year (candidates come from blocking on each record's rarest
   title words, so the cost stays near-linear).

No automatic step may join records of different kinds (article / notice / registration),
a protocol with a non-protocol, two different PMIDs, PMCIDs or registrations, or (steps
3-5) two journal records with different DOIs, or a pair a person kept apart. Notices are
joined by identifiers only. Registry ids a paper names (NCT, ISRCTN, ChiCTR, ...) never
merge: a registration and its papers are different works. The primary record of a work
is `record_rank` first: journal version before preprint, then the kind's precedence
(`SourceTraits.precedence`), then (source, source_id).

What records say about each other is typed: parsers emit `RecordData.relations`, and
what each relation kind means for the works (a link, a retracted or erratum flag) is
`digest.facts.RELATION_EFFECTS`; nothing here reads a source's raw `extra` shapes. What
a source kind knows about its own records (precedence, registry, own ids) comes from
its traits (`digest.sources.traits_of`); no source is named here.

The modules, in pipeline order: `normalize` (titles, authors, journals), `features`
(record facts), `evidence` (pair verdicts), `partition` (union-find and guards), `joins`
(steps 1-5), `links` (notices, registrations, trials), then `merge` and `slugs` for the
works `cluster()` returns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from digest.model import RecordData
from digest.studies.features import Features, Identifier, features_of
from digest.studies.joins import (
    apply_decisions,
    decision_pairs,
    join_equal_titles,
    join_near_titles,
    join_shared_ids,
    join_versions,
    shared_id_groups,
)
from digest.studies.links import Linker, link_all
from digest.studies.partition import Partition, Run
from digest.studies.results import Conflict, DedupeResult, K, Link, PossibleDuplicate

__all__ = ["Conflict", "DedupeResult", "Link", "PossibleDuplicate", "cluster"]


def cluster(
    records: Mapping[K, RecordData] | Iterable[tuple[K, RecordData]],
    decisions: Mapping[frozenset[K], str] | None = None,
    word_counts: Mapping[str, int] | None = None,
    features: Mapping[K, Features] | None = None,
) -> DedupeResult[K]:
    """Partition records into works, link the works, and list near-misses for review.

    `records` maps a caller's stable key (e.g. (source, source_id) or a row id) to its
    record; keys must be unique. `decisions` maps a pair of keys to "merge" or
    "keep-apart"; a person's word wins over every rule. The result does not depend on
    the order records arrive in.

    `word_counts` (title word -> number of article records carrying it) replaces the
    frequencies near-title blocking would count over `records`: a caller clustering a
    closed part of a larger archive (`digest.studies.incremental`) passes the archive's,
    so the part is clustered exactly as in a run over the whole archive.

    `features` holds `features_of(record)` already computed for some keys (the refresh
    computes them for its index entries): they are not computed again.
    """
    items = list(records.items()) if isinstance(records, Mapping) else list(records)
    items = _canonical_order(items)
    keys = [k for k, _ in items]
    if len(set(keys)) != len(keys):
        raise ValueError("cluster(): every record needs its own key")
    known = features or {}
    computed = [known[k] if k in known else features_of(r) for k, r in items]
    id_index = _build_index(computed)
    groups = shared_id_groups(computed, id_index)
    distrusted = {identifier for identifier, subgroups in groups.items() if len(subgroups) > 1}
    run: Run[K] = Run(
        keys=keys,
        records=[r for _, r in items],
        features=computed,
        id_index=id_index,
        partition=Partition(computed, distrusted),
        decisions=decision_pairs(decisions, {k: i for i, k in enumerate(keys)}),
        word_counts=word_counts,
    )
    for identifier in sorted(distrusted):
        run.conflict(identifier, id_index[identifier], "carried by records of different works")
    apply_decisions(run)
    join_shared_ids(run, groups)
    join_versions(run)
    join_equal_titles(run)
    join_near_titles(run)
    return _assemble(run)


def _canonical_order(items: list[tuple[K, RecordData]]) -> list[tuple[K, RecordData]]:
    return sorted(items, key=lambda kr: (kr[1].source, kr[1].source_id, repr(kr[0])))


def _build_index(features: Sequence[Features]) -> dict[Identifier, list[int]]:
    index: dict[Identifier, list[int]] = defaultdict(list)
    for i, feature in enumerate(features):
        for identifier in feature.ids:
            index[identifier].append(i)
    return index


def _rank(feature: Features, index: int) -> tuple[bool, int, int]:
    """Primary-record order: journal version over preprint, then source precedence."""
    return (feature.preprint, feature.precedence, index)


def _assemble(run: Run[K]) -> DedupeResult[K]:
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(run.records)):
        members[run.partition.find(i)].append(i)
    ordered = [sorted(group, key=lambda i: _rank(run.features[i], i)) for group in members.values()]
    ordered.sort(key=lambda group: group[0])
    cluster_index = [0] * len(run.records)
    for c, group in enumerate(ordered):
        for i in group:
            cluster_index[i] = c
    linker = Linker(cluster_index, run.id_index)
    link_all(linker, run, ordered)
    primary = [group[0] for group in ordered]
    result: DedupeResult[K] = DedupeResult(
        clusters=[[run.keys[i] for i in group] for group in ordered],
        links=[
            Link(run.keys[primary[a]], run.keys[primary[b]], kind, evidence)
            for (a, b, kind), evidence in sorted(linker.links.items())
        ],
        possible_duplicates=_possible_duplicates(run, cluster_index),
        conflicts=run.conflicts,
        retracted=linker.retracted,
        has_erratum=linker.has_erratum,
        preprint={c for c, g in enumerate(ordered) if all(run.features[i].preprint for i in g)},
    )
    result.cluster_of = {run.keys[i]: cluster_index[i] for i in range(len(run.records))}
    return result


def _possible_duplicates(run: Run[K], cluster_index: Sequence[int]) -> list[PossibleDuplicate[K]]:
    """The best near-miss per pair of clusters. Pairs that ended up together are dropped,
    and so are clusters a person already kept apart (whichever of their records)."""
    decided = {
        (min(cluster_index[a], cluster_index[b]), max(cluster_index[a], cluster_index[b]))
        for (a, b), verdict in run.decisions.items()
        if verdict == "keep-apart"
    }
    best: dict[tuple[int, int], tuple[float, int, int, str]] = {}
    for (a, b), (score, reason) in sorted(run.reviews.items()):
        ca, cb = cluster_index[a], cluster_index[b]
        pair = (min(ca, cb), max(ca, cb))
        if ca == cb or pair in decided:
            continue
        if pair not in best or score > best[pair][0]:
            best[pair] = (score, a, b, reason)
    return [
        PossibleDuplicate(run.keys[a], run.keys[b], round(score, 4), reason)
        for _, (score, a, b, reason) in sorted(best.items())
    ]
