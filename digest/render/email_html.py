"""The HTML email: one column, no tables, CSS inlined, readable at 360 px, dark-mode safe."""

from __future__ import annotations

import functools

import css_inline

from digest.render.environment import html_env
from digest.render.urls import Urls
from digest.views import DigestView, SiteSettings


@functools.cache
def _inliner() -> css_inline.CSSInliner:
    # keep_at_rules: the dark-mode media query cannot be inlined and must stay in <style>
    return css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def render_digest_email_html(
    digest: DigestView, settings: SiteSettings, unsubscribe_url: str
) -> str:
    """The digest as an email HTML document with inline styles; links are absolute."""
    template = html_env().get_template("email/digest.html")
    html = template.render(
        d=digest,
        u=Urls(settings.base_url),
        site=settings,
        studies=digest.studies(),
        unsubscribe_url=unsubscribe_url,
    )
    inlined: str = _inliner().inline(html)
    return inlined
