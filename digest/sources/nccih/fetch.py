"""NCCIH: its news feed and the health-topic pages a clinic watches, by conditional GET.

Page contexts: a feed {"feed": its configured URL}; a page {"url", "main_selectors",
"design"} from its config, so a stored page parses to the same record offline.
"""

from __future__ import annotations

from typing import Any

from digest.model import ParseResult
from digest.sources.base import FetchContext, FetchOutcome, page_from, parse_or_explain
from digest.sources.conditional import conditional_get, rebase, remember
from digest.sources.nccih.config import NccihSource
from digest.sources.nccih.parse import parse_nccih

RATE_KEY = "www.nccih.nih.gov"


def fetch_nccih(ctx: FetchContext, config: NccihSource, cursor: dict[str, Any]) -> FetchOutcome:
    outcome = FetchOutcome(cursor=dict(cursor))
    addresses: list[tuple[str, dict[str, Any]]] = [
        (feed_url, {"feed": feed_url}) for feed_url in config.feeds
    ]
    addresses += [
        (page.url, {"url": page.url, "main_selectors": page.main_selectors, "design": page.design})
        for page in config.pages
    ]
    changed = 0
    for address, context in addresses:
        url = rebase(address, config.base_url)
        response = conditional_get(ctx, config.name, url, cursor, rate_key=RATE_KEY)
        if response is None:
            continue
        # parsed here only to know whether the answer was complete (see `remember`)
        parsed = parse_or_explain(
            config.name,
            response.url,
            parse_nccih,
            response.content,
            context,
            response.content_type,
        )
        if "url" in context:
            problem = _truncated_page(response.content, parsed, outcome.cursor, url)
            if problem:  # a cut-off page is a fetch problem, never "N sections removed"
                outcome.warnings.append(
                    f"{url}: {problem}; kept the last good version (not a guidance change)"
                )
                remember(outcome, url, response, complete=False)
                continue
        remember(outcome, url, response, complete=not parsed.warnings)
        outcome.pages.append(page_from(response, context))
        changed += 1
    ctx.progress(f"{config.name}: {changed} of {len(addresses)} address(es) changed")
    outcome.not_modified = changed == 0
    return outcome


# A page whose main text is under this share of its last good version is taken to be
# cut short (a dropped connection, an error page with the site's frame), not edited.
TRUNCATED_SHARE = 0.5


def _truncated_page(
    payload: bytes, parsed: ParseResult, cursor: dict[str, Any], url: str
) -> str | None:
    """Why this NCCIH page looks truncated, or None; remembers good sizes in the cursor."""
    if b"</html>" not in payload[-4096:].lower():
        return "the page has no closing </html> (cut short?)"
    size = sum(len(r.extra.get("snapshot") or "") for r in parsed.records)
    sizes = dict(cursor.get("page_sizes", {}))
    last = int(sizes.get(url) or 0)
    if last and size < last * TRUNCATED_SHARE:
        return f"its main text is {size:,} characters, under half of the last good {last:,}"
    sizes[url] = size
    cursor["page_sizes"] = sizes
    return None
