"""The view model: plain, frozen data that every renderer reads and nothing else.

The lead builds these from the database (or reloads a stored digest with
`digest_from_json`); renderers in `digest.render` turn them into Markdown, text, email
HTML, Atom and site pages without touching a database, a clock or a file.

Everything here that came from outside (titles, abstracts, journals, findings, source
urls, error messages) is untrusted plain text; renderers escape it and check urls.
Sequences are tuples so a view cannot change under a renderer.

The view classes live in submodules by job (`designs` the vocabulary, `study`, `digest`
and `site` the views, `codec` the JSON form); they are re-exported here because nearly
every renderer and test reads several of them.
"""

from __future__ import annotations

from digest.views.codec import digest_from_json, digest_to_json
from digest.views.designs import DESIGN_BY_SLUG, DESIGNS, Design, design_of
from digest.views.digest import (
    ChangeView,
    ConditionSection,
    CorrectionView,
    DigestView,
    publication_timing,
)
from digest.views.site import ClaimsCitation, ClaimsPanel, ConditionView, SiteSettings, SiteView
from digest.views.study import (
    Arm,
    Link,
    NoticeRef,
    RegistrationView,
    RelatedRef,
    ResultsPaper,
    SourceHealth,
    SourceRef,
    StaffTake,
    StudyView,
    Tag,
)

__all__ = [
    "DESIGNS",
    "DESIGN_BY_SLUG",
    "Arm",
    "ChangeView",
    "ClaimsCitation",
    "ClaimsPanel",
    "ConditionSection",
    "ConditionView",
    "CorrectionView",
    "Design",
    "DigestView",
    "Link",
    "NoticeRef",
    "RegistrationView",
    "RelatedRef",
    "ResultsPaper",
    "SiteSettings",
    "SiteView",
    "SourceHealth",
    "SourceRef",
    "StaffTake",
    "StudyView",
    "Tag",
    "design_of",
    "digest_from_json",
    "digest_to_json",
    "publication_timing",
]
