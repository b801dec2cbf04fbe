"""The retired ClinicalTrials.gov <clinical_study> XML (an import format) -> RecordData.

Enumerations are translated to API v2 spelling so records compare with `parse_v2`'s;
the legacy XML's own wording is kept under extra["legacy"].
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from lxml import etree

from digest.errors import ParseError
from digest.facts import normalize_nct, normalize_pmid
from digest.model import ParseResult, RecordData
from digest.sources.clinicaltrials.common import (
    SOURCE,
    STUDY_URL,
    results_relations,
    title_text,
    unique,
)
from digest.sources.text import (
    drop_markup,
    paragraphs_to_text,
)

_LEGACY_STATUS = {"Unknown status": "UNKNOWN"}


_LEGACY_DATE_TYPE = {"Anticipated": "ESTIMATED", "Estimate": "ESTIMATED", "Actual": "ACTUAL"}


def legacy_enum(value: str | None) -> str | None:
    """Legacy wording -> v2 enum: 'Active, not recruiting' -> 'ACTIVE_NOT_RECRUITING'."""
    if not value:
        return None
    if value in _LEGACY_STATUS:
        return _LEGACY_STATUS[value]
    if value.strip().upper() == "N/A":
        return "NA"
    return re.sub(r"[^A-Z0-9]+", "_", value.upper()).strip("_") or None


def legacy_phases(value: str | None) -> list[str]:
    """'Phase 1/Phase 2' -> ['PHASE1', 'PHASE2']; 'N/A' -> ['NA']; 'Early Phase 1' -> early."""
    if not value:
        return []
    if value.strip().upper() == "N/A":
        return ["NA"]
    phases = []
    for part in value.split("/"):
        match = re.fullmatch(r"\s*(Early )?Phase (\d)\s*", part, re.IGNORECASE)
        if match:
            phases.append(("EARLY_" if match.group(1) else "") + f"PHASE{match.group(2)}")
    return phases


def legacy_date(value: str | None) -> str | None:
    """'March 2012' -> '2012-03'; 'April 4, 2012' -> '2012-04-04'; unknown shapes -> as given."""
    if not value:
        return None
    text = " ".join(value.split())
    for fmt, out in (("%B %d, %Y", "%Y-%m-%d"), ("%B %Y", "%Y-%m"), ("%Y-%m-%d", "%Y-%m-%d")):
        try:
            return datetime.strptime(text, fmt).strftime(out)
        except ValueError:
            continue
    return text


def _load_legacy_xml(payload: bytes) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(payload, parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"malformed ClinicalTrials.gov legacy XML: {exc}", source=SOURCE) from exc
    if root.tag == "search_results":
        return root.findall("clinical_study")
    if root.tag != "clinical_study":
        raise ParseError(f"expected <clinical_study>, got <{root.tag}>", source=SOURCE)
    return [root]


def _text(element: Any, path: str) -> str | None:
    found = element.find(path)
    if found is None:
        return None
    text = " ".join("".join(found.itertext()).split())
    return text or None


def _texts(element: Any, path: str) -> list[str]:
    values = (" ".join("".join(e.itertext()).split()) for e in element.findall(path))
    return [v for v in values if v]


def _textblock(element: Any, path: str) -> str | None:
    found = element.find(path)
    if found is None:
        return None
    return drop_markup(paragraphs_to_text("".join(found.itertext()))) or None


def _legacy_interventions(study: Any) -> list[dict[str, Any]]:
    return [
        {
            "type": legacy_enum(_text(item, "intervention_type")),
            "name": _text(item, "intervention_name"),
            "description": _textblock(item, "description"),
        }
        for item in study.findall("intervention")
    ]


def _legacy_arm_groups(study: Any) -> list[dict[str, Any]]:
    return [
        {
            "label": _text(item, "arm_group_label"),
            "type": legacy_enum(_text(item, "arm_group_type")),
            "description": _textblock(item, "description"),
        }
        for item in study.findall("arm_group")
    ]


def _legacy_references(study: Any) -> list[dict[str, Any]]:
    references = []
    for tag, kind in (("results_reference", "RESULT"), ("reference", "BACKGROUND")):
        for item in study.findall(tag):
            references.append(
                {
                    "pmid": normalize_pmid(_text(item, "PMID")),
                    "type": kind,
                    "citation": _text(item, "citation"),
                }
            )
    return references


def _legacy_enrollment(study: Any) -> dict[str, Any]:
    element = study.find("enrollment")
    if element is None or not (element.text or "").strip():
        return {"count": None, "type": None}
    text = element.text.strip()
    return {
        "count": int(text) if text.isdigit() else None,
        "type": _LEGACY_DATE_TYPE.get(element.get("type") or "", legacy_enum(element.get("type"))),
    }


def _legacy_masking(value: str | None) -> str | None:
    # 'Triple (Participant, Investigator, Outcomes Assessor)' -> 'TRIPLE'
    return legacy_enum(value.split("(")[0]) if value else None


def legacy_study_to_record(study: Any) -> RecordData:
    """One <clinical_study> element -> RecordData (same shape as the v2 parser's)."""
    nct = normalize_nct(_text(study, "id_info/nct_id"))
    if not nct:
        raise ParseError("legacy study without a valid <nct_id>", source=SOURCE)
    raw_status = _text(study, "overall_status")
    raw_phase = _text(study, "phase")
    raw_masking = _text(study, "study_design_info/masking")
    first_posted = legacy_date(_text(study, "study_first_posted"))
    last_update = legacy_date(
        _text(study, "last_update_posted") or _text(study, "lastchanged_date")
    )
    has_results = study.find("clinical_results") is not None
    condition_mesh = _texts(study, "condition_browse/mesh_term")
    intervention_mesh = _texts(study, "intervention_browse/mesh_term")
    references = _legacy_references(study)
    extra: dict[str, Any] = {
        "official_title": _text(study, "official_title"),
        "acronym": _text(study, "acronym"),
        "overall_status": legacy_enum(raw_status),
        "last_known_status": legacy_enum(_text(study, "last_known_status")),
        "why_stopped": _text(study, "why_stopped"),
        # 'Observational [Patient Registry]' is OBSERVATIONAL in v2 (registry is a flag there)
        "study_type": legacy_enum((_text(study, "study_type") or "").split("[")[0]),
        "phases": legacy_phases(raw_phase),
        "allocation": legacy_enum(_text(study, "study_design_info/allocation")),
        "masking": _legacy_masking(raw_masking),
        "primary_purpose": legacy_enum(_text(study, "study_design_info/primary_purpose")),
        "conditions": _texts(study, "condition"),
        "keywords": _texts(study, "keyword"),
        "interventions": _legacy_interventions(study),
        "arm_groups": _legacy_arm_groups(study),
        "enrollment": _legacy_enrollment(study),
        "primary_outcomes": _texts(study, "primary_outcome/measure"),
        "start_date": legacy_date(_text(study, "start_date")),
        "primary_completion_date": legacy_date(_text(study, "primary_completion_date")),
        "completion_date": legacy_date(_text(study, "completion_date")),
        "last_update_posted": last_update,
        "first_posted": first_posted,
        "sponsor": _text(study, "sponsors/lead_sponsor/agency"),
        "has_results": has_results,
        "references": references,
        "condition_mesh": condition_mesh,
        "intervention_mesh": intervention_mesh,
        "legacy": {
            "overall_status": raw_status,
            "phase": raw_phase,
            "masking": raw_masking,
            "download_date": _text(study, "required_header/download_date"),
        },
    }
    return RecordData(
        source=SOURCE,
        source_id=nct,
        nct_ids=[nct],
        title=title_text(_text(study, "brief_title") or _text(study, "official_title")),
        abstract=_textblock(study, "brief_summary/textblock"),
        published=first_posted,
        mesh_terms=unique([*condition_mesh, *intervention_mesh]),
        url=STUDY_URL.format(nct=nct),
        relations=results_relations(references),
        extra=extra,
    )


def parse_ctgov_legacy_xml(payload: bytes) -> ParseResult:
    """The retired <clinical_study> XML (one study, or a <search_results> of several)."""
    result = ParseResult()
    for study in _load_legacy_xml(payload):
        result.records.append(legacy_study_to_record(study))
    return result
