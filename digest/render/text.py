"""The plain-text digest: the email's text part, lines folded at 72 columns."""

from __future__ import annotations

from digest.render.environment import text_env
from digest.render.markdown import tidy_blank_lines
from digest.render.urls import Urls
from digest.views import DigestView, SiteSettings


def render_digest_text(
    digest: DigestView, settings: SiteSettings, unsubscribe_url: str | None = None
) -> str:
    """The digest as plain text, with an unsubscribe line when one is given."""
    template = text_env().get_template("text/digest.txt.j2")
    text = template.render(
        d=digest,
        u=Urls(settings.base_url),
        site=settings,
        studies=digest.studies(),
        unsubscribe_url=unsubscribe_url,
    )
    return tidy_blank_lines(text)
