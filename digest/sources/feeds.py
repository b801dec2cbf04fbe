"""RSS/Atom feeds (a journal's table of contents, a PubMed "Create RSS" feed) and NCCIH.

Every URL is fetched with conditional GET: the ETag / Last-Modified of the last stored
answer are sent back, and a 304 stores nothing. Cursor: {"validators": {url: {...}}}.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from digest.config import NccihPage, NccihSource, PubmedRssSource, RssSource
from digest.errors import ParseError
from digest.http import NCBI_HOST, Response
from digest.model import ParseResult
from digest.parsers.feeds import parse_feed, parse_pubmed_rss
from digest.parsers.nccih import extract_page, parse_nccih_feed
from digest.parsers.pubmed import parse_efetch
from digest.sources.base import FetchContext, FetchOutcome, page_from
from digest.sources.pubmed import EUTILS_BASE


def rebase(url: str, base_url: str | None) -> str:
    """Point a configured URL at a mirror or the replay server, keeping path and query."""
    if not base_url:
        return url
    base, target = urlsplit(base_url), urlsplit(url)
    path = base.path.rstrip("/") + target.path  # a mirror may live under a path prefix
    return urlunsplit((base.scheme, base.netloc, path, target.query, ""))


def _conditional(
    ctx: FetchContext,
    name: str,
    url: str,
    cursor: dict[str, Any],
    outcome: FetchOutcome,
    rate_key: str | None = None,
) -> Response | None:
    """GET with the stored validators; None when the server says nothing changed."""
    old = dict(cursor.get("validators", {})).get(url, {})
    response = ctx.http.conditional_get(
        url, old.get("etag"), old.get("last_modified"), source=name, rate_key=rate_key
    )
    if response.not_modified:
        ctx.progress(f"{name}: {url} not modified")
        return None
    return response


def _remember(outcome: FetchOutcome, url: str, response: Response, parsed: ParseResult) -> None:
    """Keep the answer's validators, unless it parsed with warnings (e.g. cut short):
    then the next run must download it again instead of being told 304."""
    validators = dict(outcome.cursor.get("validators", {}))
    if parsed.warnings:
        validators.pop(url, None)
    else:
        validators[url] = {
            k: v
            for k, v in (("etag", response.etag), ("last_modified", response.last_modified))
            if v
        }
    outcome.cursor["validators"] = validators


def _parse_or_explain(
    name: str, response: Response, parse: Callable[[bytes], ParseResult]
) -> ParseResult:
    """Parse a body; a ParseError names the source and the URL it came from."""
    try:
        return parse(response.content)
    except ParseError as exc:
        raise ParseError(str(exc), source=name, url=response.url) from exc


def fetch_rss(ctx: FetchContext, config: RssSource, cursor: dict[str, Any]) -> FetchOutcome:
    outcome = FetchOutcome(cursor=dict(cursor))
    url = rebase(config.url, config.base_url)
    response = _conditional(ctx, config.name, url, cursor, outcome)
    if response is None:
        outcome.not_modified = True
        return outcome
    parsed = _parse_or_explain(
        config.name,
        response,
        partial(parse_feed, source="rss", content_type=response.content_type, base_url=config.url),
    )
    _remember(outcome, url, response, parsed)
    for record in parsed.records:
        if record.source == "rss":  # guids are only unique within their own feed
            record.source_id = f"{config.name}:{record.source_id}"
    outcome.pages.append(page_from(response, parsed))
    ctx.progress(f"{config.name}: {len(parsed.records)} item(s)")
    return outcome


def fetch_pubmed_rss(
    ctx: FetchContext, config: PubmedRssSource, cursor: dict[str, Any]
) -> FetchOutcome:
    outcome = FetchOutcome(cursor=dict(cursor))
    url = rebase(config.url, config.base_url)
    response = _conditional(
        ctx, config.name, url, cursor, outcome, rate_key="pubmed.ncbi.nlm.nih.gov"
    )
    if response is None:
        outcome.not_modified = True
        return outcome
    parsed = _parse_or_explain(
        config.name,
        response,
        partial(parse_pubmed_rss, content_type=response.content_type, base_url=config.url),
    )
    _remember(outcome, url, response, parsed)
    outcome.pages.append(page_from(response, parsed))
    pmids = [r.source_id for r in parsed.records if r.source == "pubmed_rss"]
    ctx.progress(f"{config.name}: {len(parsed.records)} item(s), {len(pmids)} with a PMID")
    known = ctx.known_ids("pubmed", pmids)
    new_pmids = [p for p in pmids if p not in known]
    if config.enrich and new_pmids:  # PMIDs already held as full PubMed records are skipped
        _enrich(ctx, config, new_pmids, outcome)
    return outcome


def _enrich(
    ctx: FetchContext, config: PubmedRssSource, pmids: list[str], outcome: FetchOutcome
) -> None:
    """Replace the feed's thin items by full E-utilities records (RSS caps at 100 items)."""
    base = (config.eutils_base_url or EUTILS_BASE).rstrip("/")
    response = ctx.http.get(
        f"{base}/efetch.fcgi",
        params={"db": "pubmed", "retmode": "xml", "id": ",".join(pmids), **ctx.http.ncbi_params()},
        source=config.name,
        rate_key=NCBI_HOST,
    )
    full = _parse_or_explain(config.name, response, parse_efetch)
    enriched = {r.source_id for r in full.records}
    feed_page = outcome.pages[0]
    feed_page.parsed.records = [
        r
        for r in feed_page.parsed.records
        if not (r.source == "pubmed_rss" and r.source_id in enriched)
    ]
    outcome.pages.append(page_from(response, full))


