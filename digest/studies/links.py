"""Links between works, and the flags they set: notices, registrations, trials.

- a typed relation (`RecordData.relations`; what each kind means is
  `digest.facts.RELATION_EFFECTS`) links the two works and may flag the target
  retracted or corrected;
- a notice found by type or title links to the work it names in its text, else to the
  one work whose title it repeats;
- a publication naming a registry id (any registry: NCT, ISRCTN, ChiCTR, ...) links to
  that registration, and the papers of one trial link to each other ("protocol-of",
  "same-trial");
- a registration listing its results papers links them, and flags any it says retracted.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from digest import facts
from digest.facts import (
    NOTICE_LINK_KINDS,
    RELATION_EFFECTS,
    NoticeKind,
    StudyFlag,
    find_dois,
    normalize_pmid,
    notice_target_title,
)
from digest.model import RecordData
from digest.studies.features import (
    Identifier,
    link_identifiers,
    references,
    registry_references,
)
from digest.studies.joins import MIN_TITLE_KEY
from digest.studies.normalize import normalize_title, spelling_key
from digest.studies.partition import Run
from digest.studies.results import K

_MAX_TRIAL_GROUP = 30  # publications per registration above this get registration links only
_PMID_IN_TEXT = re.compile(r"\bPMID\s*:?\s*(\d{1,9})\b", re.IGNORECASE)


@dataclass(slots=True)
class Linker:
    """Collects links between clusters and the retracted / erratum flags."""

    cluster_index: list[int]  # record index -> cluster index
    id_index: dict[Identifier, list[int]]
    links: dict[tuple[int, int, str], str] = field(default_factory=dict)
    outgoing: set[tuple[int, str]] = field(default_factory=set)
    retracted: set[int] = field(default_factory=set)
    has_erratum: set[int] = field(default_factory=set)

    def clusters_of(self, ids: Iterable[Identifier]) -> list[int]:
        found = {self.cluster_index[r] for ident in ids for r in self.id_index.get(ident, [])}
        return sorted(found)

    def link(self, a: int, b: int, kind: str, evidence: str) -> None:
        if a == b:
            return
        if kind == "same-trial" and a > b:
            a, b = b, a
        self.links.setdefault((a, b, kind), evidence)
        self.outgoing.add((a, kind))


_NOTICE_FLAGS: dict[NoticeKind, StudyFlag] = {"retraction": "retracted", "erratum": "erratum"}


def _flag(linker: Linker, cluster: int, flag: StudyFlag | None) -> None:
    if flag == "retracted":
        linker.retracted.add(cluster)
    elif flag == "erratum":
        linker.has_erratum.add(cluster)


def _link_references(linker: Linker, run: Run[K]) -> None:
    for i, record in enumerate(run.records):
        own = linker.cluster_index[i]
        evidence = f"{record.source}:{record.source_id}"
        for reference in references(record):
            relation = reference.relation
            effect = RELATION_EFFECTS.get(relation)
            if effect is None:
                continue
            if effect.outgoing:
                for target in linker.clusters_of(reference.ids):
                    if target != own:
                        linker.link(own, target, effect.link, f"{evidence} {relation}")
                        _flag(linker, target, effect.flag)
            else:
                if not (effect.flag == "retracted" and facts.retraction_reversed(record)):
                    _flag(linker, own, effect.flag)
                for source in linker.clusters_of(reference.ids):
                    if source != own:
                        linker.link(source, own, effect.link, f"{evidence} {relation}")


def _link_notices(linker: Linker, run: Run[K], title_index: Mapping[str, list[int]]) -> None:
    """Notices found by type or title: their target from ids in the text, else the title."""
    for i, feature in enumerate(run.features):
        if feature.kind != "notice" or feature.notice is None:
            continue
        own = linker.cluster_index[i]
        kind = NOTICE_LINK_KINDS[feature.notice]
        flag = _NOTICE_FLAGS.get(feature.notice)
        if (own, kind) in linker.outgoing:
            continue  # its comments/corrections entries already named the target
        record = run.records[i]
        named = notice_named_ids(record)
        targets = [t for t in linker.clusters_of(named - set(feature.ids)) if t != own]
        evidence = f"{record.source}:{record.source_id} names the target"
        if not targets:
            targets = _title_targets(record.title, title_index, linker, own)
            evidence = f"{record.source}:{record.source_id} repeats the target's title"
        for target in targets:
            linker.link(own, target, kind, evidence)
            _flag(linker, target, flag)


def notice_named_ids(record: RecordData) -> set[Identifier]:
    """The DOIs and PMIDs a notice's title and abstract name (its target, usually)."""
    text = f"{record.title}\n{record.abstract or ''}"
    return {("doi", d) for d in find_dois(text)} | {
        ("pmid", str(normalize_pmid(m.group(1)))) for m in _PMID_IN_TEXT.finditer(text)
    }


