"""The project's HTTP client, `Http`: one session, retries with backoff, deadlines, redirects."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from digest import __version__
from digest.errors import FetchError, redact, register_secret
from digest.http.body import read_capped, short
from digest.http.politeness import RateLimiter, parse_retry_after
from digest.http.redirects import redirect_target
from digest.http.response import Response
from digest.http.settings import NCBI_HOST, HttpSettings
from digest.limits import Deadline

log = logging.getLogger("digest.http")  # the name these records always had


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


@dataclass(slots=True)
class _SourceRun:
    """The source a run of requests belongs to: its deadline and allowed redirect hosts."""

    name: str
    deadline: Deadline
    redirect_hosts: frozenset[str]


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
        accept: Collection[int] = (),
    ) -> Response:
        return self.request(
            "GET",
            url,
            params=params,
            headers=headers,
            source=source,
            rate_key=rate_key,
            accept=accept,
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
        accept: Collection[int] = (),
    ) -> Response:
        """`accept`: error statuses that are an answer, not a failure (a 404 that means
        "no such work"): returned like a 200 instead of raising."""
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
                last_problem = f"connection failed or body cut short: {short(exc)}"
                retry_after = None
            except requests.RequestException as exc:  # bad URL or scheme, undecodable body
                raise FetchError(
                    f"request failed: {type(exc).__name__}: {short(exc)}",
                    source=source,
                    url=redact(url),
                ) from exc
            else:
                if response.status not in RETRY_STATUSES:
                    if response.status >= 400 and response.status not in accept:
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
                    cap = self.settings.max_response_bytes
                    body = read_capped(raw, current, deadline, cap, source)
                    return Response(
                        url=raw.url,
                        status=raw.status_code,
                        content=body,
                        headers={k.lower(): v for k, v in raw.headers.items()},
                    )
                if hop == self.settings.max_redirects:
                    break
                allowed = self._run.redirect_hosts if self._run is not None else frozenset()
                target = redirect_target(url, raw.url, location, source, allowed)
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
