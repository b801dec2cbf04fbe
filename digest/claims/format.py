"""Flags -> output: a readable report for people, or JSON Lines for tools."""

from __future__ import annotations

import json
from collections.abc import Sequence

from digest.claims.check import ClaimFlag

JSON_KEYS = ("text", "line", "rule", "why", "suggestion", "evidence")


def format_text(flags: Sequence[ClaimFlag]) -> str:
    """`line N: [rule] sentence`, then indented why / suggestion / evidence."""
    if not flags:
        return "No claims flagged.\n"
    out: list[str] = []
    for f in flags:
        out.append(f"line {f.line}: [{f.rule}] {f.text}")
        out.append(f"    why: {f.why}")
        out.append(f"    suggestion: {f.suggestion}")
        if f.evidence:
            out.append(f"    evidence: {', '.join(f.evidence)}")
    n = len(flags)
    out.append(f"\n{n} claim{'s' if n != 1 else ''} flagged.")
    return "\n".join(out) + "\n"


def format_json(flags: Sequence[ClaimFlag]) -> str:
    """One JSON object per flag per line, keys exactly text, line, rule, why, suggestion,
    evidence. No flags: empty string."""
    lines = [json.dumps({k: getattr(f, k) for k in JSON_KEYS}, ensure_ascii=False) for f in flags]
    return "".join(line + "\n" for line in lines)
