"""The names callers outside `sources/` import; the parsers live in `parse_v2` (API v2
JSON), `parse_legacy` (the retired XML) and `changes` (the change describer)."""

from __future__ import annotations

from digest.sources.clinicaltrials.changes import describe_ctgov_change
from digest.sources.clinicaltrials.common import markdown_to_text, results_relations
from digest.sources.clinicaltrials.parse_legacy import (
    legacy_date,
    legacy_enum,
    legacy_phases,
    parse_ctgov_legacy_xml,
)
from digest.sources.clinicaltrials.parse_v2 import (
    ctgov_page_info,
    parse_clinicaltrials,
    parse_ctgov_json,
    study_to_record,
)

__all__ = [
    "ctgov_page_info",
    "describe_ctgov_change",
    "legacy_date",
    "legacy_enum",
    "legacy_phases",
    "markdown_to_text",
    "parse_clinicaltrials",
    "parse_ctgov_json",
    "parse_ctgov_legacy_xml",
    "results_relations",
    "study_to_record",
]
