"""After records are stored: recluster and classify studies, in one transaction."""

from __future__ import annotations

import logging
import time
import traceback

from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.config import Settings
from digest.errors import DigestError, StoreError, redact
from digest.store.lock_core import Lock, LockHeldError
from digest.store.locks import acquire_scheduler_lock
from digest.studies import refresh as study_store

log = logging.getLogger(__name__)


def reclassify_all(settings: Settings, engine: Engine) -> study_store.RefreshSummary:
    """Forget every classification and recompute it (after a rules or topic-model change;
    a changed topic model is also noticed on its own through the rules fingerprint)."""
    with Session(engine) as session:
        study_store.forget_classifications(session)
        session.commit()
    return refresh_studies(settings, engine)


def refresh_studies(
    settings: Settings, engine: Engine, *, full: bool = False
) -> study_store.RefreshSummary:
    """Recluster and classify, in one transaction; a failure leaves the studies as they were.
    Incremental (only the studies new or changed records touch) unless `full`.

    One refresh at a time per database (two concurrent `digest fetch` runs would otherwise
    write the same new studies and collide): a second one waits for the first, bounded."""
    refresh = study_store.rebuild_studies if full else study_store.refresh_studies
    try:
        with _refresh_lock(engine), Session(engine) as session:
            summary = refresh(session, settings.topics)
            session.commit()
    except DigestError:
        raise
    except Exception as exc:
        log.error("refresh failed: %s", redact("".join(traceback.format_exception(exc))))
        raise StoreError(
            redact(
                f"deduplicating and classifying studies failed: "
                f"{type(exc).__name__}: {exc}; the records are stored and the "
                "next fetch tries again"
            )
        ) from exc
    return summary


REFRESH_LOCK_WAIT = 300.0  # seconds a refresh waits for another process's refresh


def _refresh_lock(engine: Engine, wait: float | None = None) -> Lock:
    deadline = time.monotonic() + (REFRESH_LOCK_WAIT if wait is None else wait)
    while True:
        try:
            return acquire_scheduler_lock(engine, name="refresh")
        except LockHeldError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)