def fetch_nccih(ctx: FetchContext, config: NccihSource, cursor: dict[str, Any]) -> FetchOutcome:
    outcome = FetchOutcome(cursor=dict(cursor))
    changed = 0
    for feed_url in config.feeds:
        url = rebase(feed_url, config.base_url)
        response = _conditional(
            ctx, config.name, url, cursor, outcome, rate_key="www.nccih.nih.gov"
        )
        if response is not None:
            parsed = _parse_or_explain(
                config.name,
                response,
                partial(parse_nccih_feed, content_type=response.content_type, base_url=feed_url),
            )
            _remember(outcome, url, response, parsed)
            outcome.pages.append(page_from(response, parsed))
            changed += 1
    for page in config.pages:
        url = rebase(page.url, config.base_url)
        response = _conditional(
            ctx, config.name, url, cursor, outcome, rate_key="www.nccih.nih.gov"
        )
        if response is not None:
            parsed = _parse_or_explain(
                config.name,
                response,
                partial(_page_result, page=page),
            )
            problem = _truncated_page(response.content, parsed, outcome.cursor, url)
            if problem:  # a cut-off page is a fetch problem, never "N sections removed"
                outcome.warnings.append(
                    f"{url}: {problem}; kept the last good version (not a guidance change)"
                )
                _remember(outcome, url, response, ParseResult(warnings=[problem]))
                continue
            _remember(outcome, url, response, parsed)
            outcome.pages.append(page_from(response, parsed))
            changed += 1
    ctx.progress(
        f"{config.name}: {changed} of {len(config.feeds) + len(config.pages)} address(es) changed"
    )
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


def _page_result(payload: bytes, page: NccihPage) -> ParseResult:
    return ParseResult(records=[extract_page(payload, page.url, page.main_selectors, page.design)])


def parse_rss_payload(payload: bytes, content_type: str | None = None) -> ParseResult:
    return parse_feed(payload, "rss", content_type=content_type)


def parse_pubmed_rss_payload(payload: bytes, content_type: str | None = None) -> ParseResult:
    return parse_pubmed_rss(payload, content_type=content_type)


def parse_nccih_payload(payload: bytes, content_type: str | None = None) -> ParseResult:
    """A saved NCCIH payload: a news feed, or an HTML page (its URL unknown offline)."""
    head = payload[:2048].lower()
    if b"<rss" in head or b"<feed" in head or (b"<?xml" in head and b"<html" not in head):
        return parse_nccih_feed(payload, content_type=content_type)
    page = NccihPage(url="https://www.nccih.nih.gov/local-file")
    return ParseResult(records=[extract_page(payload, page.url, page.main_selectors, page.design)])
