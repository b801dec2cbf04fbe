from __future__ import annotations

from digest.sources.base import SourceKind, SourceTraits
from digest.sources.clinicaltrials.changes import describe_registration_change
from digest.sources.clinicaltrials.config import ClinicalTrialsSource
from digest.sources.clinicaltrials.fetch import fetch_clinicaltrials
from digest.sources.clinicaltrials.ids import registration_identifiers
from digest.sources.clinicaltrials.parse_v2 import parse_clinicaltrials

KIND = SourceKind(
    kind="clinicaltrials",
    config=ClinicalTrialsSource,
    fetch=fetch_clinicaltrials,
    parse=parse_clinicaltrials,
    description="ClinicalTrials.gov API v2 studies (JSON)",
    traits=SourceTraits(
        record_sources=("clinicaltrials",),
        label="ClinicalTrials.gov (trial registry)",
        precedence=4,
        registry=True,
        own_identifiers=registration_identifiers,
        describe_change=describe_registration_change,
        demo_api_path="/api/v2",
    ),
)
