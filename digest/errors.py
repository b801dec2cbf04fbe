"""One error tree. The CLI is the only place that turns these into messages and exit codes."""

from __future__ import annotations

import re

# Query parameters whose values are secrets (NCBI's api_key; tokens and passwords just in
# case a URL carries one). Anything that may reach a log, the run log or a page is redacted.
_SECRET_QUERY = re.compile(r"(?i)\b(api_key|apikey|token|password|passwd|secret)=([^&\s'\"<>]+)")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+):([^@\s/]+)@")


def redact(text: str) -> str:
    """The text with secret query values and URL passwords replaced by ***."""
    return _URL_PASSWORD.sub(r"\1:***@", _SECRET_QUERY.sub(r"\1=***", text))


class DigestError(Exception):
    """Base of every error digest raises on purpose."""


class ConfigError(DigestError):
    """sources.yaml or the environment is wrong; `key` names what."""

    def __init__(self, message: str, key: str | None = None) -> None:
        self.key = key
        super().__init__(f"{key}: {message}" if key else message)


class FetchError(DigestError):
    """A source could not be fetched (network, HTTP status, size cap, error body)."""

    def __init__(self, message: str, source: str | None = None, url: str | None = None) -> None:
        self.source = source
        self.url = url
        where = " ".join(part for part in (source and f"[{source}]", url) if part)
        super().__init__(redact(f"{where}: {message}" if where else message))


class ParseError(DigestError):
    """A payload is malformed or is not what its source kind should send."""

    def __init__(self, message: str, source: str | None = None, url: str | None = None) -> None:
        self.source = source
        self.url = url
        where = " ".join(part for part in (source and f"[{source}]", url) if part)
        super().__init__(redact(f"{where}: {message}" if where else message))


class StoreError(DigestError):
    """The database refused something (migration missing, lock held, ...)."""