def notice_title_key(title: str | None) -> str | None:
    """The title key of the work a notice's title repeats ('Retraction: <title>'), or None."""
    rest = notice_target_title(title)
    if rest is None:
        return None
    key = "".join(spelling_key(w) for w in normalize_title(rest).split())
    return key if len(key) >= MIN_TITLE_KEY else None


def _title_targets(
    title: str, title_index: Mapping[str, list[int]], linker: Linker, own: int
) -> list[int]:
    key = notice_title_key(title)
    if key is None:
        return []
    clusters = sorted({linker.cluster_index[r] for r in title_index.get(key, [])} - {own})
    return clusters if len(clusters) == 1 else []


def _trial_members(linker: Linker, run: Run[K]) -> dict[str, set[int]]:
    """Registry id -> publication clusters of that trial (named by the paper or by the
    registration)."""
    trials: dict[str, set[int]] = defaultdict(set)
    for i, record in enumerate(run.records):
        if run.features[i].kind == "article":
            for _, registry_id in link_identifiers(record):
                trials[registry_id].add(linker.cluster_index[i])
        elif run.features[i].kind == "registration":
            registered = next((v for s, v in run.features[i].ids if s == "registration"), None)
            for pmid, _, _ in registry_references(record):
                if registered:
                    trials[registered].update(linker.clusters_of([("pmid", pmid)]))
    return trials


def _link_trials(linker: Linker, run: Run[K], protocol_clusters: set[int]) -> None:
    for i, record in enumerate(run.records):
        if run.features[i].kind == "registration":
            _link_registration(linker, i, record)
    for registry_id, members in sorted(_trial_members(linker, run).items()):
        registrations = linker.clusters_of([("registration", registry_id)])
        for publication in sorted(members):
            for registration in registrations:
                linker.link(publication, registration, "registration", f"{registry_id} named")
        if len(members) > _MAX_TRIAL_GROUP:
            continue
        for a, b in combinations(sorted(members), 2):
            if (a in protocol_clusters) != (b in protocol_clusters):
                protocol, other = (a, b) if a in protocol_clusters else (b, a)
                linker.link(protocol, other, "protocol-of", registry_id)
            else:
                linker.link(a, b, "same-trial", registry_id)


def _link_registration(linker: Linker, i: int, record: RecordData) -> None:
    """A registration's listed results papers link to it; those it says retracted are flagged."""
    own = linker.cluster_index[i]
    for pmid, kind, retracted in registry_references(record):
        for publication in linker.clusters_of([("pmid", pmid)]):
            linker.link(
                publication, own, "registration", f"{record.source_id} lists {kind} pmid {pmid}"
            )
            if retracted:
                linker.retracted.add(publication)


def _self_flags(linker: Linker, run: Run[K]) -> None:
    for i, record in enumerate(run.records):
        if facts.is_retracted(record):
            linker.retracted.add(linker.cluster_index[i])


def link_all(linker: Linker, run: Run[K], ordered: Sequence[Sequence[int]]) -> None:
    """Every link and flag of the run, clusters given (`ordered`: record indexes per cluster)."""
    title_index: dict[str, list[int]] = defaultdict(list)
    for i, feature in enumerate(run.features):
        if feature.kind == "article":
            title_index[feature.title_key].append(i)
    protocol_clusters = {
        c for c, group in enumerate(ordered) if any(run.features[i].protocol for i in group)
    }
    _self_flags(linker, run)
    _link_references(linker, run)
    _link_notices(linker, run, title_index)
    _link_trials(linker, run, protocol_clusters)
    _lift_reversed(linker, run)


def _lift_reversed(linker: Linker, run: Run[K]) -> None:
    """A retraction one record reports is lifted when the study's records together name
    a later reinstatement (PubMed may still type it "Retracted Publication" while Crossref
    carries the retraction of the retraction)."""
    members: dict[int, list[int]] = defaultdict(list)
    for i, cluster in enumerate(linker.cluster_index):
        if cluster in linker.retracted:
            members[cluster].append(i)
    for cluster, group in members.items():
        notices = facts.merge_notices(n for i in group for n in facts.notices_of(run.records[i]))
        if facts.is_reinstated(notices):
            linker.retracted.discard(cluster)
