"""After records are stored: recluster and classify studies, in one transaction."""

from __future__ import annotations

import logging
import traceback

from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.config import Settings
from digest.errors import DigestError, StoreError, redact
from digest.studies import refresh as study_store

log = logging.getLogger(__name__)


def reclassify_all(settings: Settings, engine: Engine) -> study_store.RefreshSummary:
    """Forget every classification and recompute it (after a rules or topic-model change;
    a changed topic model is also noticed on its own through the rules fingerprint)."""
    with Session(engine) as session:
        study_store.forget_classifications(session)
        session.commit()
    return refresh_studies(settings, engine)


def refresh_studies(settings: Settings, engine: Engine) -> study_store.RefreshSummary:
    """Recluster and classify, in one transaction; a failure leaves the studies as they were."""
    try:
        with Session(engine) as session:
            summary = study_store.refresh_studies(session, settings.topics)
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
