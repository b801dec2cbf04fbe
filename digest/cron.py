"""Crontab lines as APScheduler 3.x triggers: the one definition of a valid `schedule:`.

Pure (no I/O): `digest.config` checks every `schedule:` with `check_crontab` when the
config is loaded, and the scheduler builds its triggers with `crontab_trigger`, so a line
the scheduler would refuse or misread never gets past the config.

* sources.yaml schedules are standard 5-field crontab lines. APScheduler 3.x numbers
  weekdays from Monday=0, crontab from Sunday=0, so numeric day-of-week fields are
  translated to names (`crontab_day_of_week`).
* Crontab ORs a restricted day-of-month with a restricted day-of-week, APScheduler ANDs
  them, so a line restricting both is refused rather than silently run on other days.
* APScheduler checks the ranges (`99 77 * * *` is refused: minute 99, hour 77).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from digest.errors import ConfigError

_CRON_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")  # crontab 0..7
_UTC = ZoneInfo("UTC")


def _crontab_weekdays(token: str) -> list[str] | None:
    """Names for one numeric crontab day-of-week token (`1-5`, `*/2`, `0`), else None."""
    base, _, step_text = token.partition("/")
    if not any(ch.isdigit() for ch in base) and not (base == "*" and step_text):
        return None  # names (`mon-fri`) and plain `*` mean the same to APScheduler
    step = int(step_text) if step_text else 1
    if base == "*":
        first, last = 0, 6
    elif "-" in base:
        low, high = base.split("-", 1)
        first, last = int(low), int(high)
    else:
        first = int(base)
        last = 7 if step_text else first
    if not (0 <= first <= last <= 7) or step < 1:
        raise ValueError(f"day of week out of range 0-7: {token!r}")
    return [_CRON_DAY_NAMES[day] for day in range(first, last + 1, step)]


def crontab_day_of_week(field_text: str) -> str:
    """A crontab day-of-week field (Sunday = 0 or 7) as APScheduler 3.x reads it."""
    names: list[str] = []
    for token in field_text.split(","):
        converted = _crontab_weekdays(token)
        names.extend(converted if converted is not None else [token])
    return ",".join(dict.fromkeys(names))  # de-duplicated, order kept


def parse_crontab(expr: str, timezone: ZoneInfo = _UTC) -> CronTrigger:
    """A CronTrigger for a 5-field crontab line; ValueError says what is wrong with it."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"not a 5-field crontab expression: {expr!r}")
    if fields[2] != "*" and fields[4] != "*":
        raise ValueError(
            f"{expr!r} restricts both day of month and day of week; crontab runs on either, "
            "this scheduler only on days matching both: use one of the two"
        )
    try:
        fields[4] = crontab_day_of_week(fields[4])
        return CronTrigger.from_crontab(" ".join(fields), timezone=timezone)
    except ValueError as exc:
        raise ValueError(f"bad crontab expression {expr!r}: {exc}") from exc


def check_crontab(expr: str) -> str:
    """`expr` unchanged if the scheduler can run it, else ValueError (a pydantic validator)."""
    parse_crontab(expr)
    return expr


def crontab_trigger(expr: str, timezone: ZoneInfo, key: str = "schedule") -> CronTrigger:
    """`parse_crontab`, with a failure as a ConfigError naming the sources.yaml key."""
    try:
        return parse_crontab(expr, timezone)
    except ValueError as exc:
        raise ConfigError(str(exc), key=key) from exc


def previous_fire_time(trigger: CronTrigger, now: datetime, horizon: timedelta) -> datetime | None:
    """The trigger's most recent fire time at or before `now`, looking back `horizon` at most.

    APScheduler 3.x only computes forward, so look back over doubling windows until one
    holds a fire time, then walk forward to the last one before `now`.
    """
    span = timedelta(minutes=1)
    while True:
        window = min(span, horizon)
        fire: datetime | None = trigger.get_next_fire_time(None, now - window)
        if fire is not None and fire <= now:
            while True:
                following: datetime | None = trigger.get_next_fire_time(
                    None, fire + timedelta(seconds=1)
                )
                if following is None or following > now:
                    return fire
                fire = following
        if window >= horizon:
            return None
        span *= 2
