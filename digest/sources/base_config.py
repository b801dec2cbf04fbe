"""The fields every source's config has. Kinds subclass `SourceBase` in their own
`sources/<kind>/config.py`; `digest.config` builds the `SourceConfig` union from them.

Imports only pydantic, so `digest.config` can import the registry without a cycle.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceBase(Strict):
    # each kind narrows this to its own Literal: the union's discriminator
    kind: str
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    enabled: bool = True
    schedule: str = "0 5 * * *"  # checked by digest.config, with the other crontabs
    base_url: str | None = None  # point the same code at a mirror or a recording
    # hosts a redirect may lead to besides the source's own origin (same-origin otherwise)
    allow_redirects_to: list[str] = []
