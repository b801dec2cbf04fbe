"""Which redirects the client follows: http(s) only, same origin or an allowed host."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from digest.errors import FetchError, redact


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return (
        scheme,
        (parts.hostname or "").lower(),
        parts.port or {"http": 80, "https": 443}.get(scheme),
    )


def redirect_target(
    origin: str, current: str, location: str, source: str | None, allowed: frozenset[str]
) -> str:
    """The URL a redirect leads to, if it may be followed: http(s) only, to the request's
    own origin (or an http -> https upgrade of it) or to a host in `allowed`."""
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
    if not same and host not in allowed:
        raise FetchError(
            f"redirect to another origin refused: {redact(target)} (allow the host with "
            "`allow_redirects_to` in the source's settings)",
            source=source,
            url=redact(current),
        )
    return target
