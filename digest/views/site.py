"""The static archive: site settings, a condition's running list and the whole site."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

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

    @property
    def base_url(self) -> str:
        return self.site_url if self.site_url.endswith("/") else self.site_url + "/"


@dataclass(frozen=True, slots=True)
class ConditionView:
    """A condition's running evidence list (newest first, as the caller orders it)."""

    slug: str
    label: str
    studies: tuple[StudyView, ...]


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
