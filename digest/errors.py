"""One error tree. The CLI is the only place that turns these into messages and exit codes."""

from __future__ import annotations

import html
import json
import re
import threading
from urllib.parse import quote, quote_plus

# Query parameters whose values are secrets (NCBI's api_key; tokens and passwords just in
# case a URL carries one). Anything that may reach a log, the run log or a page is redacted.
_SECRET_QUERY = re.compile(r"(?i)\b(api_key|apikey|token|password|passwd|secret)=([^&\s'\"<>]+)")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+):([^@\s/]+)@")


# Secret values this process knows (NCBI key, SMTP password, unsubscribe secret): redacted
# wherever they appear, whatever the spelling around them ("api-key": "...", a JSON field,
# a URL-encoded query), in their raw, URL-encoded and JSON-escaped forms.
_SECRET_VALUES: set[str] = set()
_SECRET_GUARD = threading.Lock()
_secret_pattern: re.Pattern[str] | None = None
MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words


def register_secret(value: str | bytes | None) -> None:
    """Make `redact` replace this value (and its encoded forms) wherever it appears."""
    global _secret_pattern
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    forms |= {json.dumps(value, ensure_ascii=False)[1:-1], html.escape(value)}
    with _SECRET_GUARD:
        if forms <= _SECRET_VALUES:
            return
        _SECRET_VALUES.update(forms)
        ordered = sorted(_SECRET_VALUES, key=len, reverse=True)  # longest form first
        _secret_pattern = re.compile("|".join(re.escape(f) for f in ordered))


def forget_secrets() -> None:
    """Unregister every secret value (tests)."""
    global _secret_pattern
    with _SECRET_GUARD:
        _SECRET_VALUES.clear()
        _secret_pattern = None


def redact(text: str) -> str:
    """The text with registered secret values, secret query values and URL passwords
    replaced by ***."""
    pattern = _secret_pattern
    if pattern is not None:
        text = pattern.sub("***", text)
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
