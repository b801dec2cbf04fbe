"""Staff accounts, argon2id password hashes, signed session cookies, sign-in rate limits.

Sessions: the cookie holds {staff id, account generation, CSRF token, issued-at}, signed
with itsdangerous (HMAC-SHA1 over a key derived from DIGEST_SECRET, salt "desk-session")
and timestamped; it is refused when the signature is wrong (another secret), when it is
older than `max_age`, or when the account was removed or its password changed since
(the generation moved on). The cookie is HttpOnly, SameSite=Strict, and Secure unless
the desk runs on plain loopback HTTP.

Rate limits: failed sign-ins are stored (desk_login_attempt), so limits hold across
restarts and workers. More than `per_account` failures for one username, or
`per_address` failures from one client address, within `window` locks sign-in for that
username / address until the window has passed; while locked, the password is not even
checked. A success does not erase failures (an attacker who guesses right once already
had their chances counted).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func
from sqlmodel import Session, col, select

from digest.desk import audit
from digest.desk.tables import LoginAttempt, StaffAccount
from digest.errors import DigestError
from digest.model import utcnow
from digest.store.deliveries import InvalidEmail, normalize_email

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
SESSION_COOKIE = "digest_desk"
_HASHER = PasswordHasher()  # argon2id, the library's current recommended parameters
# verified when the username is unknown, so both paths cost one argon2 verification
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class StaffError(DigestError):
    """A staff account command that cannot be done (bad name, short password, ...)."""


# --------------------------------------------------------------------------- accounts


def check_username(name: str) -> str:
    value = name.strip().lower()
    if not USERNAME.match(value):
        raise StaffError(
            "a username is 1-64 characters: lower-case letters, digits, '.', '_' or '-'"
        )
    return value


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise StaffError(f"a password has at most {MAX_PASSWORD} characters")
    return password


def find_staff(session: Session, username: str) -> StaffAccount | None:
    return session.exec(select(StaffAccount).where(StaffAccount.username == username)).first()


def add_staff(
    session: Session,
    username: str,
    password: str,
    actor: str = "cli",
    email: str | None = None,
) -> str:
    """Create an account, or set a new password on an existing one (which ends its
    sessions). `email` is where review reminders go (kept when None). Returns "added",
    "password changed" or "re-enabled". Caller commits."""
    name = check_username(username)
    digest_ = _HASHER.hash(check_password(password))
    try:
        address = normalize_email(email) if email else None
    except InvalidEmail as exc:
        raise StaffError(str(exc)) from exc
    row = find_staff(session, name)
    if row is None:
        session.add(StaffAccount(username=name, password_hash=digest_, email=address))
        outcome = "added"
    else:
        outcome = "re-enabled" if row.disabled_at else "password changed"
        row.password_hash, row.generation, row.disabled_at = digest_, row.generation + 1, None
        row.email = address or row.email
        session.add(row)
    audit.record(session, actor, "staff-add", username=name, outcome=outcome)
    session.flush()
    return outcome


def remove_staff(session: Session, username: str, actor: str = "cli") -> bool:
    """Disable an account (kept for the audit trail); its sessions stop at once."""
    row = find_staff(session, check_username(username))
    if row is None or row.disabled_at is not None:
        return False
    row.disabled_at, row.generation = utcnow(), row.generation + 1
    session.add(row)
    audit.record(session, actor, "staff-remove", username=row.username)
    session.flush()
    return True


def list_staff(session: Session, include_removed: bool = False) -> list[StaffAccount]:
    query = select(StaffAccount).order_by(col(StaffAccount.username))
    if not include_removed:
        query = query.where(col(StaffAccount.disabled_at).is_(None))
    return list(session.exec(query).all())


# --------------------------------------------------------------------------- sign-in


@dataclass(frozen=True, slots=True)
class RateLimits:
    per_account: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)


def _failures(session: Session, since: datetime, **where: str) -> int:
    query = select(func.count()).select_from(LoginAttempt).where(col(LoginAttempt.at) >= since)
    for column, value in where.items():
        query = query.where(getattr(LoginAttempt, column) == value)
    return int(session.exec(query).one())


def is_locked(
    session: Session, username: str, address: str, limits: RateLimits, now: datetime
) -> bool:
    since = now - limits.window
    return (
        _failures(session, since, username=username) >= limits.per_account
        or _failures(session, since, address=address) >= limits.per_address
    )


def authenticate(
    session: Session,
    username: str,
    password: str,
    address: str,
    limits: RateLimits,
    now: datetime | None = None,
) -> tuple[str, StaffAccount | None]:
    """("ok", account), ("wrong", None) or ("locked", None). Records the failure and an
    audit entry; the caller commits."""
    now = now or utcnow()
    name = username.strip().lower()[:64]
    if is_locked(session, name, address, limits, now):
        audit.record(session, name or "?", "sign-in-locked", now=now, address=address)
        return "locked", None
    row = find_staff(session, name) if USERNAME.match(name) else None
    valid = False
    try:
        valid = _HASHER.verify(row.password_hash if row else _DUMMY_HASH, password[:MAX_PASSWORD])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        valid = False
    if not valid or row is None or row.disabled_at is not None:
        session.add(LoginAttempt(at=now, address=address, username=name))
        audit.record(session, name or "?", "sign-in-failed", now=now, address=address)
        return "wrong", None
    if _HASHER.check_needs_rehash(row.password_hash):
        row.password_hash = _HASHER.hash(password)
        session.add(row)
    audit.record(session, row.username, "sign-in", now=now, address=address)
    return "ok", row


# --------------------------------------------------------------------------- sessions


@dataclass(frozen=True, slots=True)
class StaffSession:
    staff_id: int
    username: str
    csrf: str


class SessionCodec:
    """Signs and reads the session cookie's value."""

    def __init__(self, secret: bytes, max_age: timedelta) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="desk-session")
        self.max_age = max_age

    def issue(self, account: StaffAccount) -> tuple[str, str]:
        """(cookie value, CSRF token) for a freshly signed-in account."""
        csrf = secrets.token_urlsafe(32)
        value = self._serializer.dumps({"id": account.id, "g": account.generation, "c": csrf})
        return value, csrf

    def read(self, session: Session, value: str | None) -> StaffSession | None:
        """The session, or None if the cookie is missing, forged, expired or stale."""
        if not value or len(value) > 4096:
            return None
        try:
            data: Any = self._serializer.loads(value, max_age=int(self.max_age.total_seconds()))
        except (SignatureExpired, BadSignature):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("id"), int):
            return None
        row = session.get(StaffAccount, data["id"])
        if row is None or row.disabled_at is not None or row.generation != data.get("g"):
            return None
        csrf = data.get("c")
        if not isinstance(csrf, str) or not csrf:
            return None
        return StaffSession(staff_id=data["id"], username=row.username, csrf=csrf)
