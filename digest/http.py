"""All HTTP goes through here: one session, timeouts, retries, per-host politeness, size cap.

The only module that imports `requests`. Parsers never see a URL, only bytes and headers.
"""

from __future__ import annotations

import email.utils
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from pydantic import BaseModel, ConfigDict, Field

from digest import __version__
from digest.errors import FetchError, redact, register_secret
from digest.limits import Deadline

log = logging.getLogger(__name__)

_PLACEHOLDER_DOMAINS = ("example.org", "example.com", "example.net")


def _offline_cause(exc: BaseException) -> str | None:
    """'the name does not resolve' / 'the network is unreachable' when the machine is
    offline or its DNS or proxy is wrong (no retry can help); None for other failures."""
    seen: BaseException | None = exc
    text = ""
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return "the name does not resolve (DNS)"
        text += f" {type(seen).__name__} {seen}"
        seen = seen.__cause__ or seen.__context__
    lowered = text.lower()
    if (
        "nameresolutionerror" in lowered
        or "name or service not known" in lowered
        or ("temporary failure in name resolution" in lowered)
    ):
        return "the name does not resolve (DNS)"
    if "network is unreachable" in lowered:
        return "the network is unreachable"
    return None


def is_placeholder_address(address: str) -> bool:
    """An address at a reserved example domain (RFC 2606): nobody reads it."""
    return address.rsplit("@", 1)[-1].lower().endswith(_PLACEHOLDER_DOMAINS)


RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
NCBI_HOST = "eutils.ncbi.nlm.nih.gov"


