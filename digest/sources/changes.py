"""Pure, generic: what changed between two versions of one record, in a line a person reads.

Kinds with more to say declare their own describer (`SourceTraits.describe_change`:
`clinicaltrials.changes`, `nccih.changes`) and fall back on these helpers.
"""

from __future__ import annotations

from typing import Any

from digest import facts
from digest.model import RecordData

Change = tuple[str, dict[str, Any]]


def describe_notices(old: dict[str, Any], new: dict[str, Any]) -> Change | None:
    """An article that newly says it is retracted, corrected or of concern; else the
    changed fields."""
    fields = changed_fields(old, new)
    notices = _new_notices(old, new)
    if notices:
        return "; ".join(notices), {"fields": fields, "notices": notices, "notable": True}
    return generic_change(fields)


def generic_change(fields: list[str]) -> Change | None:
    if not fields:
        return None
    return f"updated: {', '.join(fields)}", {"fields": fields, "notable": False}


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    keys = sorted(set(old) | set(new))
    changed = [k for k in keys if k != "extra" and old.get(k) != new.get(k)]
    old_extra, new_extra = old.get("extra") or {}, new.get("extra") or {}
    changed += [
        f"extra.{k}"
        for k in sorted(set(old_extra) | set(new_extra))
        if old_extra.get(k) != new_extra.get(k)
    ]
    return changed


def _new_notices(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What a record newly says about itself: retracted, an erratum, a concern."""
    before, after = RecordData.from_json_dict(old), RecordData.from_json_dict(new)
    checks = (
        ("retracted", facts.is_retracted),
        ("erratum published", facts.has_erratum),
        ("expression of concern", facts.has_concern),
    )
    return [label for label, said in checks if said(after) and not said(before)]
