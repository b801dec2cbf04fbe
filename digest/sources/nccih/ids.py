"""An NCCIH page and the news item that announces it share the page's canonical URL."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from digest.model import RecordData


def canonical_page_url(url: str) -> str:
    """scheme + host + path: query strings and fragments never make a page look new."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", "", ""))


def nccih_identifiers(record: RecordData) -> set[tuple[str, str]]:
    return {("page", canonical_page_url(record.url))} if record.url else set()
