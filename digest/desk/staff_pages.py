"""The signed-in pages: sign-in and out, triage of a week, the audit log, subscribers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from digest.desk import audit
from digest.desk.auth import SESSION_COOKIE, StaffSession, authenticate
from digest.desk.csrf import FIELD, FORM_COOKIE, same_token
from digest.desk.tables import ConsentEvent, Signup, Suppression
from digest.desk.triage import (
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
from digest.desk.web import Desk, client_address, int_field, shift_week, text_field
from digest.issue.context import build_digest_view
from digest.model import Subscriber
from digest.views import DigestView
from digest.weeks import last_complete_week, parse_week

DRAFT_FIELDS = ("status", "reason", "relevance", "newsworthiness", "note", "label", "label_reason")


def staff_routes(desk: Desk) -> list[Route]:
    config, settings = desk.config, desk.config.settings
    codec, forms, now = desk.codec, desk.forms, desk.now
    page, forbidden, read_form = desk.page, desk.forbidden, desk.read_form
    current_staff, to_sign_in = desk.current_staff, desk.to_sign_in

    def safe_next(value: str | None) -> str:
        if value and value.startswith("/desk/") and not value.startswith("//"):
            return value
        return "/desk/"

    # ------------------------------------------------------------------ sign-in

    async def sign_in(request: Request) -> Response:
        if request.method == "GET":
            return page(request, "sign_in.html", next=safe_next(request.query_params.get("next")))
        form = await read_form(request)
        if not forms.valid(request.cookies.get(FORM_COOKIE), text_field(form, FIELD)):
            return forbidden(request)
        username, password = text_field(form, "username") or "", text_field(form, "password") or ""
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
                next=safe_next(text_field(form, "next")),
            )
        response = RedirectResponse(safe_next(text_field(form, "next")), 303)
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
        if not same_token(staff.csrf, text_field(form, FIELD)):
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
            previous_week=shift_week(monday, -7),
            next_week=shift_week(monday, 7),
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
        if not same_token(staff.csrf, text_field(form, FIELD)):
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
                        status=text_field(form, "status") or "undecided",
                        reason=text_field(form, "reason"),
                        relevance=int_field(form, "relevance"),
                        newsworthiness=int_field(form, "newsworthiness"),
                        note=text_field(form, "note"),
                        label=text_field(form, "label"),
                        label_reason=text_field(form, "label_reason"),
                        max_labels=config.max_labels,
                        now=now(),
                    )
                    session.commit()
            except TriageError as exc:
                return slug, str(exc)
            return None

        error = await run_in_threadpool(save)
        if error:
            draft = {name: text_field(form, name) for name in DRAFT_FIELDS}
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
        if not same_token(staff.csrf, text_field(form, FIELD)):
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

    return [
        Route("/desk/sign-in", sign_in, methods=["GET", "POST"]),
        Route("/desk/sign-out", sign_out, methods=["POST"]),
        Route("/desk/", desk_home),
        Route("/desk/weeks/{week}", triage),
        Route("/desk/weeks/{week}/items/{slug}", decide_item, methods=["POST"]),
        Route("/desk/weeks/{week}/approve", approve_week, methods=["POST"]),
        Route("/desk/audit", audit_page),
        Route("/desk/subscribers", subscribers_page),
    ]