class HttpSettings(BaseModel):
    """The `http:` block of sources.yaml: timeouts, retries, politeness, budgets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=5, ge=0, le=10)
    backoff_base: float = Field(default=1.0, ge=0)
    backoff_max: float = Field(default=60.0, ge=0)
    # a Retry-After longer than this ends the source's run (it is retried next time)
    retry_after_max: float = Field(default=300.0, ge=0)
    max_response_bytes: int = Field(default=100_000_000, ge=1024)
    # requests per second per host; E-utilities is also capped at NCBI's own limit
    # (3, or 10 with NCBI_API_KEY), with a 10 % margin
    rate_limits: dict[str, float] = {
        "pubmed.ncbi.nlm.nih.gov": 1.0,
        "clinicaltrials.gov": 0.7,
        "www.ebi.ac.uk": 5.0,
        "www.nccih.nih.gov": 1.0,
    }
    default_rate_limit: float = Field(default=2.0, gt=0)
    # wall-clock budgets: one request (all of its body), one source's whole run
    request_deadline: float = Field(default=300.0, gt=0)
    source_deadline: float = Field(default=1800.0, gt=0)
    max_redirects: int = Field(default=5, ge=0, le=20)


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
    if value.isascii() and value.isdigit():  # str.isdigit() is also true for "²"
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(slots=True)
class _SourceRun:
    """The source a run of requests belongs to: its deadline and allowed redirect hosts."""

    name: str
    deadline: Deadline
    redirect_hosts: frozenset[str]


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return (
        scheme,
        (parts.hostname or "").lower(),
        parts.port or {"http": 80, "https": 443}.get(scheme),
    )


class Http:
    """The project's HTTP client. One instance per process run.

    Redirects are followed by hand: at most `max_redirects`, each one logged, only to the
    request's own origin (or an http -> https upgrade of it) or to a host the source
    allows (`allow_redirects_to`), never to another scheme (file:, ftp:, ...). Every
    request has a wall-clock budget for its whole body (`request_deadline`), and inside
    `source_run` all of a source's requests and retry waits share one (`source_deadline`).
    """

    def __init__(
        self,
        settings: HttpSettings,
        contact_email: str,
        tool_name: str = "digest",
        ncbi_api_key: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
        limiter: RateLimiter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.contact_email = contact_email
        self._warned_placeholder = False
        self.tool_name = tool_name
        self.ncbi_api_key = ncbi_api_key
        register_secret(ncbi_api_key)  # redacted by value wherever it shows up
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
        self._clock = clock
        self._run: _SourceRun | None = None

    @contextmanager
    def source_run(self, name: str, *, redirect_hosts: Iterable[str] = ()) -> Iterator[None]:
        """All requests inside belong to source `name`: one deadline, its redirect hosts."""
        previous = self._run
        self._run = _SourceRun(
            name=name,
            deadline=Deadline(
                self.settings.source_deadline, f"[{name}] the source run", self._clock
            ),
            redirect_hosts=frozenset(h.lower() for h in redirect_hosts),
        )
        try:
            yield
        finally:
            self._run = previous

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
        if is_placeholder_address(self.contact_email) and not self._warned_placeholder:
            # NCBI contacts this address before blocking a tool that misbehaves
            log.warning(
                "contact_email is the placeholder %s: NCBI is told to write there; set "
                "contact_email in sources.yaml to an address the clinic reads",
                self.contact_email,
            )
            self._warned_placeholder = True
        params = {"tool": self.tool_name, "email": self.contact_email}
        if self.ncbi_api_key:
            register_secret(self.ncbi_api_key)
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
            self._check_run_deadline(source, url)
            self.limiter.wait(key, self.rate_for(key))
            try:
                response = self._send_once(method, url, params, data, headers, source)
            except requests.Timeout as exc:
                last_problem = f"timed out ({type(exc).__name__})"
                retry_after = None
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                offline = _offline_cause(exc)
                if offline:  # retrying cannot help: fail at once, with the cause named
                    host = urlsplit(url).hostname or url
                    raise FetchError(
                        f"cannot reach {host}: {offline}; check the network or proxy",
                        source=source,
                        url=redact(url),
                    ) from exc
                last_problem = f"connection failed or body cut short: {_short(exc)}"
                retry_after = None
            except requests.RequestException as exc:  # bad URL or scheme, undecodable body
                raise FetchError(
                    f"request failed: {type(exc).__name__}: {_short(exc)}",
                    source=source,
                    url=redact(url),
                ) from exc
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
            run = self._run
            if run is not None and delay >= run.deadline.remaining():
                raise FetchError(
                    f"{last_problem}; waiting {delay:.0f} s more would exceed the source run's "
                    f"{run.deadline.seconds:g} s budget; trying again on the next run",
                    source=source,
                    url=redact(url),
                )
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

    def _check_run_deadline(self, source: str | None, url: str) -> None:
        run = self._run
        if run is not None and run.deadline.expired:
            raise FetchError(run.deadline.describe(), source=source, url=redact(url))

    def _request_deadline(self) -> Deadline:
        """This request's budget: its own, or what is left of the source run's if less."""
        own = Deadline(self.settings.request_deadline, "the request", self._clock)
        run = self._run
        if run is not None and run.deadline.remaining() < own.remaining():
            return run.deadline
        return own

    def _redirect_target(self, origin: str, current: str, location: str, source: str | None) -> str:
        target = urljoin(current, location.strip())
        scheme, host, port = _origin(target)
        if scheme not in ("http", "https"):
            raise FetchError(
                f"redirect to a {scheme or 'scheme-less'}: URL refused ({redact(target)})",
                source=source,
                url=redact(current),
            )
        first = _origin(origin)
        same = (scheme, host, port) == first or (
            host == first[1] and first[0] == "http" and scheme == "https"  # upgrade only
        )
        allowed = self._run.redirect_hosts if self._run is not None else frozenset()
        if not same and host not in allowed:
            raise FetchError(
                f"redirect to another origin refused: {redact(target)} (allow the host with "
                "`allow_redirects_to` in the source's settings)",
                source=source,
                url=redact(current),
            )
        return target

    def _send_once(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        data: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        source: str | None = None,
    ) -> Response:
        deadline = self._request_deadline()
        current = url
        for hop in range(self.settings.max_redirects + 1):
            if deadline.expired:
                raise FetchError(deadline.describe(), source=source, url=redact(current))
            self.requests_made += 1
            read_timeout = max(0.01, min(self.settings.read_timeout, deadline.remaining()))
            with self.session.request(
                method,
                current,
                params=params,
                data=data,
                headers=dict(headers or {}),
                timeout=(self.settings.connect_timeout, read_timeout),
                stream=True,
                allow_redirects=False,
            ) as raw:
                location = raw.headers.get("location") if raw.is_redirect else None
                if location is None:
                    body = self._read_capped(raw, current, deadline, source)
                    return Response(
                        url=raw.url,
                        status=raw.status_code,
                        content=body,
                        headers={k.lower(): v for k, v in raw.headers.items()},
                    )
                if hop == self.settings.max_redirects:
                    break
                target = self._redirect_target(url, raw.url, location, source)
                log.info(
                    "%s: redirect %d %s -> %s",
                    source or "http",
                    raw.status_code,
                    redact(raw.url),
                    redact(target),
                    extra={"source": source, "status": raw.status_code},
                )
                if raw.status_code == 303 or (raw.status_code in (301, 302) and method == "POST"):
                    method, data = "GET", None
                current, params = target, None  # the Location is the whole new URL
        raise FetchError(
            f"more than {self.settings.max_redirects} redirects", source=source, url=redact(url)
        )

    def _read_capped(
        self, raw: requests.Response, url: str, deadline: Deadline, source: str | None = None
    ) -> bytes:
        cap = self.settings.max_response_bytes
        chunks: list[bytes] = []
        size = 0
        # read1 returns what has arrived (one recv), so the clock is checked between chunks
        # even when a server trickles a byte at a time; it decodes gzip, so the cap also
        # bounds a decompression bomb
        while True:
            if deadline.expired:
                raise FetchError(
                    f"{deadline.describe()} ({size:,} bytes received)",
                    source=source,
                    url=redact(url),
                )
            try:
                chunk = raw.raw.read1(65536, decode_content=True)
            except urllib3.exceptions.ReadTimeoutError as exc:
                raise requests.exceptions.ReadTimeout(exc) from exc
            except urllib3.exceptions.DecodeError as exc:
                raise FetchError(
                    f"the body is not valid {raw.headers.get('content-encoding', 'encoded')} "
                    f"data: {_short(exc)}",
                    source=source,
                    url=redact(url),
                ) from exc
            except (urllib3.exceptions.ProtocolError, urllib3.exceptions.SSLError) as exc:
                raise requests.exceptions.ChunkedEncodingError(exc) from exc
            if not chunk:
                break
            size += len(chunk)
            if size > cap:
                raise FetchError(
                    f"response larger than the {cap:,}-byte cap", source=source, url=redact(url)
                )
            chunks.append(chunk)
        return b"".join(chunks)


def _short(exc: BaseException) -> str:
    text = redact(str(exc))
    return text if len(text) <= 160 else text[:157] + "..."
