"""`digest check-claims`: a draft blog post checked against the advertising policy."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal, cast

from digest.app.cli.context import Context
from digest.app.cli.exits import UsageError
from digest.claims import EvidenceIndex, run_check_claims
from digest.ingest.run import make_http


def cmd_check_claims(ctx: Context) -> int:
    """Exit 0: nothing flagged; 1: something flagged; 2: unreadable input or bad usage."""
    source: str = ctx.args.source
    content, name = _read(ctx, source)
    policy = ctx.args.policy or ctx.settings.claims_policy
    evidence = EvidenceIndex.from_topics(ctx.settings.topics, ctx.settings.digest.site_url)
    fmt = cast(Literal["text", "json"], ctx.args.format)
    output, code = run_check_claims(content, name, fmt, policy, evidence)
    ctx.out.write(output)
    return code


def _read(ctx: Context, source: str) -> tuple[bytes, str]:
    """The post's bytes and what names its format (a file name, a Content-Type, or "-")."""
    if source == "-":
        return sys.stdin.buffer.read(), "-"
    if source.startswith(("http://", "https://")):
        # through the project's HTTP client: timeouts, retries, size cap, politeness
        response = make_http(ctx.settings).get(source, source="check-claims")
        return response.content, response.content_type or source
    path = Path(source)
    try:
        return path.read_bytes(), path.name
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
