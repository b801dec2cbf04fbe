"""ClinicalTrials.gov registrations -> RecordData (API v2 JSON and the retired legacy XML).

A registration is not an article: `pmid` stays unset and `publication_types` empty; the
design is decided by digest.classify. Enumerations are given in API v2 spelling
(`RECRUITING`, `PHASE2`, `SHAM_COMPARATOR`) for both formats, so records of either
format compare; the legacy XML's own wording is kept under extra["legacy"].
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from lxml import etree

from digest.errors import ParseError
from digest.facts import normalize_nct, normalize_pmid
from digest.model import ParseResult, RecordData, Relation
from digest.sources.text import (
    collapse_whitespace,
    drop_markup,
    load_json,
    paragraphs_to_text,
    records_skipping_bad,
)

SOURCE = "clinicaltrials"
STUDY_URL = "https://clinicaltrials.gov/study/{nct}"

# CT.gov v2 "markup" fields are Markdown: punctuation is backslash-escaped (`\>`, `\[`).
_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>&|~=])")


def markdown_to_text(value: str | None) -> str | None:
    """CT.gov Markdown -> plain text: unescape punctuation, keep paragraphs and list lines."""
    if not value:
        return None
    text = _MARKDOWN_ESCAPE.sub(r"\1", value).replace("\r\n", "\n")
    paragraphs = [
        "\n".join(line.strip() for line in block.splitlines() if line.strip())
        for block in re.split(r"\n\s*\n", text)
    ]
    return drop_markup("\n\n".join(p for p in paragraphs if p)) or None


def _title_text(value: Any) -> str:
    return drop_markup(collapse_whitespace(value)) if isinstance(value, str) else ""


# --------------------------------------------------------------------------- API v2 JSON


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


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    return [v for v in _list(value) if isinstance(v, str)]


def _date_of(struct: Any) -> str | None:
    date = _dict(struct).get("date")
    return date if isinstance(date, str) and date else None


def _interventions_v2(module: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "type": item.get("type"),
            "name": item.get("name"),
            "description": markdown_to_text(item.get("description")),
        }
        for item in map(_dict, _list(module.get("interventions")))
    ]


def _arm_groups_v2(module: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "label": item.get("label"),
            "type": item.get("type"),
            "description": markdown_to_text(item.get("description")),
        }
        for item in map(_dict, _list(module.get("armGroups")))
    ]


def _references_v2(module: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "pmid": normalize_pmid(str(item.get("pmid") or "")),
            "type": item.get("type"),
            "citation": item.get("citation"),
            "retractions": [
                normalize_pmid(str(r.get("pmid") or ""))
                for r in map(_dict, _list(item.get("retractions")))
            ],
        }
        for item in map(_dict, _list(module.get("references")))
    ]


def results_relations(references: list[dict[str, Any]]) -> list[Relation]:
    """The results papers a registration cites (RESULT and DERIVED references), typed;
    `target_retracted` when the registry lists a retraction of the paper."""
    return [
        Relation(
            "results-in",
            pmid=ref["pmid"],
            note=str(ref.get("type") or "").upper(),
            target_retracted=bool(ref.get("retractions")),
        )
        for ref in references
        if ref.get("pmid") and str(ref.get("type") or "").upper() in ("RESULT", "DERIVED")
    ]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _mesh_terms(module: Any) -> list[str]:
    return [m["term"] for m in map(_dict, _list(_dict(module).get("meshes"))) if m.get("term")]


def study_to_record(study: Any) -> RecordData:
    """One v2 study object -> RecordData."""
    protocol = _dict(_dict(study).get("protocolSection"))
    ident = _dict(protocol.get("identificationModule"))
    nct = normalize_nct(ident.get("nctId"))
    if not nct:
        raise ParseError(f"study without a valid nctId: {ident.get('nctId')!r}", source=SOURCE)
    status = _dict(protocol.get("statusModule"))
    design = _dict(protocol.get("designModule"))
    design_info = _dict(design.get("designInfo"))
    enrollment = _dict(design.get("enrollmentInfo"))
    conditions = _dict(protocol.get("conditionsModule"))
    arms = _dict(protocol.get("armsInterventionsModule"))
    derived = _dict(_dict(study).get("derivedSection"))
    outcomes = _dict(protocol.get("outcomesModule"))
    first_posted = _date_of(status.get("studyFirstPostDateStruct"))
    condition_mesh = _mesh_terms(derived.get("conditionBrowseModule"))
    intervention_mesh = _mesh_terms(derived.get("interventionBrowseModule"))
    references = _references_v2(_dict(protocol.get("referencesModule")))
    extra: dict[str, Any] = {
        "official_title": ident.get("officialTitle"),
        "acronym": ident.get("acronym"),
        "overall_status": status.get("overallStatus"),
        "last_known_status": status.get("lastKnownStatus"),
        "why_stopped": status.get("whyStopped"),
        "study_type": design.get("studyType"),
        "phases": _strings(design.get("phases")),
        "allocation": design_info.get("allocation"),
        "masking": _dict(design_info.get("maskingInfo")).get("masking"),
        "primary_purpose": design_info.get("primaryPurpose"),
        "conditions": _strings(conditions.get("conditions")),
        "keywords": _strings(conditions.get("keywords")),
        "interventions": _interventions_v2(arms),
        "arm_groups": _arm_groups_v2(arms),
        "enrollment": {"count": enrollment.get("count"), "type": enrollment.get("type")},
        "primary_outcomes": [
            o.get("measure") for o in map(_dict, _list(outcomes.get("primaryOutcomes")))
        ],
        "start_date": _date_of(status.get("startDateStruct")),
        "primary_completion_date": _date_of(status.get("primaryCompletionDateStruct")),
        "completion_date": _date_of(status.get("completionDateStruct")),
        "last_update_posted": _date_of(status.get("lastUpdatePostDateStruct")),
        "first_posted": first_posted,
        "sponsor": _dict(_dict(protocol.get("sponsorCollaboratorsModule")).get("leadSponsor")).get(
            "name"
        ),
        "has_results": bool(_dict(study).get("hasResults", False)),
        "references": references,
        "condition_mesh": condition_mesh,
        "intervention_mesh": intervention_mesh,
    }
    return RecordData(
        source=SOURCE,
        source_id=nct,
        nct_ids=[nct],
        title=_title_text(ident.get("briefTitle") or ident.get("officialTitle")),
        abstract=markdown_to_text(_dict(protocol.get("descriptionModule")).get("briefSummary")),
        published=first_posted,
        mesh_terms=_unique([*condition_mesh, *intervention_mesh]),
        url=STUDY_URL.format(nct=nct),
        relations=results_relations(references),
        extra=extra,
    )


# --------------------------------------------------------------------------- legacy XML

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
        title=_title_text(_text(study, "brief_title") or _text(study, "official_title")),
        abstract=_textblock(study, "brief_summary/textblock"),
        published=first_posted,
        mesh_terms=_unique([*condition_mesh, *intervention_mesh]),
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


# --------------------------------------------------------------------------- changes

_WATCHED_DATES = (
    ("primary_completion_date", "primary completion"),
    ("completion_date", "completion"),
    ("start_date", "start"),
)


def _enrollment_text(enrollment: dict[str, Any]) -> str:
    count = enrollment.get("count")
    kind = enrollment.get("type")
    shown = "?" if count is None else str(count)
    return f"{shown} ({kind.lower()})" if isinstance(kind, str) and kind else shown


def _status_change(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    changes = []
    if old.get("overall_status") != new.get("overall_status"):
        changes.append(f"status {old.get('overall_status')} -> {new.get('overall_status')}")
        if new.get("why_stopped") and new.get("why_stopped") != old.get("why_stopped"):
            changes.append(f"why stopped: {new['why_stopped']}")
    if new.get("has_results") and not old.get("has_results"):
        changes.append("results posted")
    return changes


def _enrollment_change(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    before, after = _dict(old.get("enrollment")), _dict(new.get("enrollment"))
    if before.get("count") == after.get("count"):
        if before.get("type") != after.get("type") and after.get("type") == "ACTUAL":
            return [f"enrollment {_enrollment_text(after)} confirmed"]
        return []
    if before.get("type") == after.get("type"):
        return [f"enrollment {before.get('count')} -> {after.get('count')}"]
    return [f"enrollment {_enrollment_text(before)} -> {_enrollment_text(after)}"]


def _design_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    changes = [
        f"{label} {old.get(key) or '?'} -> {new.get(key) or '?'}"
        for key, label in _WATCHED_DATES
        if old.get(key) != new.get(key)
    ]
    if old.get("phases") != new.get("phases"):
        changes.append(f"phase {_phase_text(old)} -> {_phase_text(new)}")
    arms = ("interventions", "arm_groups")
    if any(_names(old.get(k)) != _names(new.get(k)) for k in arms):
        changes.append("arms or interventions changed")
    return changes


def _phase_text(extra: dict[str, Any]) -> str:
    return "/".join(_strings(extra.get("phases"))) or "?"


def _names(items: Any) -> list[Any]:
    return sorted(str(_dict(i).get("name") or _dict(i).get("label")) for i in _list(items))


def _new_publications(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    known = {r.get("pmid") for r in map(_dict, _list(old.get("references")))}
    added = [r for r in map(_dict, _list(new.get("references"))) if r.get("pmid") not in known]
    return [
        f"new {str(r.get('type') or 'linked').lower()} publication PMID {r['pmid']}"
        for r in added
        if r.get("pmid")
    ]


def describe_ctgov_change(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """What changed in a registration that a clinic cares about, or None.

    `old` and `new` are RecordData.to_json_dict() of the same trial. The last-update date
    alone, wording of descriptions and sponsor housekeeping are not reported.
    """
    old_extra, new_extra = _dict(old.get("extra")), _dict(new.get("extra"))
    changes = [
        *_status_change(old_extra, new_extra),
        *_enrollment_change(old_extra, new_extra),
        *_design_changes(old_extra, new_extra),
        *_new_publications(old_extra, new_extra),
    ]
    if (old.get("title") or "") != (new.get("title") or ""):
        changes.append(f"title now: {new.get('title')}")
    return "; ".join(changes) or None
