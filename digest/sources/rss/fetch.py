"""Any RSS/Atom feed (a journal's table of contents), fetched with conditional GET.

Page context: {"name": the configured source name, "url": the configured feed URL} —
guids are only unique within their own feed, so the parser prefixes them `<name>:`.
"""

from __future__ import annotations

from typing import Any

from digest.sources.base import FetchContext, FetchOutcome, page_from, parse_or_explain
from digest.sources.conditional import conditional_get, rebase, remember
from digest.sources.rss.config import RssSource
from digest.sources.rss.parse import parse_rss


def fetch_rss(ctx: FetchContext, config: RssSource, cursor: dict[str, Any]) -> FetchOutcome:
    outcome = FetchOutcome(cursor=dict(cursor))
    url = rebase(config.url, config.base_url)
    response = conditional_get(ctx, config.name, url, cursor)
    if response is None:
        outcome.not_modified = True
        return outcome
    context = {"name": config.name, "url": config.url}
    # parsed here only to know whether the answer was complete (see `remember`)
    parsed = parse_or_explain(
        config.name,
        response.url,
        parse_rss,
        response.content,
        context,
        response.content_type,
    )
    remember(outcome, url, response, complete=not parsed.warnings)
    outcome.pages.append(page_from(response, context))
    ctx.progress(f"{config.name}: {len(parsed.records)} item(s)")
    return outcome
