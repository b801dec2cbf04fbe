"""A first run without a config: the shipped starter `sources.yaml`, and the effective
settings printed for a person to check (secrets masked)."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from digest.config import Settings
from digest.errors import ConfigError

# The acupuncture-for-pain model the project ships (the repository's sources.yaml).
STARTER_CONFIG = resources.files("digest").joinpath("defaults", "sources.yaml")
MASK = "***"
# Environment variables that hold secrets; `config check` says whether each is set.
SECRET_ENV = ("NCBI_API_KEY", "DIGEST_SMTP_URL", "DIGEST_SMTP_PASSWORD", "DIGEST_SECRET")


def starter_text() -> str:
    return STARTER_CONFIG.read_text(encoding="utf-8")


def write_starter_config(path: Path) -> None:
    """Write the commented starter config; never over an existing file."""
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(starter_text())
    except FileExistsError as exc:
        raise ConfigError(f"{path} already exists: not overwritten") from exc
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from exc


def effective_settings(settings: Settings, env: Mapping[str, str]) -> dict[str, Any]:
    """The validated settings as plain data, with every secret masked."""
    data = settings.model_dump(mode="json")
    data["database_url"] = make_url(settings.database_url).render_as_string(hide_password=True)
    if data.get("ncbi_api_key"):
        data["ncbi_api_key"] = MASK
    data["environment"] = {
        name: ("set (" + MASK + ")" if env.get(name) else "not set") for name in SECRET_ENV
    }
    return data


def effective_settings_text(settings: Settings, env: Mapping[str, str]) -> str:
    return yaml.safe_dump(effective_settings(settings, env), sort_keys=False, allow_unicode=True)
