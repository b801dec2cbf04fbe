from __future__ import annotations

from digest.sources.base import SourceKind, SourceTraits
from digest.sources.changes import describe_notices
from digest.sources.europepmc.config import EuropePmcSource
from digest.sources.europepmc.fetch import fetch_europepmc
from digest.sources.europepmc.ids import europepmc_identifiers
from digest.sources.europepmc.parse import parse_europepmc

KIND = SourceKind(
    kind="europepmc",
    config=EuropePmcSource,
    fetch=fetch_europepmc,
    parse=parse_europepmc,
    description="Europe PMC REST search (core JSON, preprints included)",
    traits=SourceTraits(
        record_sources=("europepmc",),
        label="Europe PMC",
        precedence=2,  # mirrors PubMed with less detail
        own_identifiers=europepmc_identifiers,
        describe_change=describe_notices,
        demo_api_path="/europepmc/webservices/rest",
    ),
)
