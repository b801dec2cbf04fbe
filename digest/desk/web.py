"""What every desk page shares: the configuration, the page renderer (the site's look,
autoescaped Jinja2), the form and session checks, and the security headers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.datastructures import FormData, MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digest.config import Settings
from digest.desk.auth import SESSION_COOKIE, RateLimits, SessionCodec, StaffSession
from digest.desk.csrf import FIELD, FORM_COOKIE, FormTokens
from digest.desk.triage import DEFAULT_MAX_LABELS, TriageError
from digest.model import utcnow
from digest.views import design_of

HERE = Path(__file__).resolve().parent
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
MAX_FIELDS = 40


@dataclass(frozen=True, slots=True)
class DeskConfig:
    """Everything the app needs, passed in (the CLI builds it from sources.yaml and env)."""

    settings: Settings
    engine: Engine
    secret: bytes = field(repr=False)
    public_url: str  # where the app is reached, e.g. https://digest.example.org
    site_url: str  # the static site, for links to study pages
    from_address: str
    send_mail: Callable[[EmailMessage], None] | None = None  # None: no sign-up by email
    unsubscribe_path: str = "/unsubscribe"
    list_id: str | None = None  # MailSettings.list_id; None: no unsubscribe endpoint
    postal_address: str | None = None
    max_labels: int = DEFAULT_MAX_LABELS
    session_max_age: timedelta = timedelta(hours=8)
    limits: RateLimits = field(default_factory=RateLimits)
    clock: Callable[[], datetime] = utcnow

    @property
    def secure_cookies(self) -> bool:
        return urlsplit(self.public_url).scheme == "https"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["design_of"] = design_of
    return env


def client_address(request: Request) -> str:
    """The client's address as the ASGI server reports it (uvicorn rewrites it from
    X-Forwarded-For only for the proxies named in --forwarded-allow-ips)."""
    return request.client.host if request.client else "unknown"


class Desk:
    """The shared parts, built once per app."""

    def __init__(self, config: DeskConfig) -> None:
        self.config = config
        self.templates = _environment()
        self.codec = SessionCodec(config.secret, config.session_max_age)
        self.forms = FormTokens(config.secret)

    def now(self) -> datetime:
        return self.config.clock()

    def page(
        self,
        request: Request,
        name: str,
        status: int = 200,
        *,
        staff: StaffSession | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """Render a template; pages shown before sign-in get the form-CSRF cookie."""
        cookie = None if staff else request.cookies.get(FORM_COOKIE) or self.forms.new_cookie()
        body = self.templates.get_template(name).render(
            site_title=self.config.settings.digest.title,
            site_url=self.config.site_url,
            staff=staff,
            csrf=staff.csrf if staff else self.forms.token_for(cookie or ""),
            csrf_field=FIELD,
            postal_address=self.config.postal_address,
            **context,
        )
        response = HTMLResponse(body, status_code=status)
        if cookie is not None and request.cookies.get(FORM_COOKIE) != cookie:
            response.set_cookie(
                FORM_COOKIE,
                cookie,
                httponly=True,
                samesite="strict",
                secure=self.config.secure_cookies,
                path="/",
            )
        return response

    def forbidden(self, request: Request) -> HTMLResponse:
        return self.page(
            request,
            "message.html",
            403,
            title="Form expired",
            message="This form was not sent from a page of this desk, or it has expired. "
            "Go back, reload the page and try again.",
        )

    async def read_form(self, request: Request) -> FormData:
        return await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=16384)

    def current_staff(self, request: Request) -> StaffSession | None:
        with Session(self.config.engine) as session:
            return self.codec.read(session, request.cookies.get(SESSION_COOKIE))

    def to_sign_in(self, request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/desk/sign-in?next={quote(target, safe='')}", 303)


class SecurityHeaders:
    """CSP without scripts, no framing, no sniffing, no referrer; desk pages not cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cache = not str(scope.get("path", "")).startswith("/assets/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "no-referrer"
                if cache:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def text_field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def int_field(form: FormData, name: str) -> int | None:
    value = (text_field(form, name) or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise TriageError(f"{name} is a number from 1 to 7") from exc


def shift_week(monday: Any, days: int) -> str:
    day = monday + timedelta(days=days)
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
