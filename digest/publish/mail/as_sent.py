"""The "as sent" page of an issue: the generic subscriber's email HTML, byte for byte as
mailed, with only the personal unsubscribe link swapped for a note that says so.

Made once, at the first send, and stored (digest.desk.sent); the site writes the stored
bytes, so a later template change or rebuild never alters what the page shows.
"""

from __future__ import annotations

import html
from datetime import datetime

from digest.publish.mail.compose import UNSUBSCRIBE_PLACEHOLDER, PreparedDigest

_BANNER = (
    '<div id="as-sent" style="margin:0;padding:10px 12px;background-color:#eef1f4;'
    'color:#1b1f23;border-bottom:2px solid #4a5560;font-family:sans-serif;font-size:14px;">'
    '<p style="margin:0;"><strong>As sent.</strong> This is the {label} issue exactly as it '
    "was emailed on {day} (the copy of a subscriber who chose every condition and design). "
    "It is kept as sent and never changed. Each subscriber's copy had their own one-click "
    "unsubscribe link where this one points here.</p>"
    '<p style="margin:4px 0 0;"><a href="{home}">The archive</a></p></div>'
)


def as_sent_page(prepared: PreparedDigest, sent_at: datetime, home: str) -> str:
    """The page (text of an HTML document) from the generic copy's rendered email."""
    banner = _BANNER.format(
        label=html.escape(prepared.digest.week_label),
        day=f"{sent_at:%d %b %Y}",
        home=html.escape(home),
    )
    page = prepared.html.replace(UNSUBSCRIBE_PLACEHOLDER, "#as-sent")
    head, marker, rest = page.partition("<body")
    if not marker:
        return banner + page
    tag_end = rest.index(">") + 1
    return head + marker + rest[:tag_end] + "\n" + banner + rest[tag_end:]
