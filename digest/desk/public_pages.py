"""The public pages: subscribe (double opt-in), confirm, unsubscribe (RFC 8058), assets."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from digest.desk.csrf import FIELD, FORM_COOKIE
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
from digest.desk.web import HERE, Desk, client_address, text_field
from digest.publish.tokens import verify_unsubscribe_token
from digest.store.deliveries import InvalidEmail

log = logging.getLogger(__name__)
ASSETS = {
    "site.css": HERE.parent / "static" / "site.css",
    "desk.css": HERE / "static" / "desk.css",
    "icon.svg": HERE.parent / "static" / "icon.svg",
}


def public_routes(desk: Desk) -> list[Route]:
    config, settings = desk.config, desk.config.settings
    forms, now = desk.forms, desk.now
    page, forbidden, read_form = desk.page, desk.forbidden, desk.read_form
    confirm_tokens = ConfirmTokens(config.secret)
    site_title = settings.digest.title
    conditions = [(c.slug, c.label) for c in settings.topics.conditions]
    shown_consent = consent_text(site_title, "weekly or monthly, as chosen above")

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
        if not forms.valid(request.cookies.get(FORM_COOKIE), text_field(form, FIELD)):
            return forbidden(request)
        if config.send_mail is None:
            return subscribe_form(request, 503, error="Sign-up by email is not available yet.")
        email = (text_field(form, "email") or "").strip()
        known = {slug for slug, _ in conditions}
        chosen = frozenset(
            c for c in form.getlist("conditions") if isinstance(c, str) and c in known
        )
        tier = text_field(form, "min_tier") or "any"
        frequency = text_field(form, "frequency") or "weekly"
        if tier not in MIN_TIERS or frequency not in FREQUENCIES:
            return subscribe_form(request, 400, error="Please choose from the lists.", email=email)
        if text_field(form, "agree") != "yes":
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
        if not forms.valid(request.cookies.get(FORM_COOKIE), text_field(form, FIELD)):
            return forbidden(request)
        state, nonce = confirm_tokens.read(text_field(form, "token") or "")
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
            token = token or (text_field(form, "token") or "")
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
            one_click = form is not None and text_field(form, "List-Unsubscribe") == "One-Click"
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

    routes = [
        Route("/subscribe", subscribe, methods=["GET", "POST"]),
        Route("/subscribe/confirm", confirm, methods=["GET", "POST"]),
        Route("/assets/{name}", asset),
    ]
    if config.list_id:
        routes.append(Route(config.unsubscribe_path, unsubscribe_endpoint, methods=["GET", "POST"]))
    return routes
