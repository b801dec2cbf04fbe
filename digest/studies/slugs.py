"""Permalink slugs of works: from the work's primary id, unique across the works."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence

from digest.facts import registry_scheme
from digest.model import RecordData
from digest.sources import traits_of
from digest.studies.features import identifiers, is_registration
from digest.studies.merge import merge_fields, primary_record

MAX_SLUG = 120


def _slug_part(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def doi_slug(doi: str) -> str:
    """'10.1000/ABC(1)' -> 'doi-10.1000-abc-1-': every character unsafe in a path -> '-'."""
    # a run of dots becomes one dot: "10.1000/..evil" must not give a ".." in a path segment
    return "doi-" + re.sub(r"\.{2,}", ".", re.sub(r"[^a-z0-9._-]", "-", doi.lower())).strip(".")


def registration_slug(registry_id: str) -> str:
    """'NCT01234567' -> 'nct-nct01234567', 'ISRCTN12345678' -> 'isrctn-isrctn12345678':
    the registry's scheme name, then the id (so NCT permalinks keep their old form)."""
    scheme = registry_scheme(registry_id)
    return f"{scheme.name if scheme else 'registration'}-{_slug_part(registry_id)}"


def _id_slug(scheme: str, value: str) -> str | None:
    """The slug an identifier gives a work, for the schemes a slug is made of."""
    if scheme == "pmid":
        return f"pmid-{value}"
    if scheme == "registration":
        return registration_slug(value)
    return None


def _bounded(slug: str) -> str:
    """A slug short enough for a path segment: long ones (feed item URLs) keep a readable
    start and end with a hash of the whole, so they stay unique and stable."""
    if len(slug) <= MAX_SLUG:
        return slug
    digest = hashlib.sha1(slug.encode()).hexdigest()[:10]
    return f"{slug[: MAX_SLUG - 11].rstrip('-.')}-{digest}"


def study_slug(records: Sequence[RecordData]) -> str:
    """Permalink slug from the work's primary id: a registration's own registry id
    (`registration_slug`), pmid-<pmid>, doi-<doi>, else <source>-<source_id>; at most
    MAX_SLUG characters."""
    return _bounded(_study_slug(records))


def _study_slug(records: Sequence[RecordData]) -> str:
    primary = primary_record(records)
    if is_registration(primary):
        registry_id = dict(identifiers(primary)).get("registration")
        if registry_id:
            return registration_slug(registry_id)
    merged, _ = merge_fields(records)
    if merged.get("pmid"):
        return f"pmid-{merged['pmid']}"
    if merged.get("doi"):
        return doi_slug(str(merged["doi"]))
    return f"{_slug_part(primary.source)}-{_slug_part(primary.source_id)}"


def unique_slugs(works: Sequence[Sequence[RecordData]]) -> list[str]:
    """`study_slug` of each work, made unique across the works.

    Two works can claim one slug when records sharing an id were kept apart (by a person,
    or because the id was distrusted as a conflict). The work holding the source's own
    record of that id (`_holds_own_record`: the PubMed record of <pmid>, the registry's
    record of its id) keeps it, else the first work; the others get "-2", "-3", ... in order.
    """
    slugs = [study_slug(records) for records in works]
    holders: dict[str, list[int]] = defaultdict(list)
    for index, slug in enumerate(slugs):
        holders[slug].append(index)
    taken = set(slugs)
    for slug, indexes in holders.items():
        if len(indexes) < 2:
            continue
        owner = min(indexes, key=lambda i: (not _holds_own_record(works[i], slug), i))
        suffix = 2
        for index in indexes:
            if index == owner:
                continue
            while f"{slug}-{suffix}" in taken:
                suffix += 1
            slugs[index] = f"{slug}-{suffix}"
            taken.add(slugs[index])
    return slugs


def _holds_own_record(records: Sequence[RecordData], slug: str) -> bool:
    """Whether one of the records *is* the source's record of the slug's id: an id its kind
    reads from its own records (`SourceTraits.own_identifiers`) that is also its source id
    (a PubMed record's PMID, a registration's registry id; not a Europe PMC MED:<pmid>)."""
    return any(
        slug == _id_slug(scheme, value)
        for record in records
        for scheme, value in traits_of(record.source).own_identifiers(record)
        if value.lower() == record.source_id.strip().lower()
    )
