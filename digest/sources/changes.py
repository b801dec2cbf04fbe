"""Pure, generic: what changed between two versions of one record, in a line a person reads.

Kinds with more to say declare their own describer (`SourceTraits.describe_change`:
`clinicaltrials.changes`, `nccih.changes`) and fall back on these helpers.
"""

from __future__ import annotations

from collections.abc import Callable
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


# what a record newly says about itself -> (words in the change line, notice kind)
_SELF_NOTICES: tuple[tuple[str, facts.NoticeKind, Callable[[RecordData], bool]], ...] = (
    ("retracted", "retraction", facts.is_retracted),
    ("erratum published", "erratum", facts.has_erratum),
    ("expression of concern", "expression-of-concern", facts.has_concern),
)
NOTICE_KIND_OF_LABEL: dict[str, facts.NoticeKind] = {w: k for w, k, _ in _SELF_NOTICES}


def _new_notices(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What a record newly says about itself: retracted, an erratum, a concern."""
    before, after = RecordData.from_json_dict(old), RecordData.from_json_dict(new)
    return [words for words, _, said in _SELF_NOTICES if said(after) and not said(before)]
