"""`digest export`: studies out as JSON Lines, CSV, RIS, BibTeX or CSL-JSON.

`study_exports` reads the database (through digest.store.digests); the `to_*` functions
are pure. The JSONL shape is PRODUCT.md's: one study a line with its primary id and slug,
all its identifiers, classification, `records` (each with source, source_id and the ids it
carried) and `related` (links to other studies).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.config import Settings
from digest.issue.context import study_views, week_bounds
from digest.model import RecordData
from digest.render import citations
from digest.store import digests as q
from digest.store.records import record_identifiers

FORMATS = ("jsonl", "csv", "ris", "bibtex", "csl-json")
CSV_COLUMNS = (
    "slug",
    "primary_id",
    "title",
    "journal",
    "published",
    "design",
    "conditions",
    "interventions",
    "comparator",
    "sample_size",
    "key_finding",
    "badges",
    "retracted",
    "pmid",
    "doi",
    "pmcid",
    "nct_ids",
    "sources",
)


def study_exports(
    settings: Settings, engine: Engine, week: str | None = None
) -> list[dict[str, Any]]:
    """Every study (or those first seen in `week`) as a plain dict, sorted by slug."""
    with Session(engine) as session:
        if week:
            _, _, start, end = week_bounds(week, settings.timezone)
            studies = q.studies_first_seen(session, start, end)
        else:
            studies = q.all_studies(session)
        records = q.records_by_study(session, [s.id for s in studies if s.id])
        links = q.links_touching(session, [s.id for s in studies if s.id])
        others = q.studies_by_id(
            session, {link.from_study_id for link in links} | {link.to_study_id for link in links}
        )
        out: list[dict[str, Any]] = []
        for study in sorted(studies, key=lambda s: s.slug):
            ids: set[tuple[str, str]] = set()
            members = []
            for row in records.get(study.id or 0, []):
                carried = record_identifiers(RecordData.from_json_dict(row.data))
                ids |= {i for i in carried if i[0] != "source"}
                members.append(
                    {
                        "source": row.source,
                        "source_id": row.source_id,
                        "ids": {s: v for s, v in sorted(carried) if s != "source"},
                        "url": row.data.get("url"),
                    }
                )
            related = [
                {
                    "kind": link.kind,
                    "direction": "to" if link.from_study_id == study.id else "from",
                    "slug": others[
                        link.to_study_id if link.from_study_id == study.id else link.from_study_id
                    ].slug,
                }
                for link in links
                if study.id in (link.from_study_id, link.to_study_id)
            ]
            out.append(
                {
                    "slug": study.slug,
                    "primary_id": study.slug.split("-", 1)[1] if "-" in study.slug else study.slug,
                    "identifiers": sorted([list(i) for i in ids]),
                    "title": study.title,
                    "authors": study.authors,
                    "journal": study.journal,
                    "published": study.published,
                    "abstract": study.abstract,
                    "pmid": study.pmid,
                    "doi": study.doi,
                    "pmcid": study.pmcid,
                    "nct_ids": study.nct_ids,
                    "design": study.design,
                    "conditions": study.conditions,
                    "interventions": study.interventions,
                    "comparator": study.comparator,
                    "sample_size": study.sample_size,
                    "key_finding": study.key_finding,
                    "badges": study.badges,
                    "in_scope": study.in_scope,
                    "retracted": study.retracted,
                    "has_erratum": study.has_erratum,
                    "is_preprint": study.is_preprint,
                    "records": members,
                    "related": sorted(related, key=json.dumps),
                }
            )
        views = study_views(session, studies, settings)
    by_slug = {v.slug: v for v in views.values()}
    for item in out:
        item["_view"] = by_slug[item["slug"]]
    return out


def to_jsonl(items: list[dict[str, Any]]) -> str:
    return "".join(
        json.dumps({k: v for k, v in item.items() if not k.startswith("_")}, ensure_ascii=False)
        + "\n"
        for item in items
    )


# A cell starting with one of these is a formula to a spreadsheet (CSV injection, OWASP):
# it is prefixed with a single quote so it is shown as text, never evaluated.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_STARTS):
        value = "'" + value
    # a bare CR is not quoted by the csv module with "\n" line endings and splits the row
    return value.replace("\r\n", "\n").replace("\r", "\n")


def to_csv(items: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for item in items:
        row = dict(
            item, sources="; ".join(f"{r['source']}:{r['source_id']}" for r in item["records"])
        )
        writer.writerow(
            [
                _csv_cell("; ".join(map(str, v)) if isinstance(v, list) else "" if v is None else v)
                for v in (row[c] for c in CSV_COLUMNS)
            ]
        )
    return buffer.getvalue()


def render(items: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "jsonl":
        return to_jsonl(items)
    if fmt == "csv":
        return to_csv(items)
    views = [item["_view"] for item in items]
    writers = {
        "ris": citations.to_ris,
        "bibtex": citations.to_bibtex,
        "csl-json": citations.to_csl_json,
    }
    if fmt in writers:
        return writers[fmt](views)
    raise ValueError(f"unknown export format {fmt!r}")
