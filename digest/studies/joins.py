"""The join rules of `cluster()`, steps 1-5 of the fixed order (see digest.studies.cluster):
human decisions, shared identifiers, explicit versions, equal titles, near-equal titles."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations

from rapidfuzz import fuzz

from digest.facts import VERSION_RELATIONS
from digest.studies.evidence import (
    REVIEW_TITLE_SCORE,
    authors_evidence,
    clearly_different,
    equal_title_verdict,
    fuzzy_candidates,
    near_title_verdict,
)
from digest.studies.features import Features, Identifier, Reference, references
from digest.studies.partition import GUARD_ALWAYS, GUARD_WITH_DOI, Decision, Run
from digest.studies.results import K

_MAX_BLOCK = 64  # title words shared by more records than this are too common to block on
_BLOCK_TOKENS = 3  # rarest title tokens per record used as blocking keys
_MAX_TITLE_GROUP = 200  # equal-title groups above this are split by first author
MIN_TITLE_KEY = 12  # shorter normalised titles ("Correction.") never merge on title

_ID_SCHEME_ORDER = ("registration", "pmid", "pmcid", "doi", "ppr", "epmc", "page")
_ID_SCHEME_GUARDS: dict[str, tuple[str, ...]] = {
    "registration": (),
    "pmid": ("registration",),
    "pmcid": ("pmid", "registration"),
    "doi": GUARD_ALWAYS,
    "ppr": GUARD_WITH_DOI,
    "epmc": GUARD_WITH_DOI,
    "page": GUARD_ALWAYS,
}


def _id_subgroups(
    features: Sequence[Features],
    identifier: Identifier,
    members: Sequence[int],
    by_title: Mapping[str, list[int]],
) -> list[list[int]]:
    """Split the records sharing one identifier into groups of mutually plausible works."""
    groups: list[list[int]] = []
    for member in members:
        for group in groups:
            anchor = group[0]
            if clearly_different(features[anchor], features[member]):
                continue
            if features[anchor].title_key != features[member].title_key and (
                _title_taken(features, features[anchor], identifier, by_title)
                or _title_taken(features, features[member], identifier, by_title)
            ):
                continue
            group.append(member)
            break
        else:
            groups.append([member])
    return groups


def _title_taken(
    features: Sequence[Features],
    feature: Features,
    identifier: Identifier,
    by_title: Mapping[str, list[int]],
) -> bool:
    """Whether this exact title belongs to a record with another value of the identifier's
    scheme: then a near-equal title sharing the identifier is a different work (a DOI
    typed onto the companion paper), not a copy."""
    scheme, value = identifier
    for other in by_title.get(feature.title_key, ()):
        if any(s == scheme and v != value for s, v in features[other].ids):
            return True
    return False


def decision_pairs(
    decisions: Mapping[frozenset[K], str] | None, position: Mapping[K, int]
) -> dict[tuple[int, int], Decision]:
    pairs: dict[tuple[int, int], Decision] = {}
    for pair, verdict in (decisions or {}).items():
        members = sorted(position[k] for k in pair if k in position)
        if len(members) == 2 and verdict in ("merge", "keep-apart"):
            pairs[(members[0], members[1])] = "merge" if verdict == "merge" else "keep-apart"
    return pairs


def apply_decisions(run: Run[K]) -> None:
    for (a, b), verdict in sorted(run.decisions.items()):
        if verdict == "keep-apart":
            run.partition.keep_apart(a, b)
    for (a, b), verdict in sorted(run.decisions.items()):
        if verdict != "merge":
            continue
        if run.partition.forbidden(run.partition.find(a), run.partition.find(b)):
            run.conflict(("decision", "merge"), (a, b), "merge contradicts a keep-apart decision")
        else:
            run.partition.union(a, b)


def join_shared_ids(run: Run[K], groups: Mapping[Identifier, list[list[int]]]) -> None:
    for scheme in _ID_SCHEME_ORDER:
        for identifier in sorted(i for i in groups if i[0] == scheme):
            for subgroup in groups[identifier]:
                for member in subgroup[1:]:
                    run.try_union(subgroup[0], member, _ID_SCHEME_GUARDS[scheme], identifier)
    # The same (source, source_id) under two keys: neighbours in canonical order.
    features = run.features
    for i in range(1, len(features)):
        previous, current = features[i - 1], features[i]
        if (previous.source, previous.source_id) == (current.source, current.source_id):
            identifier = ("record", f"{current.source}:{current.source_id}")
            run.try_union(i - 1, i, GUARD_ALWAYS, identifier)


def shared_id_groups(
    features: Sequence[Features], id_index: Mapping[Identifier, list[int]]
) -> dict[Identifier, list[list[int]]]:
    """Identifier -> subgroups of plausible works among the records sharing it.

    More than one subgroup means the identifier is wrong somewhere (a bad DOI): it is
    then distrusted as a guard and reported as a conflict.
    """
    by_title: dict[str, list[int]] = defaultdict(list)
    for i, feature in enumerate(features):
        if len(feature.title_key) >= MIN_TITLE_KEY:
            by_title[feature.title_key].append(i)
    return {
        identifier: _id_subgroups(features, identifier, members, by_title)
        for identifier, members in id_index.items()
        if len(members) > 1
    }


def _version_pairs(run: Run[K]) -> list[tuple[int, int, str]]:
    """(journal record, preprint record, evidence) from explicit version links."""
    pairs = set()
    for i, record in enumerate(run.records):
        for reference in references(record):
            if reference.relation not in VERSION_RELATIONS:
                continue
            for target in sorted(
                {t for ident in reference.ids for t in run.id_index.get(ident, [])}
            ):
                pair = _as_version_pair(run.features, i, target, reference)
                if pair:
                    pairs.add(pair)
    return sorted(pairs)


def _as_version_pair(
    features: Sequence[Features], i: int, target: int, reference: Reference
) -> tuple[int, int, str] | None:
    own, other = features[i], features[target]
    if i == target or own.kind != "article" or other.kind != "article":
        return None
    if own.preprint == other.preprint:
        return None
    journal, preprint = (target, i) if own.preprint else (i, target)
    return (journal, preprint, f"{features[i].source}:{features[i].source_id} {reference.relation}")


def join_versions(run: Run[K]) -> None:
    """Explicit preprint -> journal links. Titles often change between versions, so only
    other authors on a different title make the link suspect."""
    for journal, preprint, evidence in _version_pairs(run):
        a, b = run.features[journal], run.features[preprint]
        near_title = (
            bool(a.title and b.title) and fuzz.ratio(a.title, b.title) >= REVIEW_TITLE_SCORE
        )
        if authors_evidence(a, b) == "conflict" and not near_title:
            run.conflict(("version", evidence), (journal, preprint), "linked versions differ")
            continue
        run.try_union(journal, preprint, GUARD_WITH_DOI, ("version", evidence))


def _title_groups(features: Sequence[Features]) -> list[list[int]]:
    by_key: dict[str, list[int]] = defaultdict(list)
    for i, feature in enumerate(features):
        if feature.kind == "article" and len(feature.title_key) >= MIN_TITLE_KEY:
            by_key[feature.title_key].append(i)
    groups: list[list[int]] = []
    for members in by_key.values():
        if len(members) > _MAX_TITLE_GROUP:
            by_author: dict[str, list[int]] = defaultdict(list)
            for i in members:
                by_author[features[i].authors[0] if features[i].authors else ""].append(i)
            groups.extend(g for g in by_author.values() if len(g) > 1)
        elif len(members) > 1:
            groups.append(members)
    return groups


def join_equal_titles(run: Run[K]) -> None:
    merges: list[tuple[int, int, str]] = []
    for group in _title_groups(run.features):
        for a, b in combinations(group, 2):
            fa, fb = run.features[a], run.features[b]
            if not fuzzy_candidates(fa, fb):
                continue
            verdict = equal_title_verdict(fa, fb)
            if verdict.merge:
                merges.append((a, b, verdict.reason))
            elif verdict.review:
                run.review(a, b, 1.0, verdict.reason)
    for a, b, reason in sorted(merges):
        if not run.try_union(a, b, GUARD_WITH_DOI, None):
            run.review(a, b, 1.0, f"{reason}; {run.partition.refusal(a, b, GUARD_WITH_DOI)}")


def article_words(feature: Features) -> tuple[str, ...]:
    """The title words a record adds to the blocking frequencies (articles only)."""
    if feature.kind != "article":
        return ()
    return tuple(w for w in feature.words if len(w) >= 3)


def word_frequencies(features: Sequence[Features]) -> Counter[str]:
    """Title word -> how many article records carry it: what blocking ranks words by."""
    frequency: Counter[str] = Counter()
    for feature in features:
        frequency.update(article_words(feature))
    return frequency


def chosen_words(words: Sequence[str], frequency: Mapping[str, int]) -> tuple[str, ...]:
    """A record's blocking keys: its rarest title words (`article_words`) shared with
    2.._MAX_BLOCK records, rarest first, at most _BLOCK_TOKENS of them."""
    usable = [w for w in words if 2 <= frequency.get(w, 0) <= _MAX_BLOCK]
    usable.sort(key=lambda w: (frequency.get(w, 0), w))
    return tuple(usable[:_BLOCK_TOKENS])


def blocking_relevant(count: int) -> bool:
    """Whether a word with this frequency can be a blocking key (a change of its count
    across or inside this range can change which words records block on)."""
    return 2 <= count <= _MAX_BLOCK


def chosen_may_change(
    chosen: Sequence[str],
    moved: Iterable[str],
    frequency: Mapping[str, int],
    before: Mapping[str, int],
) -> bool:
    """Whether a record's `chosen_words` can differ from `chosen` (what they were under
    the old counts) when only the counts of `moved` changed: its words whose count moved
    in or across the blocking range. `frequency` holds the new counts, `before` the old
    count of every word whose count changed. False only when they cannot change:

    - every chosen word is still a blocking key, and the new counts keep their order;
    - the last chosen word ranks no later than it did (the words not chosen whose count
      did not move kept their ranks, all after it; with fewer than _BLOCK_TOKENS chosen,
      those are no blocking keys at all);
    - every moved word not chosen is no blocking key now, or ranks after the last chosen.
    """

    def key(word: str) -> tuple[int, str]:
        return frequency.get(word, 0), word

    if not all(blocking_relevant(frequency.get(word, 0)) for word in chosen):
        return True
    if sorted(chosen, key=key) != list(chosen):
        return True
    full = len(chosen) >= _BLOCK_TOKENS
    if full:
        last = chosen[-1]
        if key(last) > (before.get(last, frequency.get(last, 0)), last):
            return True
    for word in moved:
        if word in chosen or not blocking_relevant(frequency.get(word, 0)):
            continue
        if not full or key(word) < key(chosen[-1]):
            return True
    return False


def _blocking_words(
    features: Sequence[Features], frequency: Mapping[str, int] | None = None
) -> list[tuple[str, ...]]:
    """Per record, its rarest title words shared with 2.._MAX_BLOCK other records, rarest
    first: the blocking keys that keep near-title matching near-linear. The frequencies
    are over the records given unless the caller passes the archive's (`word_counts` of
    `cluster()`: the incremental refresh clusters a part of the archive, and blocking must
    rank words as a run over the whole archive would)."""
    counts = word_frequencies(features) if frequency is None else frequency
    return [chosen_words(article_words(feature), counts) for feature in features]


def near_title_candidate(a: str, b: str) -> bool:
    """Whether two normalised titles are close enough for near-title matching to score:
    lengths within 80% and a fuzz ratio >= REVIEW_TITLE_SCORE (cheap pre-filter of the
    pairs `_near_title_pairs` scores; the incremental refresh follows only such pairs)."""
    shorter, longer = sorted((len(a), len(b)))
    if not a or shorter < 0.8 * longer:
        return False
    return bool(fuzz.ratio(a, b, score_cutoff=REVIEW_TITLE_SCORE))


def _near_title_pairs(run: Run[K]) -> list[tuple[float, int, int]]:
    """Pairs of records in different clusters whose titles score >= REVIEW_TITLE_SCORE."""
    find, features = run.partition.find, run.features
    chosen = _blocking_words(features, run.word_counts)
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, words in enumerate(chosen):
        for word in words:
            blocks[word].append(i)
    found = []
    for word, block in blocks.items():
        for a, b in combinations(block, 2):
            # a pair sharing several blocks is scored once: in its rarest shared word's
            if next(w for w in chosen[a] if w in chosen[b]) != word or find(a) == find(b):
                continue
            fa, fb = features[a], features[b]
            if fa.title_key == fb.title_key or not fuzzy_candidates(fa, fb):
                continue
            shorter, longer = sorted((len(fa.title), len(fb.title)))
            if shorter < 0.8 * longer:
                continue
            score = float(fuzz.ratio(fa.title, fb.title, score_cutoff=REVIEW_TITLE_SCORE))
            if score:
                found.append((score, a, b))
    return found


def join_near_titles(run: Run[K]) -> None:
    merges = []
    for score, a, b in _near_title_pairs(run):
        verdict = near_title_verdict(run.features[a], run.features[b], score)
        if verdict.merge:
            merges.append((-score, a, b, verdict.reason))
        elif verdict.review:
            run.review(a, b, score / 100, verdict.reason)
    for _, a, b, reason in sorted(merges):
        if not run.try_union(a, b, GUARD_WITH_DOI, None):
            run.review(a, b, 0.99, f"{reason}; {run.partition.refusal(a, b, GUARD_WITH_DOI)}")
