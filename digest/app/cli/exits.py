"""Exit codes and the usage error: light, so `main` can handle them before any command loads.

UsageError stays here rather than in digest/errors.py for now (that module belongs to
the error-tree cleanup; moving it there is a one-line change for whoever does that).
"""

from __future__ import annotations

from digest.errors import DigestError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(DigestError):
    """Bad command-line usage (exit code 2)."""
