"""The Markdown digest: grouped by condition, each finding quoted verbatim."""

from __future__ import annotations

import re

from digest.render.environment import text_env
from digest.render.urls import Urls
from digest.views import DigestView, SiteSettings

_BLANK_RUNS = re.compile(r"\n{3,}")


def tidy_blank_lines(text: str) -> str:
    """At most one blank line in a row, one newline at the end (template whitespace)."""
    return _BLANK_RUNS.sub("\n\n", text).strip() + "\n"


def render_digest_markdown(digest: DigestView, settings: SiteSettings) -> str:
    """The digest as Markdown; links are absolute (site_url) so the file stands alone."""
    template = text_env().get_template("text/digest.md.j2")
    text = template.render(
        d=digest,
        u=Urls(settings.base_url),
        site=settings,
        studies=digest.studies(),
        unsubscribe_url=None,
    )
    return tidy_blank_lines(text)
