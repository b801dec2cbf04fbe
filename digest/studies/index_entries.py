"""What the study index holds of one record (pure): its kind, title, words and keys.

A *key* is a string two records share when `cluster()` may relate them; its role says
how (see `digest.studies.index_tables.StudyIndexKey`):

- ``id``: a merge-strength identifier (`identifiers()`, "doi:10.1/x", "record:src:id");
- ``title``: the normalised title key, when long enough to merge on (`MIN_TITLE_KEY`);
- ``vref``: the ids an explicit version relation names (preprint <-> journal version);
- ``lref``: what a link is made from: other relations' ids, the DOIs/PMIDs a notice
  names, a notice's target title ("title:..."), a registration's results PMIDs;
- ``trial``: a registry id a paper names ("registration:NCT..."), the key its
  registration carries as an ``id``.

Records that may *join* (be one work, or a possible duplicate) share an ``id``,
``title`` or ``vref`` key, a human decision, or a blocking word with a near title
(`MERGE_ROLES`, `digest.studies.incremental`); records that may only *link* share any key.
"""

from __future__ import annotations

from dataclasses import dataclass

from digest.facts import VERSION_RELATIONS
from digest.model import RecordData
from digest.studies.features import (
    Features,
    features_of,
    link_identifiers,
    references,
    registry_references,
)
from digest.studies.joins import MIN_TITLE_KEY, article_words
from digest.studies.links import notice_named_ids, notice_title_key

MERGE_ROLES = ("id", "title", "vref")


@dataclass(frozen=True, slots=True)
class IndexEntry:
    kind: str
    title: str
    words: tuple[str, ...]
    keys: frozenset[tuple[str, str]]  # (key, role)


def key_of(scheme: str, value: str) -> str:
    return f"{scheme}:{value}"


def index_entry(record: RecordData, feature: Features | None = None) -> IndexEntry:
    """The index row and keys of one record."""
    feature = feature or features_of(record)
    keys: set[tuple[str, str]] = {(key_of("record", f"{record.source}:{record.source_id}"), "id")}
    keys.update((key_of(s, v), "id") for s, v in feature.ids)
    if len(feature.title_key) >= MIN_TITLE_KEY:
        keys.add((key_of("title", feature.title_key), "title"))
    for reference in references(record):
        role = "vref" if reference.relation in VERSION_RELATIONS else "lref"
        keys.update((key_of(s, v), role) for s, v in reference.ids)
    if feature.kind == "notice":
        keys.update((key_of(s, v), "lref") for s, v in notice_named_ids(record))
        target = notice_title_key(record.title)
        if target:
            keys.add((key_of("title", target), "lref"))
    if feature.kind == "article":
        keys.update((key_of(s, v), "trial") for s, v in _trial_ids(record))
    if feature.kind == "registration":
        keys.update((key_of("pmid", pmid), "lref") for pmid, _, _ in registry_references(record))
    return IndexEntry(
        kind=feature.kind,
        title=feature.title,
        words=article_words(feature),
        keys=frozenset(keys),
    )


def _trial_ids(record: RecordData) -> set[tuple[str, str]]:
    """("registration", id) for each trial a paper names: the key its registration has."""
    return {("registration", rid) for _, rid in link_identifiers(record)}
