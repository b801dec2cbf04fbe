"""Identifiers a Europe PMC record's own id carries: MED:<pmid>, PMC:<pmcid>, PPR:<ppr>."""

from __future__ import annotations

import re

from digest.facts import normalize_pmcid, normalize_pmid, normalize_ppr
from digest.model import RecordData

_EPMC_ID = re.compile(r"^(?P<src>[A-Z]{3})[:/](?P<id>.+)$")


def europepmc_identifiers(record: RecordData) -> set[tuple[str, str]]:
    raw = record.source_id.strip()
    match = _EPMC_ID.match(raw.upper())
    src = (match.group("src") if match else str(record.extra.get("epmc_source") or "")).upper()
    value = match.group("id") if match else raw
    if src == "MED" or (not src and value.isdigit()):
        pmid = normalize_pmid(value)
        return {("pmid", pmid)} if pmid else set()
    if src == "PMC" or value.upper().startswith("PMC"):
        pmcid = normalize_pmcid(value)
        return {("pmcid", pmcid)} if pmcid else set()
    if src == "PPR" or normalize_ppr(value):
        return {("ppr", value.upper())}
    return {("epmc", f"{src}:{value}")} if src else set()
