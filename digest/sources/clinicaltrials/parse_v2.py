"""ClinicalTrials.gov API v2 JSON (a /studies page or one study) -> RecordData.

A registration is not an article: `pmid` stays unset and `publication_types` empty; the
design is decided by digest.classify. Enumerations keep API v2 spelling (`RECRUITING`,
`PHASE2`, `SHAM_COMPARATOR`), which `parse_legacy` also uses, so records of either format
compare.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from digest.errors import ParseError
from digest.facts import normalize_nct, normalize_pmid
from digest.model import ParseResult, RecordData
from digest.sources.clinicaltrials.common import (
    SOURCE,
    STUDY_URL,
    as_dict,
    as_list,
    markdown_to_text,
    results_relations,
    strings_of,
    title_text,
    unique,
)
from digest.sources.text import (
    load_json,
    records_skipping_bad,
)


def _load_json(payload: bytes) -> Any:
    head = payload.lstrip()[:200].lower()
    if head.startswith((b"<!doctype", b"<html", b"<")):
        raise ParseError("expected ClinicalTrials.gov JSON, got HTML/XML", source=SOURCE)
    try:
        return load_json(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"malformed ClinicalTrials.gov JSON: {exc}", source=SOURCE) from exc


def _studies_of(document: Any) -> list[Any]:
    if isinstance(document, dict) and isinstance(document.get("studies"), list):
        return list(document["studies"])
    if isinstance(document, dict) and isinstance(document.get("protocolSection"), dict):
        return [document]
    raise ParseError(
        "not a ClinicalTrials.gov v2 studies page or study (no 'studies' or 'protocolSection')",
        source=SOURCE,
    )


def ctgov_page_info(payload: bytes) -> tuple[str | None, int | None]:
    """(nextPageToken, totalCount) of a v2 /studies page; (None, None) for a single study."""
    document = _load_json(payload)
    _studies_of(document)
    token = document.get("nextPageToken")
    total = document.get("totalCount")
    return (
        token if isinstance(token, str) and token else None,
        total if isinstance(total, int) else None,
    )


def parse_ctgov_json(payload: bytes) -> ParseResult:
    """A v2 search page {"studies": [...]} or a single /studies/{nctId} object."""
    return records_skipping_bad(_studies_of(_load_json(payload)), study_to_record, "study", SOURCE)


def _date_of(struct: Any) -> str | None:
    date = as_dict(struct).get("date")
    return date if isinstance(date, str) and date else None


def _interventions_v2(module: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "type": item.get("type"),
            "name": item.get("name"),
            "description": markdown_to_text(item.get("description")),
        }
        for item in map(as_dict, as_list(module.get("interventions")))
    ]


def _arm_groups_v2(module: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "label": item.get("label"),
            "type": item.get("type"),
            "description": markdown_to_text(item.get("description")),
        }
        for item in map(as_dict, as_list(module.get("armGroups")))
    ]


def _references_v2(module: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "pmid": normalize_pmid(str(item.get("pmid") or "")),
            "type": item.get("type"),
            "citation": item.get("citation"),
            "retractions": [
                normalize_pmid(str(r.get("pmid") or ""))
                for r in map(as_dict, as_list(item.get("retractions")))
            ],
        }
        for item in map(as_dict, as_list(module.get("references")))
    ]


def _mesh_terms(module: Any) -> list[str]:
    return [
        m["term"] for m in map(as_dict, as_list(as_dict(module).get("meshes"))) if m.get("term")
    ]


def study_to_record(study: Any) -> RecordData:
    """One v2 study object -> RecordData."""
    protocol = as_dict(as_dict(study).get("protocolSection"))
    ident = as_dict(protocol.get("identificationModule"))
    nct = normalize_nct(ident.get("nctId"))
    if not nct:
        raise ParseError(f"study without a valid nctId: {ident.get('nctId')!r}", source=SOURCE)
    status = as_dict(protocol.get("statusModule"))
    design = as_dict(protocol.get("designModule"))
    design_info = as_dict(design.get("designInfo"))
    enrollment = as_dict(design.get("enrollmentInfo"))
    conditions = as_dict(protocol.get("conditionsModule"))
    arms = as_dict(protocol.get("armsInterventionsModule"))
    derived = as_dict(as_dict(study).get("derivedSection"))
    outcomes = as_dict(protocol.get("outcomesModule"))
    first_posted = _date_of(status.get("studyFirstPostDateStruct"))
    condition_mesh = _mesh_terms(derived.get("conditionBrowseModule"))
    intervention_mesh = _mesh_terms(derived.get("interventionBrowseModule"))
    references = _references_v2(as_dict(protocol.get("referencesModule")))
    extra: dict[str, Any] = {
        "official_title": ident.get("officialTitle"),
        "acronym": ident.get("acronym"),
        "overall_status": status.get("overallStatus"),
        "last_known_status": status.get("lastKnownStatus"),
        "why_stopped": status.get("whyStopped"),
        "study_type": design.get("studyType"),
        "phases": strings_of(design.get("phases")),
        "allocation": design_info.get("allocation"),
        "masking": as_dict(design_info.get("maskingInfo")).get("masking"),
        "primary_purpose": design_info.get("primaryPurpose"),
        "conditions": strings_of(conditions.get("conditions")),
        "keywords": strings_of(conditions.get("keywords")),
        "interventions": _interventions_v2(arms),
        "arm_groups": _arm_groups_v2(arms),
        "enrollment": {"count": enrollment.get("count"), "type": enrollment.get("type")},
        "primary_outcomes": [
            o.get("measure") for o in map(as_dict, as_list(outcomes.get("primaryOutcomes")))
        ],
        "start_date": _date_of(status.get("startDateStruct")),
        "primary_completion_date": _date_of(status.get("primaryCompletionDateStruct")),
        "completion_date": _date_of(status.get("completionDateStruct")),
        "last_update_posted": _date_of(status.get("lastUpdatePostDateStruct")),
        "first_posted": first_posted,
        "sponsor": as_dict(
            as_dict(protocol.get("sponsorCollaboratorsModule")).get("leadSponsor")
        ).get("name"),
        "has_results": bool(as_dict(study).get("hasResults", False)),
        "references": references,
        "condition_mesh": condition_mesh,
        "intervention_mesh": intervention_mesh,
    }
    return RecordData(
        source=SOURCE,
        source_id=nct,
        nct_ids=[nct],
        title=title_text(ident.get("briefTitle") or ident.get("officialTitle")),
        abstract=markdown_to_text(as_dict(protocol.get("descriptionModule")).get("briefSummary")),
        published=first_posted,
        mesh_terms=unique([*condition_mesh, *intervention_mesh]),
        url=STUDY_URL.format(nct=nct),
        relations=results_relations(references),
        extra=extra,
    )


def parse_clinicaltrials(
    payload: bytes, context: Mapping[str, Any] | None = None, content_type: str | None = None
) -> ParseResult:
    """The clinicaltrials kind's parser: one stored /studies page (no context needed)."""
    return parse_ctgov_json(payload)
