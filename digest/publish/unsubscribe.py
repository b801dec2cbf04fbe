"""One-click unsubscribe (RFC 8058) as a tiny WSGI app for `digest serve`.

- POST <path>?token=T: unsubscribes at once and answers 200 with a short page. No
  cookies, no login, no redirect (RFC 8058 §3.2); the body (`List-Unsubscribe=One-Click`)
  is read but not required. A token may also come in the form body as `token`.
- GET/HEAD <path>?token=T: a page with a button that POSTs; never unsubscribes by itself
  (mail scanners follow links).
- A forged or malformed token: 400, and the database is not touched.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from sqlalchemy.engine import Engine

from digest.publish.mail.settings import MailSettings
from digest.publish.tokens import verify_unsubscribe_token
from digest.store.deliveries import DeliveryLedger

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
MAX_BODY = 8192
_SECURITY_HEADERS = [
    ("Cache-Control", "no-store"),
    ("Referrer-Policy", "no-referrer"),  # the token is in the url
    ("X-Content-Type-Options", "nosniff"),
    (
        "Content-Security-Policy",
        "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    ),
]


def handle_unsubscribe(
    engine: Engine, mail: MailSettings, token: str, now: datetime | None = None
) -> str:
    """Act on a token: "unsubscribed", "already" (or unknown address), or "invalid"."""
    email = verify_unsubscribe_token(mail.secret, mail.list_id, token)
    if email is None:
        return "invalid"
    if not DeliveryLedger(engine).unsubscribe(email, now):
        return "already"
    log.info("a subscriber unsubscribed with one click")
    return "unsubscribed"


def _page(title: str, body: str, site_title: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{html.escape(title)} · {html.escape(site_title)}</title>\n</head>\n"
        f"<body>\n<main>\n<h1>{html.escape(title)}</h1>\n{body}\n</main>\n</body>\n</html>\n"
    ).encode()


def _token_from(environ: dict[str, Any], form: dict[str, list[str]]) -> str:
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    values = query.get("token") or form.get("token") or [""]
    return values[0]


def _read_form(environ: dict[str, Any]) -> dict[str, list[str]]:
    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def make_unsubscribe_app(engine: Engine, mail: MailSettings, path: str | None = None) -> WsgiApp:
    """The WSGI app; `path` defaults to the path of email.unsubscribe_url."""
    route = path or urlsplit(mail.unsubscribe_url).path or "/"
    site_title = mail.site.title

    def respond(
        start: StartResponse,
        status: str,
        content: bytes,
        method: str,
        extra: list[tuple[str, str]] | None = None,
    ) -> list[bytes]:
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(content))),
            *_SECURITY_HEADERS,
            *(extra or []),
        ]
        start(status, headers)
        return [] if method == "HEAD" else [content]

    def app(environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if environ.get("PATH_INFO", "") != route:
            return respond(
                start,
                "404 Not Found",
                _page("Not found", "<p>Nothing here.</p>", site_title),
                method,
            )
        if method not in ("GET", "HEAD", "POST"):
            return respond(
                start,
                "405 Method Not Allowed",
                _page("Not allowed", "<p>Use GET or POST.</p>", site_title),
                method,
                [("Allow", "GET, HEAD, POST")],
            )
        form = _read_form(environ) if method == "POST" else {}
        token = _token_from(environ, form)
        email = verify_unsubscribe_token(mail.secret, mail.list_id, token)
        if email is None:
            body = "<p>This unsubscribe link is not valid. Please use the link in your email.</p>"
            return respond(
                start, "400 Bad Request", _page("Link not valid", body, site_title), method
            )
        if method == "POST":
            handle_unsubscribe(engine, mail, token)
            body = (
                f"<p>{html.escape(email)} will receive no more emails from "
                f"{html.escape(site_title)}.</p>"
            )
            return respond(start, "200 OK", _page("You are unsubscribed", body, site_title), method)
        action = html.escape(f"{route}?token={quote(token, safe='.-_')}")
        body = (
            f"<p>Stop sending {html.escape(site_title)} to {html.escape(email)}?</p>\n"
            f'<form method="post" action="{action}">\n'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">\n'
            '<button type="submit">Unsubscribe</button>\n</form>'
        )
        return respond(start, "200 OK", _page("Unsubscribe", body, site_title), method)

    return app
