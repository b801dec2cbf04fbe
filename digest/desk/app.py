"""The desk as a Starlette app: server-rendered pages, no JavaScript, the site's look.

Public (no sign-in): /subscribe (form, POST), /subscribe/confirm (page + POST), the
one-click unsubscribe path (RFC 8058 POST, and a styled page for people who click), and
/assets/ (the stylesheets). Everything under /desk/ except /desk/sign-in needs a
signed-in staff session; without one, a request is sent to the sign-in page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digest.config import Settings
from digest.desk import audit
from digest.desk.auth import SESSION_COOKIE, RateLimits, SessionCodec, StaffSession, authenticate
from digest.desk.csrf import FIELD, FORM_COOKIE, FormTokens, same_token
from digest.desk.subscribe import (
    FREQUENCIES,
    MIN_TIERS,
    ConfirmTokens,
    Preferences,
    confirm_signup,
    confirmation_message,
    consent_text,
    request_signup,
    unsubscribe,
)
from digest.desk.tables import ConsentEvent, Signup, Suppression
from digest.desk.triage import (
    DEFAULT_MAX_LABELS,
    NOTE_MAX,
    REASON_MAX,
    TriageError,
    boost_of,
    decide,
    desk_decisions,
    feedback_boosts,
    feedback_order,
    past_ratings,
    sign_off_of,
    sign_off_week,
)
from digest.issue.context import build_digest_view
from digest.model import Subscriber, utcnow
from digest.publish.tokens import verify_unsubscribe_token
from digest.store.deliveries import InvalidEmail
from digest.views import DigestView, design_of
from digest.weeks import last_complete_week, parse_week

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
SITE_CSS = HERE.parent / "static" / "site.css"
ASSETS = {
    "site.css": SITE_CSS,
    "desk.css": HERE / "static" / "desk.css",
    "icon.svg": HERE.parent / "static" / "icon.svg",
}
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
MAX_FIELDS = 40
DRAFT_FIELDS = ("status", "reason", "relevance", "newsworthiness", "note", "label", "label_reason")


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


def create_app(config: DeskConfig) -> Starlette:
    templates = _environment()
    codec = SessionCodec(config.secret, config.session_max_age)
    forms = FormTokens(config.secret)
    confirm_tokens = ConfirmTokens(config.secret)
    settings = config.settings
    site_title = settings.digest.title
    conditions = [(c.slug, c.label) for c in settings.topics.conditions]
    shown_consent = consent_text(site_title, "weekly or monthly, as chosen above")

    def page(
        request: Request,
        name: str,
        status: int = 200,
        *,
        staff: StaffSession | None = None,
        form_cookie: str | None = None,
        **context: Any,
    ) -> HTMLResponse:
        cookie = form_cookie
        if staff is None and cookie is None:
            cookie = request.cookies.get(FORM_COOKIE) or forms.new_cookie()
        csrf = staff.csrf if staff else forms.token_for(cookie or "")
        body = templates.get_template(name).render(
            site_title=site_title,
            site_url=config.site_url,
            staff=staff,
            csrf=csrf,
            csrf_field=FIELD,
            postal_address=config.postal_address,
            **context,
        )
        response = HTMLResponse(body, status_code=status)
        if staff is None and cookie is not None and request.cookies.get(FORM_COOKIE) != cookie:
            response.set_cookie(
                FORM_COOKIE,
                cookie,
                httponly=True,
                samesite="strict",
                secure=config.secure_cookies,
                path="/",
            )
        return response

    def forbidden(request: Request) -> HTMLResponse:
        return page(
            request,
            "message.html",
            403,
            title="Form expired",
            message="This form was not sent from a page of this desk, or it has expired. "
            "Go back, reload the page and try again.",
        )

    async def read_form(request: Request) -> FormData:
        return await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=16384)

    def current_staff(request: Request) -> StaffSession | None:
        with Session(config.engine) as session:
            return codec.read(session, request.cookies.get(SESSION_COOKIE))

    def to_sign_in(request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/desk/sign-in?next={quote(target, safe='')}", 303)

    def safe_next(value: str | None) -> str:
        if value and value.startswith("/desk/") and not value.startswith("//"):
            return value
        return "/desk/"

    def now() -> datetime:
        return config.clock()

    # ------------------------------------------------------------------ sign-in

    async def sign_in(request: Request) -> Response:
        if request.method == "GET":
            return page(request, "sign_in.html", next=safe_next(request.query_params.get("next")))
        form = await read_form(request)
        if not forms.valid(request.cookies.get(FORM_COOKIE), _text(form, FIELD)):
            return forbidden(request)
        username, password = _text(form, "username") or "", _text(form, "password") or ""
        address = client_address(request)

        def check() -> tuple[str, str | None]:
            with Session(config.engine) as session:
                outcome, account = authenticate(
                    session, username, password, address, config.limits, now()
                )
                session.commit()
                if account is None:
                    return outcome, None
                value, _ = codec.issue(account)
                return outcome, value

        outcome, cookie = await run_in_threadpool(check)
        if cookie is None:
            locked = outcome == "locked"
            message = (
                "Too many failed sign-ins. Wait a quarter of an hour and try again."
                if locked
                else "That username and password do not match."
            )
            return page(
                request,
                "sign_in.html",
                429 if locked else 401,
                error=message,
                username=username[:64],
                next=safe_next(_text(form, "next")),
            )
        response = RedirectResponse(safe_next(_text(form, "next")), 303)
        response.set_cookie(
            SESSION_COOKIE,
            cookie,
            max_age=int(config.session_max_age.total_seconds()),
            httponly=True,
            samesite="strict",
            secure=config.secure_cookies,
            path="/desk",
        )
        return response

    async def sign_out(request: Request) -> Response:
        staff = current_staff(request)
        if staff is None:
            return to_sign_in(request)
        form = await read_form(request)
        if not same_token(staff.csrf, _text(form, FIELD)):
            return forbidden(request)
        with Session(config.engine) as session:
            audit.record(session, staff.username, "sign-out", now=now())
            session.commit()
        response = RedirectResponse("/desk/sign-in", 303)
        response.delete_cookie(SESSION_COOKIE, path="/desk")
        return response

    # ------------------------------------------------------------------ triage

    def coming_week() -> str:
        today = now().astimezone(ZoneInfo(settings.timezone)).date()
        return last_complete_week(today)

    def week_view(week: str) -> DigestView:
        with Session(config.engine) as session:
            return build_digest_view(session, settings, week, built_at=now().astimezone(UTC))

    async def desk_home(request: Request) -> Response:
        staff = current_staff(request)
        if staff is None:
            return to_sign_in(request)
        return RedirectResponse(f"/desk/weeks/{coming_week()}", 303)

    def triage_page(
        request: Request,
        staff: StaffSession,
        week: str,
        status: int = 200,
        errors: Mapping[str, str] | None = None,
        drafts: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> HTMLResponse:
        view = week_view(week)
        with Session(config.engine) as session:
            decisions = desk_decisions(session, week)
            boosts = feedback_boosts(past_ratings(session, week))
            sign_off = sign_off_of(session, week)
        studies = feedback_order(view.studies(), boosts)
        counts = {
            s: sum(1 for d in decisions.values() if d.status == s)
            for s in ("approved", "held", "left-out")
        }
        monday, _ = parse_week(week)
        return page(
            request,
            "triage.html",
            status,
            staff=staff,
            week=week,
            view=view,
            items=[(s, decisions.get(s.slug), boost_of(s, boosts)) for s in studies],
            counts=counts,
            labels_used=sum(1 for d in decisions.values() if d.label),
            max_labels=config.max_labels,
            sign_off=sign_off,
            errors=errors or {},
            drafts=drafts or {},
            note_max=NOTE_MAX,
            reason_max=REASON_MAX,
            previous_week=_shift(monday, -7),
            next_week=_shift(monday, 7),
            coming=coming_week(),
        )

    async def triage(request: Request) -> Response:
        staff = current_staff(request)
        if staff is None:
            return to_sign_in(request)
        week = request.path_params["week"]
        try:
            parse_week(week)
        except ValueError:
            return page(
                request,
                "message.html",
                404,
                staff=staff,
                title="No such week",
                message="Weeks are written like 2026-W47.",
            )
        return await run_in_threadpool(triage_page, request, staff, week)

    async def decide_item(request: Request) -> Response:
        staff = current_staff(request)
        if staff is None:
            return to_sign_in(request)
        form = await read_form(request)
        if not same_token(staff.csrf, _text(form, FIELD)):
            return forbidden(request)
        week, slug = request.path_params["week"], request.path_params["slug"]
        try:
            parse_week(week)
        except ValueError:
            return forbidden(request)

        def save() -> tuple[str, str] | None:
            view = week_view(week)
            study = next((s for s in view.studies() if s.slug == slug), None)
            if study is None:
                return "", "This study is not a candidate of this week."
            try:
                with Session(config.engine) as session:
                    decide(
                        session,
                        week,
                        study,
                        staff.username,
                        status=_text(form, "status") or "undecided",
                        reason=_text(form, "reason"),
                        relevance=_int(form, "relevance"),
                        newsworthiness=_int(form, "newsworthiness"),
                        note=_text(form, "note"),
                        label=_text(form, "label"),
                        label_reason=_text(form, "label_reason"),
                        max_labels=config.max_labels,
                        now=now(),
                    )
                    session.commit()
            except TriageError as exc:
                return slug, str(exc)
            return None

        error = await run_in_threadpool(save)
        if error:
            draft = {name: _text(form, name) for name in DRAFT_FIELDS}
            for name in ("relevance", "newsworthiness"):  # as the template compares them
                draft[name] = int(v) if (v := draft[name]) and v.isdigit() else None  # type: ignore[assignment]
            return await run_in_threadpool(
                triage_page, request, staff, week, 400, dict([error]), {slug: draft}
            )
        return RedirectResponse(f"/desk/weeks/{week}#item-{slug}", 303)

    async def approve_week(request: Request) -> Response:
        staff = current_staff(request)
        if staff is None:
            return to_sign_in(request)
        form = await read_form(request)
        if not same_token(staff.csrf, _text(form, FIELD)):
            return forbidden(request)
        week = request.path_params["week"]
        try:
            parse_week(week)
        except ValueError:
            return forbidden(request)
        with Session(config.engine) as session:
            sign_off_week(session, week, staff.username, now())
            session.commit()
        return RedirectResponse(f"/desk/weeks/{week}", 303)

    async def audit_page(request: Request) -> Response:
        staff = current_staff(request)
        if staff is None:
            return to_sign_in(request)
        week = request.query_params.get("week") or None
        with Session(config.engine) as session:
            rows = audit.entries(session, week=week)
        return page(request, "audit.html", staff=staff, rows=rows, week=week)

    async def subscribers_page(request: Request) -> Response:
        staff = current_staff(request)
        if staff is None:
            return to_sign_in(request)
        with Session(config.engine) as session:
            subscribers = list(session.exec(select(Subscriber).order_by(col(Subscriber.email))))
            suppressed = {s.email: s for s in session.exec(select(Suppression))}
            pending = session.exec(
                select(Signup)
                .where(col(Signup.confirmed_at).is_(None))
                .order_by(col(Signup.created_at).desc())
                .limit(100)
            ).all()
            recent = session.exec(
                select(ConsentEvent).order_by(col(ConsentEvent.at).desc()).limit(50)
            ).all()
            rows = [
                (
                    s,
                    "suppressed"
                    if s.email in suppressed
                    else "unsubscribed"
                    if s.unsubscribed_at
                    else "active",
                )
                for s in subscribers
            ]
            return page(
                request,
                "subscribers.html",
                staff=staff,
                rows=rows,
                suppressed=list(suppressed.values()),
                pending=list(pending),
                recent=list(recent),
            )

    # ------------------------------------------------------------------ subscribe

    def subscribe_form(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        return page(
            request,
            "subscribe.html",
            status,
            conditions=conditions,
            tiers=MIN_TIERS,
            frequencies=FREQUENCIES,
            consent=shown_consent,
            available=config.send_mail is not None,
            **context,
        )

    async def subscribe(request: Request) -> Response:
        if request.method == "GET":
            return subscribe_form(request)
        form = await read_form(request)
        if not forms.valid(request.cookies.get(FORM_COOKIE), _text(form, FIELD)):
            return forbidden(request)
        if config.send_mail is None:
            return subscribe_form(request, 503, error="Sign-up by email is not available yet.")
        email = (_text(form, "email") or "").strip()
        known = {slug for slug, _ in conditions}
        chosen = frozenset(
            c for c in form.getlist("conditions") if isinstance(c, str) and c in known
        )
        tier = _text(form, "min_tier") or "any"
        frequency = _text(form, "frequency") or "weekly"
        if tier not in MIN_TIERS or frequency not in FREQUENCIES:
            return subscribe_form(request, 400, error="Please choose from the lists.", email=email)
        if _text(form, "agree") != "yes":
            return subscribe_form(
                request,
                400,
                email=email,
                error="Please tick the box to agree to receive the emails.",
            )
        preferences = Preferences(chosen, tier, frequency)
        shown = shown_consent  # logged exactly as the form showed it
        send_mail = config.send_mail

        def store_and_send() -> str | None:
            with Session(config.engine) as session:
                try:
                    signup = request_signup(
                        session,
                        email,
                        preferences,
                        shown,
                        address=client_address(request),
                        user_agent=request.headers.get("user-agent"),
                        now=now(),
                    )
                except InvalidEmail:
                    return "That does not look like an email address we can send to."
                if signup is None:
                    session.commit()
                    return None  # suppressed or too many requests: same answer, no mail
                link = f"{config.public_url.rstrip('/')}/subscribe/confirm?token=" + quote(
                    confirm_tokens.make(signup.nonce), safe=""
                )
                message = confirmation_message(
                    to=signup.email,
                    from_address=config.from_address,
                    site_title=site_title,
                    confirm_url=link,
                    shown_text=shown,
                    postal_address=config.postal_address,
                    now=now(),
                )
                send_mail(message)  # raises: nothing is committed, the form says so
                session.commit()
            return None

        try:
            error = await run_in_threadpool(store_and_send)
        except Exception as exc:  # an SMTP failure: tell the person, keep nothing
            log.warning("confirmation mail not sent: %s", type(exc).__name__)
            return subscribe_form(
                request,
                503,
                email=email,
                error="We could not send the confirmation email just now. Please try again later.",
            )
        if error:
            return subscribe_form(request, 400, error=error, email=email)
        return page(
            request,
            "message.html",
            title="Check your inbox",
            message="If the address can receive mail, a message with a confirm link "
            "is on its way. Nothing is sent until you confirm. The link "
            "expires in 48 hours.",
        )

    async def confirm(request: Request) -> Response:
        if request.method == "GET":
            token = request.query_params.get("token", "")
            state, _ = confirm_tokens.read(token)
            if state != "ok":
                return confirm_problem(request, state)
            return page(request, "confirm.html", token=token)
        form = await read_form(request)
        if not forms.valid(request.cookies.get(FORM_COOKIE), _text(form, FIELD)):
            return forbidden(request)
        state, nonce = confirm_tokens.read(_text(form, "token") or "")
        if state != "ok" or nonce is None:
            return confirm_problem(request, state)
        with Session(config.engine) as session:
            outcome, email = confirm_signup(
                session,
                nonce,
                address=client_address(request),
                user_agent=request.headers.get("user-agent"),
                now=now(),
            )
            session.commit()
        if outcome == "confirmed":
            return page(
                request,
                "message.html",
                title="You are subscribed",
                message=f"{email} will receive {site_title}. Every issue has a "
                "one-click unsubscribe link.",
            )
        if outcome == "already":
            return page(
                request,
                "message.html",
                title="Already confirmed",
                message="This link was already used; your subscription stands.",
            )
        return confirm_problem(request, "invalid")

    def confirm_problem(request: Request, state: str) -> HTMLResponse:
        if state == "expired":
            return page(
                request,
                "message.html",
                410,
                title="Link expired",
                message="This confirm link has expired. Please sign up again.",
            )
        return page(
            request,
            "message.html",
            400,
            title="Link not valid",
            message="This confirm link is not valid. Please use the link in the "
            "email, or sign up again.",
        )

    # ------------------------------------------------------------------ unsubscribe

    async def unsubscribe_endpoint(request: Request) -> Response:
        token = request.query_params.get("token", "")
        form: FormData | None = None
        if request.method == "POST":
            form = await read_form(request)
            token = token or (_text(form, "token") or "")
        email = (
            verify_unsubscribe_token(config.secret, config.list_id, token)
            if config.list_id
            else None
        )
        if email is None:
            return page(
                request,
                "message.html",
                400,
                title="Link not valid",
                message="This unsubscribe link is not valid. Please use the link in your email.",
            )
        if request.method == "POST":
            one_click = form is not None and _text(form, "List-Unsubscribe") == "One-Click"
            with Session(config.engine) as session:
                unsubscribe(
                    session,
                    email,
                    "one-click" if one_click else "unsubscribe-page",
                    address=client_address(request),
                    user_agent=request.headers.get("user-agent"),
                    now=now(),
                )
                session.commit()
            return page(
                request,
                "message.html",
                title="You are unsubscribed",
                message=f"{email} will receive no more emails from {site_title}.",
            )
        return page(
            request, "unsubscribe.html", email=email, token=token, action=config.unsubscribe_path
        )

    # ------------------------------------------------------------------ assets

    async def asset(request: Request) -> Response:
        path = ASSETS.get(request.path_params["name"])
        if path is None:
            return Response("not found", 404, media_type="text/plain")
        kind = "image/svg+xml" if path.suffix == ".svg" else "text/css; charset=utf-8"
        return FileResponse(path, media_type=kind)

    async def not_found(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/desk/") and current_staff(request) is None:
            return to_sign_in(request)
        return page(request, "message.html", 404, title="Not found", message="Nothing here.")

    routes = [
        Route("/desk/sign-in", sign_in, methods=["GET", "POST"]),
        Route("/desk/sign-out", sign_out, methods=["POST"]),
        Route("/desk/", desk_home),
        Route("/desk/weeks/{week}", triage),
        Route("/desk/weeks/{week}/items/{slug}", decide_item, methods=["POST"]),
        Route("/desk/weeks/{week}/approve", approve_week, methods=["POST"]),
        Route("/desk/audit", audit_page),
        Route("/desk/subscribers", subscribers_page),
        Route("/subscribe", subscribe, methods=["GET", "POST"]),
        Route("/subscribe/confirm", confirm, methods=["GET", "POST"]),
        Route("/assets/{name}", asset),
    ]
    if config.list_id:
        routes.append(Route(config.unsubscribe_path, unsubscribe_endpoint, methods=["GET", "POST"]))
    return Starlette(
        routes=routes,
        exception_handlers={404: not_found, 405: not_found},
        middleware=[Middleware(SecurityHeaders)],
    )


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


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _int(form: FormData, name: str) -> int | None:
    value = (_text(form, name) or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise TriageError(f"{name} is a number from 1 to 7") from exc


def _shift(monday: Any, days: int) -> str:
    day = monday + timedelta(days=days)
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def with_clock(config: DeskConfig, clock: Callable[[], datetime]) -> DeskConfig:
    return replace(config, clock=clock)
