"""The JSON form of a built digest, stored so the archive shows what was sent."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

from digest.views.digest import DigestView

# --------------------------------------------------------------------------- JSON form
# A built digest is stored as JSON (Digest.content) so the archive shows what was sent.


@functools.cache
def _digest_adapter() -> TypeAdapter[DigestView]:
    return TypeAdapter(DigestView)  # built on first use, once every view class exists


def digest_to_json(digest: DigestView) -> dict[str, Any]:
    """The JSON form of a built digest (dates as ISO strings), validated by pydantic."""
    result: dict[str, Any] = _digest_adapter().dump_python(digest, mode="json")
    return result


def digest_from_json(data: Mapping[str, Any]) -> DigestView:
    """A stored digest back as a DigestView (also reads the older named-tuple-as-object
    form that digests stored before this codec use)."""
    return _digest_adapter().validate_python(data)
