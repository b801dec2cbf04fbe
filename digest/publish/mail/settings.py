"""Mail settings from the config, and the per-subscriber unsubscribe link and Message-ID."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from digest.config import Settings
from digest.errors import ConfigError
from digest.publish.tokens import load_secret, make_unsubscribe_token
from digest.render.site import site_settings_from_config
from digest.views import SiteSettings

# --------------------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class MailSettings:
    site: SiteSettings
    from_address: str
    list_id: str  # e.g. weekly.digest.example.org (List-Id, and signed into every token)
    unsubscribe_url: str  # the https endpoint `digest serve` answers; ?token= is appended
    unsubscribe_mailto: str | None = None
    secret: bytes = field(default=b"", repr=False)


def is_loopback(host: str | None) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def mail_settings_from_config(settings: Settings, env: Mapping[str, str]) -> MailSettings:
    """MailSettings from sources.yaml (email:, digest:) and DIGEST_SECRET."""
    site = site_settings_from_config(settings)
    endpoint = settings.email.unsubscribe_url
    if not endpoint:
        raise ConfigError(
            "needed to send: the https address `digest serve` answers on",
            key="email.unsubscribe_url",
        )
    parts = urlsplit(endpoint)
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname)):
        raise ConfigError("must be an https:// URL (RFC 8058)", key="email.unsubscribe_url")
    mailto = settings.email.unsubscribe_mailto
    host = urlsplit(site.base_url).hostname or "digest.invalid"
    return MailSettings(
        site=site,
        from_address=settings.email.from_address,
        list_id=f"weekly.{host}",
        unsubscribe_url=endpoint,
        unsubscribe_mailto=mailto.removeprefix("mailto:") if mailto else None,
        secret=load_secret(env),
    )


def unsubscribe_link(mail: MailSettings, email: str) -> str:
    token = make_unsubscribe_token(mail.secret, mail.list_id, email)
    joiner = "&" if "?" in mail.unsubscribe_url else "?"
    return f"{mail.unsubscribe_url}{joiner}token={token}"


def list_unsubscribe_header(mail: MailSettings, email: str) -> str:
    """`<https://…?token=T>, <mailto:…?subject=unsubscribe%20T>` (RFC 2369 / 8058)."""
    value = f"<{unsubscribe_link(mail, email)}>"
    if mail.unsubscribe_mailto:
        token = make_unsubscribe_token(mail.secret, mail.list_id, email)
        value += f", <mailto:{mail.unsubscribe_mailto}?subject=unsubscribe%20{token}>"
    return value


def _sender_domain(mail: MailSettings) -> str:
    match = re.search(r"@([A-Za-z0-9.-]+)>?\s*$", mail.from_address)
    return match.group(1).lower() if match else "digest.invalid"


def message_id_for(mail: MailSettings, week: str, email: str) -> str:
    """The same id for the same list, week and subscriber, every time."""
    key = hashlib.sha256(f"{mail.list_id}\n{week}\n{email}".encode()).hexdigest()[:32]
    return f"<digest.{week}.{key}@{_sender_domain(mail)}>"
