from __future__ import annotations

from digest.sources.base import SourceKind, SourceTraits
from digest.sources.nccih.changes import describe_page_change
from digest.sources.nccih.config import NccihSource
from digest.sources.nccih.fetch import fetch_nccih
from digest.sources.nccih.ids import nccih_identifiers
from digest.sources.nccih.parse import parse_nccih

KIND = SourceKind(
    kind="nccih",
    config=NccihSource,
    fetch=fetch_nccih,
    parse=parse_nccih,
    description="NCCIH news feed and health-topic page watcher",
    traits=SourceTraits(
        record_sources=("nccih", "nccih-news"),
        label="NCCIH (US National Center for Complementary and Integrative Health)",
        precedence=3,
        own_identifiers=nccih_identifiers,
        describe_change=describe_page_change,
        page_design=True,
    ),
)
