"""Signed unsubscribe tokens: who, for which list, and an HMAC nobody else can make.

token = base64url(email) "." base64url(HMAC-SHA256(secret, list_id NUL email))

The token names the subscriber (so one-click unsubscribe needs no lookup table) and the
list (RFC 8058 §3.1: the URI identifies both); it does not expire, because an old
email's unsubscribe link must keep working. The secret comes from DIGEST_SECRET.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from digest.errors import ConfigError, register_secret

SECRET_ENV = "DIGEST_SECRET"
MIN_SECRET_BYTES = 16
_MAX_TOKEN = 1024


def load_secret(env: Mapping[str, str]) -> bytes:
    """The signing secret from the environment; refuse a missing or short one."""
    value = env.get(SECRET_ENV, "")
    if len(value.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"set {SECRET_ENV} to a random secret of at least {MIN_SECRET_BYTES} characters "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)",
            key=SECRET_ENV,
        )
    register_secret(value)  # redacted by value in errors and logs
    return value.encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, list_id: str, email: str) -> bytes:
    message = list_id.encode() + b"\x00" + email.encode()
    return hmac.new(secret, message, hashlib.sha256).digest()


def make_unsubscribe_token(secret: bytes, list_id: str, email: str) -> str:
    return f"{_b64(email.encode())}.{_b64(_signature(secret, list_id, email))}"


def verify_unsubscribe_token(secret: bytes, list_id: str, token: str) -> str | None:
    """The email the token was made for, or None if it is malformed or forged."""
    if not token or len(token) > _MAX_TOKEN or token.count(".") != 1:
        return None
    encoded_email, encoded_signature = token.split(".")
    try:
        email = _unb64(encoded_email).decode("utf-8")
        signature = _unb64(encoded_signature)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not hmac.compare_digest(signature, _signature(secret, list_id, email)):
        return None
    return email
