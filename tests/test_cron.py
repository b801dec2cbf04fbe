"""digest.cron: one crontab parser for the config check and the scheduler's triggers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digest.config import load_settings
from digest.cron import check_crontab, crontab_trigger, parse_crontab
from digest.errors import ConfigError
from tests.conftest import make_settings

PUBMED = "  - name: pm\n    kind: pubmed\n    query: acupuncture\n"


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("99 77 * * *", "higher than the maximum"),
        ("0 6 * *", "not a 5-field"),
        ("0 6 1 * mon", "both day of month and day of week"),
        ("0 6 * * 8", "out of range"),
        ("0 6 * * frobday", "bad crontab"),
    ],
)
def test_a_source_schedule_the_scheduler_cannot_run_is_refused_at_load(
    expr: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem) as refused:
        make_settings("sqlite://", PUBMED + f'    schedule: "{expr}"\n')
    assert refused.value.key == "sources[0].schedule"


def test_a_bad_weekly_schedule_names_its_key_and_line(tmp_path: Path) -> None:
    good = make_settings("sqlite://", PUBMED)  # the same YAML, then a bad weekly line
    assert good.digest.schedule == "0 6 * * mon"
    config = tmp_path / "sources.yaml"
    config.write_text(
        "contact_email: test@example.org\n"
        "digest:\n  schedule: '99 77 * * *'\n"
        "topics:\n  interventions: [{slug: acupuncture, label: Acupuncture}]\n"
        "  conditions: []\n  require_condition: false\n"
        f"sources:\n{PUBMED}",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as refused:
        load_settings(config, env={})
    assert refused.value.key == "digest.schedule"
    assert f"{config}:3:" in str(refused.value)  # the YAML line of the bad value


def test_valid_lines_pass_unchanged_and_weekdays_use_crontab_numbering() -> None:
    assert check_crontab("*/15 5-7 * * 1-5") == "*/15 5-7 * * 1-5"
    zone = ZoneInfo("Europe/London")
    sunday = crontab_trigger("0 6 * * 0", zone)  # crontab 0 = Sunday (APScheduler: Monday)
    fire = sunday.get_next_fire_time(None, datetime(2026, 11, 25, tzinfo=zone))
    assert fire == datetime(2026, 11, 29, 6, 0, tzinfo=zone)
    assert fire.strftime("%a") == "Sun"
    assert parse_crontab("0 6 * * 7").get_next_fire_time(
        None, datetime(2026, 11, 25, tzinfo=ZoneInfo("UTC"))
    ) == datetime(2026, 11, 29, 6, 0, tzinfo=ZoneInfo("UTC"))
