"""The scheduled jobs as the config defines them, their listing and their next run times."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from digest.config import Settings
from digest.cron import crontab_trigger

WEEKLY_JOB_ID = "weekly"
REVIEW_JOB_ID = "review"  # digest.review: required: the reminder and the deadline send
RECHECK_JOB_ID = "recheck"  # the daily re-check of studies already sent
FETCH_JOB_PREFIX = "fetch:"


def fetch_job_id(source_name: str) -> str:
    return f"{FETCH_JOB_PREFIX}{source_name}"


def zone_of(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.timezone)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One job as the config defines it."""

    id: str
    cron: str
    what: str
    enabled: bool
    source: str | None = None  # None for the weekly job
    key: str = "schedule"  # where the cron line lives in sources.yaml


def job_specs(settings: Settings) -> list[JobSpec]:
    """Every source (enabled or not) plus the weekly run, in config order."""
    specs = [
        JobSpec(
            id=fetch_job_id(source.name),
            cron=source.schedule,
            what=f"fetch {source.kind}",
            enabled=source.enabled,
            source=source.name,
            key=f"sources[{i}].schedule",
        )
        for i, source in enumerate(settings.sources)
    ]
    email = "send email" if settings.email.send else "email off"
    specs.append(
        JobSpec(
            id=WEEKLY_JOB_ID,
            cron=settings.digest.schedule,
            what=f"fetch all, build week, site, {email}",
            enabled=True,
            key="digest.schedule",
        )
    )
    mails = {"off": "", "serious": ", correction email (serious)", "all": ", correction email"}
    specs.append(
        JobSpec(
            id=RECHECK_JOB_ID,
            cron=settings.recheck.schedule,
            what="re-check sent studies (Crossref, PubMed), banners, site"
            + mails[settings.recheck.email],
            enabled=settings.recheck.enabled,
            key="recheck.schedule",
        )
    )
    if settings.digest.review == "required" and settings.email.send:
        specs.append(
            JobSpec(
                id=REVIEW_JOB_ID,
                cron=settings.digest.review_check,
                what="remind staff before the review deadline; send once approved or due",
                enabled=True,
                key="digest.review_check",
            )
        )
    return specs


def trigger_of(spec: JobSpec, settings: Settings) -> CronTrigger:
    return crontab_trigger(spec.cron, zone_of(settings), key=spec.key)


@dataclass(frozen=True, slots=True)
class JobInfo:
    """A row of `digest schedule --list`."""

    id: str
    trigger: str  # the crontab line and its zone
    what: str
    next_run_time: datetime | None  # None when disabled
    enabled: bool = True


def describe_jobs(settings: Settings, now: datetime) -> list[JobInfo]:
    """The jobs `digest schedule` would run, with their next run after `now`."""
    rows = []
    for spec in job_specs(settings):
        trigger = trigger_of(spec, settings)
        next_run = trigger.get_next_fire_time(None, now) if spec.enabled else None
        rows.append(
            JobInfo(
                id=spec.id,
                trigger=f"{spec.cron} ({settings.timezone})",
                what=spec.what,
                next_run_time=next_run,
                enabled=spec.enabled,
            )
        )
    return rows


def format_job_list(jobs: Sequence[JobInfo]) -> str:
    """`digest schedule --list` as an aligned text table."""
    rows = [("JOB", "SCHEDULE", "NEXT RUN", "WHAT")]
    for job in jobs:
        when = f"{job.next_run_time:%Y-%m-%d %H:%M %Z}" if job.next_run_time else "disabled"
        rows.append((job.id, job.trigger, when, job.what))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    )


def next_fire_times(settings: Settings, now: datetime) -> dict[str, datetime]:
    """Next run per enabled source name, and under "weekly" the weekly run (`digest status`)."""
    out: dict[str, datetime] = {}
    for spec in job_specs(settings):
        if not spec.enabled:
            continue
        fire = trigger_of(spec, settings).get_next_fire_time(None, now)
        if fire is not None:
            out[spec.source or spec.id] = fire
    return out
