"""Which jobs to run once at start because their time passed while the scheduler was down.

Pure: the caller reads the run log (last fetch starts, built weeks) from the database.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta

from digest.app.schedule.jobs import (
    RECHECK_JOB_ID,
    WEEKLY_JOB_ID,
    job_specs,
    trigger_of,
    zone_of,
)
from digest.config import Settings
from digest.cron import crontab_trigger, previous_fire_time
from digest.weeks import last_complete_week

# A missed fetch is run if its missed time is at most this old ...
FETCH_CATCH_UP_GRACE = timedelta(days=7)
# ... and the missed weekly run if it is at most this old (the next one is due anyway).
WEEKLY_CATCH_UP_GRACE = timedelta(days=6)


def catch_up_reasons(
    settings: Settings,
    last_runs: Mapping[str, datetime | None],
    built_weeks: Collection[str],
    now: datetime,
    *,
    fetch_grace: timedelta = FETCH_CATCH_UP_GRACE,
    weekly_grace: timedelta = WEEKLY_CATCH_UP_GRACE,
    last_recheck: datetime | None = None,
) -> list[tuple[str, str]]:
    """(job id, why) for each job to run once at start; see `plan_catch_up`."""
    zone = zone_of(settings)
    local_now = now.astimezone(zone)
    week = last_complete_week(local_now.date())
    weekly_trigger = crontab_trigger(settings.digest.schedule, zone, key="digest.schedule")
    missed = previous_fire_time(weekly_trigger, local_now, weekly_grace)
    # the missed weekly fire must be the one that builds the week now due, not an older one
    if (
        missed is not None
        and week not in built_weeks
        and last_complete_week(missed.astimezone(zone).date()) == week
    ):
        return [(WEEKLY_JOB_ID, f"{week} has no digest; its run was due {missed:%Y-%m-%d %H:%M}")]
    out = []
    for spec in job_specs(settings):
        # the re-check is caught up only once it has run at all (the first one waits for
        # its time: the watch list of a new install is empty anyway)
        recheck = spec.id == RECHECK_JOB_ID and last_recheck is not None
        if (spec.source is None and not recheck) or not spec.enabled:
            continue
        missed = previous_fire_time(trigger_of(spec, settings), local_now, fetch_grace)
        last = last_recheck if recheck else last_runs.get(spec.source or "")
        if missed is not None and (last is None or last < missed):
            since = f"last run {last:%Y-%m-%d %H:%M %Z}" if last else "never run"
            out.append((spec.id, f"run due {missed:%Y-%m-%d %H:%M} was missed ({since})"))
    return out


def plan_catch_up(
    settings: Settings,
    last_runs: Mapping[str, datetime | None],
    built_weeks: Collection[str],
    now: datetime,
    *,
    fetch_grace: timedelta = FETCH_CATCH_UP_GRACE,
    weekly_grace: timedelta = WEEKLY_CATCH_UP_GRACE,
) -> list[str]:
    """Job ids to run once at start because their time passed while we were down.

    * weekly: the last complete ISO week (in the configured zone) has no digest, and the
      weekly trigger's most recent fire time, the one meant to build that week, is past
      and at most `weekly_grace` old. Once, however many weeks were missed: older weeks
      are built by hand (`digest build --week`). The weekly run fetches every source
      first, so when it is planned no separate fetch is.
    * fetch:<name>: each enabled source whose last run (`last_runs`, FetchRun.started_at)
      began before its trigger's most recent fire time, that fire time being at most
      `fetch_grace` old. Once per source, however many runs were missed.
    """
    reasons = catch_up_reasons(
        settings, last_runs, built_weeks, now, fetch_grace=fetch_grace, weekly_grace=weekly_grace
    )
    return [job_id for job_id, _ in reasons]
