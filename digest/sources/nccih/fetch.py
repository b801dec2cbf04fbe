"""NCCIH: its news feed and the health-topic pages a clinic watches, by conditional GET.

Page contexts: a feed {"feed": its configured URL}; a page {"url", "main_selectors",
"design"} from its config, so a stored page parses to the same record offline.
"""

from __future__ import annotations

from typing import Any

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
        remember(outcome, url, response, complete=not parsed.warnings)
        outcome.pages.append(page_from(response, context))
        changed += 1
    ctx.progress(f"{config.name}: {changed} of {len(addresses)} address(es) changed")
    outcome.not_modified = changed == 0
    return outcome
