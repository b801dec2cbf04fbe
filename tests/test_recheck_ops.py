"""The re-check as an operated job: `digest status` pages when it failed its last N runs,
`digest recheck` exits 1 when a source could not be asked (and stores nothing from it),
and a re-check missed while the scheduler was down runs once at start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session

from digest.app.schedule.catch_up import catch_up_reasons
from digest.store.db import make_engine
from digest.store.recheck_tables import RecheckRun
from tests.conftest import make_settings
from tests.test_cli import run, write_config

NOW = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def _runs(db: str, outcomes: list[str]) -> None:
    engine = make_engine(db)
    with Session(engine) as session:
        for age, outcome in enumerate(outcomes):
            started = NOW - timedelta(days=age)
            session.add(RecheckRun(started_at=started, finished_at=started, outcome=outcome))
        session.commit()
    engine.dispose()


def test_status_pages_when_the_recheck_failed_its_last_runs(tmp_path: Path) -> None:
    config = write_config(tmp_path, "  []")
    db = f"sqlite:///{tmp_path / 'd.db'}"
    assert run("--config", str(config), "init")[0] == 0
    _runs(db, ["failed", "failed"])
    code, out, _ = run("--config", str(config), "status")
    assert code == 0 and "ALARM" not in out  # two failures of three
    _runs(db, ["failed"])  # a third
    code, out, _ = run("--config", str(config), "status")
    assert code == 1 and "re-check: ALARM: failed its last 3 runs" in out
    assert "re-check: last ran" in out and ", failed," in out


def test_recheck_exits_1_naming_a_source_that_could_not_be_asked(
    tmp_path: Path, replay: Any
) -> None:
    # HAND-MADE: a Crossref answer of 503 on every try
    server = replay([{"path": "/works/10.5555/x", "responses": [{"status": 503, "body": "busy"}]}])
    config = write_config(tmp_path, "  []")
    config.write_text(
        config.read_text()
        + f"recheck: {{crossref_base_url: {server.url}, pubmed: false, europepmc: false}}\n"
        + f"digest: {{output_dir: {tmp_path / 'out'}}}\n"
    )
    assert run("--config", str(config), "init")[0] == 0
    code, _, err = run("--config", str(config), "recheck", "--doi", "10.5555/x")
    assert code == 1
    assert "HTTP 503" in err and "[recheck]" in err
    code, _, err = run("--config", str(config), "recheck", "--doi", "not a doi")
    assert code == 2 and "not a DOI" in err


def test_a_missed_recheck_runs_once_at_start() -> None:
    settings = make_settings("sqlite:///unused.db", "  []")

    def planned(last: datetime | None) -> list[tuple[str, str]]:
        reasons = catch_up_reasons(settings, {}, {"2026-W49"}, NOW, last_recheck=last)
        return [r for r in reasons if r[0] == "recheck"]

    assert planned(None) == []  # never run: the first one waits for its time
    assert planned(NOW - timedelta(hours=1)) == []  # 04:30 today's ran
    (due,) = planned(NOW - timedelta(days=2))  # this morning's was missed
    assert "2026-12-08 04:30" in due[1] and "was missed" in due[1]
