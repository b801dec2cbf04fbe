"""All HTTP goes through here: one session, timeouts, retries, per-host politeness, size cap.

The only module that imports `requests`. Parsers never see a URL, only bytes and headers.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from digest import __version__
from digest.config import HttpSettings
from digest.errors import FetchError, redact

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
NCBI_HOST = "eutils.ncbi.nlm.nih.gov"


@dataclass(frozen=True, slots=True)
class Response:
    """A finished response: the decoded body and the headers that matter downstream."""

    url: str
    status: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


class RateLimiter:
    """Minimum spacing between requests per key (a host or a service), thread-safe."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._next_slot: dict[str, float] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    def wait(self, key: str, per_second: float) -> float:
        """Block until `key` may be used again; returns the seconds waited."""
        interval = 1.0 / per_second
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot.get(key, now))
            self._next_slot[key] = slot + interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
        return max(delay, 0.0)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Http:
    """The project's HTTP client. One instance per process run."""

    def __init__(
        self,
        settings: HttpSettings,
        contact_email: str,
        tool_name: str = "digest",
        ncbi_api_key: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.contact_email = contact_email
        self.tool_name = tool_name
        self.ncbi_api_key = ncbi_api_key
        self._sleep = sleep
        self.limiter = limiter or RateLimiter(sleep=sleep)
        self.session = session or requests.Session()
        self.session.headers.update(
            {
                "User-Agent": f"{tool_name}/{__version__} (+mailto:{contact_email})",
                "Accept-Encoding": "gzip, deflate",
            }
        )
        self.requests_made = 0

    # -- politeness ----------------------------------------------------------------

    def rate_for(self, key: str) -> float:
        configured = self.settings.rate_limits.get(key)
        if key == NCBI_HOST:
            # NCBI allows 3 req/s, 10 with an API key: never more, and a 10 % margin
            ceiling = 10.0 if self.ncbi_api_key else 3.0
            return min(configured or ceiling, ceiling) * 0.9
        return configured or self.settings.default_rate_limit

    def ncbi_params(self) -> dict[str, str]:
        """tool/email (and api_key) that every E-utilities request must carry."""
        params = {"tool": self.tool_name, "email": self.contact_email}
        if self.ncbi_api_key:
            params["api_key"] = self.ncbi_api_key
        return params

    # -- requests ------------------------------------------------------------------

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        source: str | None = None,
        rate_key: str | None = None,
    ) -> Response:
        return self.request(
            "GET", url, params=params, headers=headers, source=source, rate_key=rate_key
        )

    def post(
        self,
        url: str,
        data: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
        *,
        source: str | None = None,
        rate_key: str | None = None,
    ) -> Response:
        return self.request(
            "POST", url, data=data, headers=headers, source=source, rate_key=rate_key
        )

    def conditional_get(
        self,
        url: str,
        etag: str | None,
        last_modified: str | None,
        *,
        source: str | None = None,
        rate_key: str | None = None,
    ) -> Response:
        """GET with If-None-Match / If-Modified-Since; a 304 comes back as not_modified."""
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return self.get(url, headers=headers, source=source, rate_key=rate_key)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        source: str | None = None,
        rate_key: str | None = None,
    ) -> Response:
        key = rate_key or (urlsplit(url).hostname or url)
        attempts = self.settings.max_retries + 1
        last_problem = "no attempt made"
        for attempt in range(attempts):
            self.limiter.wait(key, self.rate_for(key))
            try:
                response = self._send_once(method, url, params, data, headers)
            except requests.Timeout as exc:
                last_problem = f"timed out ({type(exc).__name__})"
                retry_after = None
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                last_problem = f"connection failed or body cut short: {_short(exc)}"
                retry_after = None
            else:
                if response.status not in RETRY_STATUSES:
                    if response.status >= 400:
                        body = response.content[:200].decode("utf-8", "replace").strip()
                        raise FetchError(
                            f"HTTP {response.status}: {' '.join(body.split())[:160]}",
                            source=source,
                            url=redact(response.url),
                        )
                    return response
                last_problem = f"HTTP {response.status}"
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                if retry_after is not None and retry_after > self.settings.retry_after_max:
                    raise FetchError(
                        f"HTTP {response.status}: the server asks to retry after "
                        f"{retry_after:.0f} s; trying again on the next run",
                        source=source,
                        url=redact(url),
                    )
            if attempt + 1 == attempts:
                break
            delay = self._backoff(attempt, retry_after)
            log.warning(
                "%s %s: %s; retry %d/%d in %.1fs",
                source or "http",
                redact(url),
                last_problem,
                attempt + 1,
                attempts - 1,
                delay,
            )
            self._sleep(delay)
        raise FetchError(
            f"gave up after {attempts} attempt(s): {last_problem}", source=source, url=redact(url)
        )

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        exponential = min(float(self.settings.backoff_base * 2**attempt), self.settings.backoff_max)
        return max(exponential, retry_after or 0.0)  # the server's wait is honoured in full

    def _send_once(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        data: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
    ) -> Response:
        self.requests_made += 1
        timeout = (self.settings.connect_timeout, self.settings.read_timeout)
        with self.session.request(
            method,
            url,
            params=params,
            data=data,
            headers=dict(headers or {}),
            timeout=timeout,
            stream=True,
            allow_redirects=True,
        ) as raw:
            body = self._read_capped(raw, url)
            return Response(
                url=raw.url,
                status=raw.status_code,
                content=body,
                headers={k.lower(): v for k, v in raw.headers.items()},
            )

    def _read_capped(self, raw: requests.Response, url: str) -> bytes:
        cap = self.settings.max_response_bytes
        chunks: list[bytes] = []
        size = 0
        # iter_content decodes gzip, so the cap also bounds a decompression bomb
        for chunk in raw.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > cap:
                raise FetchError(f"response larger than the {cap:,}-byte cap", url=redact(url))
            chunks.append(chunk)
        return b"".join(chunks)


def _short(exc: BaseException) -> str:
    text = redact(str(exc))
    return text if len(text) <= 160 else text[:157] + "..."
