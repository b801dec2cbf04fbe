"""The static archive: site settings, a condition's running list and the whole site."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from digest.views.designs import DESIGNS, Design
from digest.views.digest import DigestView
from digest.views.study import StudyView

# --------------------------------------------------------------------------- the site


@dataclass(frozen=True, slots=True)
class SiteSettings:
    title: str
    site_url: str  # absolute, e.g. https://digest.example.org/ (feeds need absolute urls)
    tag_authority: str  # "digest.example.org,2026": minted once, never changed
    recent_weeks_on_home: int = 8
    language: str = "en"
    postal_address: str | None = None  # email.postal_address: one line in the email footer

    @property
    def base_url(self) -> str:
        return self.site_url if self.site_url.endswith("/") else self.site_url + "/"


@dataclass(frozen=True, slots=True)
class ClaimsCitation:
    title: str
    url: str
    date_read: str


@dataclass(frozen=True, slots=True)
class ClaimsPanel:
    """ "What this lets you say" on a condition page, from the configured claims policy
    (digest.claims): guidance on wording, never a claim by the archive."""

    policy_title: str
    status: str  # accepted | not_accepted | no_ruling | no_policy | ...
    accepted: bool | None
    scope: str
    say: tuple[str, ...]
    avoid: tuple[str, ...]
    note: str
    citations: tuple[ClaimsCitation, ...]
    disclaimer: str


@dataclass(frozen=True, slots=True)
class ConditionView:
    """A condition's running evidence list (newest first, as the caller orders it), when the
    archive last searched, how many of its studies are new this week, and the wording panel."""

    slug: str
    label: str
    studies: tuple[StudyView, ...]
    last_searched: date | None = None
    new_this_week: int = 0
    panel: ClaimsPanel | None = None


@dataclass(frozen=True, slots=True)
class SiteView:
    """Everything the static archive shows. `built_at` is the newest digest's, passed in."""

    settings: SiteSettings
    built_at: datetime
    digests: tuple[DigestView, ...] = ()  # newest first
    studies: tuple[StudyView, ...] = ()
    conditions: tuple[ConditionView, ...] = ()
    slug_aliases: Mapping[str, str] = field(default_factory=dict)  # old slug -> current
    designs: tuple[Design, ...] = DESIGNS
