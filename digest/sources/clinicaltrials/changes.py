"""What changed in a registration that a clinic cares about, in words."""

from __future__ import annotations

from typing import Any

from digest.sources.changes import Change, changed_fields, generic_change
from digest.sources.clinicaltrials.common import as_dict, as_list, strings_of

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
    before, after = as_dict(old.get("enrollment")), as_dict(new.get("enrollment"))
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
    return "/".join(strings_of(extra.get("phases"))) or "?"


def _names(items: Any) -> list[Any]:
    return sorted(str(as_dict(i).get("name") or as_dict(i).get("label")) for i in as_list(items))


def _new_publications(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    known = {r.get("pmid") for r in map(as_dict, as_list(old.get("references")))}
    added = [r for r in map(as_dict, as_list(new.get("references"))) if r.get("pmid") not in known]
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
    old_extra, new_extra = as_dict(old.get("extra")), as_dict(new.get("extra"))
    changes = [
        *_status_change(old_extra, new_extra),
        *_enrollment_change(old_extra, new_extra),
        *_design_changes(old_extra, new_extra),
        *_new_publications(old_extra, new_extra),
    ]
    if (old.get("title") or "") != (new.get("title") or ""):
        changes.append(f"title now: {new.get('title')}")
    return "; ".join(changes) or None


def describe_registration_change(old: dict[str, Any], new: dict[str, Any]) -> Change | None:
    """A registry update in words (status, enrolment, results posted, ...)."""
    text = describe_ctgov_change(old, new)
    fields = changed_fields(old, new)
    return (text, {"fields": fields, "notable": True}) if text else generic_change(fields)
