"""The whole `digest check-claims` job minus I/O: bytes in, (output, exit code) out."""

from __future__ import annotations

from typing import Literal

from digest.claims.check import check_sentences
from digest.claims.evidence import EvidenceIndex
from digest.claims.extract import extract_sentences
from digest.claims.format import format_json, format_text
from digest.claims.policy import load_policy


def run_check_claims(
    content: bytes,
    name: str,
    fmt: Literal["text", "json"],
    policy_name: str,
    evidence: EvidenceIndex,
) -> tuple[str, int]:
    """Check `content` (`name`: a Content-Type, file name or URL, or "-") against the policy.

    Exit code 0: nothing flagged; 1: something flagged. Bad input or an unknown policy
    raises digest.errors.ConfigError (the CLI's exit code 2).
    """
    policy = load_policy(policy_name)
    sentences = extract_sentences(content, name)
    flags = check_sentences(sentences, policy, evidence)
    if fmt == "json":
        return format_json(flags), 1 if flags else 0
    footer = f"Policy: {policy.name}. {policy.disclaimer}\n"
    return format_text(flags) + footer, 1 if flags else 0
