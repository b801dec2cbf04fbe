"""The normalized record's schema (PRODUCT.md "Normalized record"), as a pydantic model.

`digest.model.RecordData` is a plain dataclass and trusts whoever builds it. Anything that
comes from outside the project's parsers (a JSON Lines import, a stored row written by an
older version) is checked here first, so a record that would break deduplication or
classification later (`"extra": "s"`, `"authors": 5`, `"title": null`) is refused at the
door, with a message saying which field is wrong, and never stored.

Types are strict (no coercion: 5 is not a string, "s" is not a dict). Unknown fields are
ignored here (the callers warn about them); `relations` (typed links such as retracted-by
or erratum-in) is accepted as a list of objects with a string `kind`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from digest.model import RecordData


class RelationSchema(BaseModel):
    """A typed link to another work; only `kind` is required here."""

    model_config = ConfigDict(extra="allow", strict=True)

    kind: str = Field(min_length=1)


class RecordSchema(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    source: str = Field(min_length=1)
    source_id: str = Field(min_length=1)
    pmid: str | None = None
    doi: str | None = None
    pmcid: str | None = None
    nct_ids: list[str] = []
    title: str = ""
    abstract: str | None = None
    journal: str | None = None
    published: str | None = None
    authors: list[str] = []
    publication_types: list[str] = []
    mesh_terms: list[str] = []
    language: str | None = None
    url: str | None = None
    extra: dict[str, Any] = {}
    relations: list[RelationSchema] = []


def record_problem(data: Any) -> str | None:
    """Why `data` (a JSON object) is not a valid normalized record, or None if it is."""
    if not isinstance(data, dict):
        return f"a record must be a JSON object, not {type(data).__name__}"
    try:
        RecordSchema.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:3]:
            where = ".".join(str(part) for part in error["loc"]) or "(record)"
            problems.append(f"{where}: {error['msg']}")
        more = f" (and {exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
        return "; ".join(problems) + more
    return None


def validated_records(
    records: list[RecordData], what: str = "record"
) -> tuple[list[RecordData], list[str]]:
    """The records that satisfy the schema, and one warning per record that does not."""
    good: list[RecordData] = []
    warnings: list[str] = []
    for index, record in enumerate(records, start=1):
        problem = record_problem(record.to_json_dict())
        if problem is None:
            good.append(record)
        else:
            warnings.append(f"{what} #{index} ({record.source_id!r}) skipped: {problem}")
    return good, warnings
