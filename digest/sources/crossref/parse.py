"""Crossref REST API works (`message-type` work or work-list) -> RecordData.

A work is keyed by its DOI. Its update links become typed relations: `update-to` is
written on a notice and names what it updates (`retraction-of`, `erratum-for`,
`concern-for`, `update-of`); `updated-by` is written on the updated work and names its
notices (`retracted-by`, `erratum-in`, `concern-in`, `updated-in`); `relation` carries
preprint/version links. Who asserts a link is kept in `Relation.via` when it is not the
publisher (Crossref also serves Retraction Watch's assertions, `source:
"retraction-watch"`). Every raw link stays in `extra` as Crossref wrote it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from digest.errors import ParseError
from digest.facts import normalize_doi
from digest.model import ParseResult, RecordData, Relation
from digest.sources.text import (
    collapse_whitespace,
    drop_markup,
    html_to_text,
    load_json,
    records_skipping_bad,
)

SOURCE = "crossref"

# Crossref update types -> (kind on the notice, kind on the updated work).
_UPDATE_KINDS = {
    "retraction": ("retraction-of", "retracted-by"),
    "partial_retraction": ("retraction-of", "retracted-by"),
    "withdrawal": ("retraction-of", "retracted-by"),
    "removal": ("retraction-of", "retracted-by"),
    "correction": ("erratum-for", "erratum-in"),
    "erratum": ("erratum-for", "erratum-in"),
    "corrigendum": ("erratum-for", "erratum-in"),
    "expression_of_concern": ("concern-for", "concern-in"),
    "new_version": ("update-of", "updated-in"),
    # a retraction retracted in turn (Retraction Watch's "Reinstatement")
    "reinstatement": ("reinstatement-of", "reinstated-by"),
}
# `relation` types that are versions of one work
_RELATION_KINDS = {"is-preprint-of": "preprint-of", "has-preprint": "has-preprint"}


def _load(payload: bytes) -> dict[str, Any]:
    try:
        document = load_json(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ParseError(f"truncated or malformed Crossref JSON: {exc}", source=SOURCE) from exc
    if not isinstance(document, dict) or not isinstance(document.get("message"), dict):
        raise ParseError("not a Crossref API answer (no 'message' object)", source=SOURCE)
    if document.get("status") != "ok":
        raise ParseError(f"Crossref status {document.get('status')!r}", source=SOURCE)
    return document


def _items(document: dict[str, Any]) -> list[Any]:
    message, kind = document["message"], document.get("message-type")
    if kind == "work":
        return [message]
    if kind == "work-list" and isinstance(message.get("items"), list):
        return list(message["items"])
    raise ParseError(f"expected a Crossref work or work-list, got {kind!r}", source=SOURCE)


def crossref_page_info(payload: bytes) -> tuple[str | None, int | None, int]:
    """(next-cursor, total-results, items on this page) of a work-list answer."""
    document = _load(payload)
    items = _items(document)
    message = document["message"]
    cursor, total = message.get("next-cursor"), message.get("total-results")
    return (
        cursor if isinstance(cursor, str) and cursor else None,
        total if isinstance(total, int) else None,
        len(items),
    )


def parse_crossref(
    payload: bytes, context: Mapping[str, Any] | None = None, content_type: str | None = None
) -> ParseResult:
    """The crossref kind's parser: one stored /works answer (no context needed)."""
    return records_skipping_bad(_items(_load(payload)), work_to_record, "work", SOURCE)


def _first_text(value: Any) -> str | None:
    texts = [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
    text = drop_markup(collapse_whitespace(texts[0])) if texts else ""
    return text or None


def _date(value: Any) -> str | None:
    """'YYYY', 'YYYY-MM' or 'YYYY-MM-DD' from Crossref's {"date-parts": [[y, m, d]]}."""
    parts = value.get("date-parts") if isinstance(value, dict) else None
    first = parts[0] if isinstance(parts, list) and parts and isinstance(parts[0], list) else []
    numbers = [p for p in first if isinstance(p, int)]
    if not numbers:
        return None
    return "-".join([f"{numbers[0]:04d}", *(f"{n:02d}" for n in numbers[1:3])])


def _authors(value: Any) -> list[str]:
    """'Family Initials' (as PubMed writes them), or the name as given."""
    names = []
    for author in value if isinstance(value, list) else []:
        if not isinstance(author, dict):
            continue
        family, given = author.get("family"), author.get("given")
        if isinstance(family, str) and family.strip():
            initials = "".join(w[0] for w in str(given or "").replace("-", " ").split() if w)
            names.append(f"{family.strip()} {initials}".strip())
        elif isinstance(author.get("name"), str):
            names.append(author["name"].strip())
    return names


def _update_relations(entries: Any, side: int) -> list[Relation]:
    relations = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        kinds = _UPDATE_KINDS.get(str(entry.get("type") or "").lower())
        doi = normalize_doi(str(entry.get("DOI") or ""))
        if kinds is None or doi is None:
            continue  # other update types stay raw in extra
        source = entry.get("source")
        relations.append(
            Relation(
                kinds[side],
                doi=doi,
                date=_date(entry.get("updated")),
                via=source if isinstance(source, str) and source != "publisher" else None,
                note=entry.get("label") if isinstance(entry.get("label"), str) else None,
            )
        )
    # the same link asserted twice (publisher and Retraction Watch) is one relation
    unique: dict[tuple[str, str | None], Relation] = {}
    for relation in relations:
        key = (relation.kind, relation.doi)
        if key not in unique or (unique[key].via and not relation.via):
            unique[key] = relation
    return list(unique.values())


def _version_relations(relation: Any) -> list[Relation]:
    found = []
    for name, kind in _RELATION_KINDS.items():
        targets = relation.get(name) if isinstance(relation, dict) else None
        for target in targets if isinstance(targets, list) else []:
            if isinstance(target, dict) and target.get("id-type") == "doi":
                doi = normalize_doi(str(target.get("id") or ""))
                if doi:
                    found.append(Relation(kind, doi=doi))
    return found


def _without_empty(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value not in (None, "", [], {})}


def work_to_record(item: Any) -> RecordData:
    """One Crossref work object -> RecordData."""
    if not isinstance(item, dict):
        raise ParseError("work is not an object", source=SOURCE)
    doi = normalize_doi(str(item.get("DOI") or ""))
    if doi is None:
        raise ParseError("work without a DOI", source=SOURCE)
    abstract = item.get("abstract")
    published = item.get("published") or item.get("issued")
    return RecordData(
        source=SOURCE,
        source_id=doi,
        doi=doi,
        title=_first_text(item.get("title")) or "",
        abstract=html_to_text(abstract) or None if isinstance(abstract, str) else None,
        journal=_first_text(item.get("container-title")),
        published=_date(published),
        authors=_authors(item.get("author")),
        publication_types=[item["type"]] if isinstance(item.get("type"), str) else [],
        language=item.get("language") if isinstance(item.get("language"), str) else None,
        url=f"https://doi.org/{doi}",
        relations=[
            *_update_relations(item.get("update-to"), 0),
            *_update_relations(item.get("updated-by"), 1),
            *_version_relations(item.get("relation")),
        ],
        extra=_without_empty(
            {
                "type": item.get("type"),
                "publisher": item.get("publisher"),
                "issn": item.get("ISSN"),
                "volume": item.get("volume"),
                "issue": item.get("issue"),
                "page": item.get("page"),
                "update_to": item.get("update-to"),
                "updated_by": item.get("updated-by"),
                "relation": item.get("relation"),
                "update_policy": item.get("update-policy"),
                "member": item.get("member"),
            }
        ),
    )
