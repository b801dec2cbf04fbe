"""Claims checking for clinic blogs and pages (`digest check-claims`) and the per-condition
"What this lets you say" panel. Pure: no network, no database, no file writes.

This is guidance, not legal advice.
"""

from digest.claims.check import ClaimFlag, check_sentences, check_text
from digest.claims.evidence import EvidenceIndex
from digest.claims.extract import Sentence, extract_sentences
from digest.claims.format import format_json, format_text
from digest.claims.policy import (
    POLICY_NAMES,
    ClaimsPolicy,
    PolicyPanel,
    load_policy,
    policy_panel,
)
from digest.claims.run import run_check_claims

__all__ = [
    "POLICY_NAMES",
    "ClaimFlag",
    "ClaimsPolicy",
    "EvidenceIndex",
    "PolicyPanel",
    "Sentence",
    "check_sentences",
    "check_text",
    "extract_sentences",
    "format_json",
    "format_text",
    "load_policy",
    "policy_panel",
    "run_check_claims",
]
