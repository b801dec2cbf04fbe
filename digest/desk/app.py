"""The desk as a Starlette app: server-rendered pages, no JavaScript, the site's look.

Public (no sign-in): /subscribe (form, POST), /subscribe/confirm (page + POST), the
one-click unsubscribe path (RFC 8058 POST, and a styled page for people who click), and
/assets/ (the stylesheets and icon). Everything under /desk/ except /desk/sign-in needs a
signed-in staff session; without one, a request is sent to the sign-in page (303).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from digest.desk.public_pages import public_routes
from digest.desk.staff_pages import staff_routes
from digest.desk.web import Desk, DeskConfig, SecurityHeaders, client_address

__all__ = ["DeskConfig", "client_address", "create_app"]


def create_app(config: DeskConfig) -> Starlette:
    desk = Desk(config)

    async def not_found(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/desk/") and desk.current_staff(request) is None:
            return desk.to_sign_in(request)
        return desk.page(request, "message.html", 404, title="Not found", message="Nothing here.")

    return Starlette(
        routes=[*staff_routes(desk), *public_routes(desk)],
        exception_handlers={404: not_found, 405: not_found},
        middleware=[Middleware(SecurityHeaders)],
    )
