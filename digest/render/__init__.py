"""Pure renderers: view model (digest.views) in, text/bytes out. No I/O, no clock.

render_digest_markdown(digest, settings) -> str
render_digest_text(digest, settings, unsubscribe_url=None) -> str
render_digest_email_html(digest, settings, unsubscribe_url) -> str
render_digests_feed(site) -> bytes            /feed.xml
render_condition_feed(site, condition) -> bytes
build_site(site) -> dict[str, bytes]          every file of the web archive
site_pages(site, fragments) -> Iterator[PageSpec]   the same, page by page, rendered lazily
vancouver(study), ama(study) -> str; to_ris/to_bibtex/to_csl_json(studies) -> str
"""

from __future__ import annotations

from digest.render.atom import render_condition_feed, render_digests_feed
from digest.render.citations import ama, to_bibtex, to_csl_json, to_ris, vancouver
from digest.render.email_html import render_digest_email_html
from digest.render.markdown import render_digest_markdown
from digest.render.site import build_site
from digest.render.text import render_digest_text

__all__ = [
    "ama",
    "build_site",
    "render_condition_feed",
    "render_digest_email_html",
    "render_digest_markdown",
    "render_digest_text",
    "render_digests_feed",
    "to_bibtex",
    "to_csl_json",
    "to_ris",
    "vancouver",
]
