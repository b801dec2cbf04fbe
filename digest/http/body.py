"""Reading a response body in chunks, under a size cap and a wall-clock deadline."""

from __future__ import annotations

import requests
import urllib3.exceptions

from digest.errors import FetchError, redact
from digest.limits import Deadline


def read_capped(
    raw: requests.Response, url: str, deadline: Deadline, cap: int, source: str | None = None
) -> bytes:
    """The decoded body, read in chunks: at most `cap` bytes, within `deadline`."""
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
                f"data: {short(exc)}",
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


def short(exc: BaseException) -> str:
    text = redact(str(exc))
    return text if len(text) <= 160 else text[:157] + "..."
