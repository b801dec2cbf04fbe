"""CSRF tokens for every form.

Signed-in forms carry the session's own token (a random value kept inside the signed
session cookie). Forms shown before sign-in (sign-in, subscribe, confirm) use a double
submit: an HttpOnly, SameSite=Strict cookie holds a random value, and the form holds
that value signed with DIGEST_SECRET; both must arrive and match. A POST without a valid
token is refused with 403. The one-click unsubscribe POST is the one exception (RFC 8058:
mail clients post it without cookies); its signed token is its authority.
"""

from __future__ import annotations

import hmac
import secrets

from itsdangerous import BadSignature, Signer

FORM_COOKIE = "digest_form"
FIELD = "csrf"


class FormTokens:
    def __init__(self, secret: bytes) -> None:
        self._signer = Signer(secret, salt="desk-form-csrf")

    @staticmethod
    def new_cookie() -> str:
        return secrets.token_urlsafe(24)

    def token_for(self, cookie: str) -> str:
        return self._signer.sign(cookie.encode()).decode()

    def valid(self, cookie: str | None, token: str | None) -> bool:
        if not cookie or not token or len(token) > 512:
            return False
        try:
            value = self._signer.unsign(token.encode()).decode()
        except BadSignature:
            return False
        return hmac.compare_digest(value, cookie)


def same_token(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
