"""Conditional GET for kinds that poll fixed addresses (RSS/Atom feeds, NCCIH pages).

The ETag / Last-Modified of the last stored answer are sent back, and a 304 stores
nothing. Cursor: {"validators": {url: {"etag": ..., "last_modified": ...}}}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from digest.sources.base import FetchContext, FetchOutcome

if TYPE_CHECKING:
    from digest.http.response import Response


def rebase(url: str, base_url: str | None) -> str:
    """Point a configured URL at a mirror or the replay server, keeping path and query."""
    if not base_url:
        return url
    base, target = urlsplit(base_url), urlsplit(url)
    path = base.path.rstrip("/") + target.path  # a mirror may live under a path prefix
    return urlunsplit((base.scheme, base.netloc, path, target.query, ""))


def conditional_get(
    ctx: FetchContext,
    name: str,
    url: str,
    cursor: dict[str, Any],
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


def remember(outcome: FetchOutcome, url: str, response: Response, complete: bool) -> None:
    """Keep the answer's validators, unless it parsed with warnings (`complete` false, e.g.
    cut short): then the next run must download it again instead of being told 304."""
    validators = dict(outcome.cursor.get("validators", {}))
    if not complete:
        validators.pop(url, None)
    else:
        validators[url] = {
            k: v
            for k, v in (("etag", response.etag), ("last_modified", response.last_modified))
            if v
        }
    outcome.cursor["validators"] = validators
