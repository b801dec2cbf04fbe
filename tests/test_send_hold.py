"""A week in which no source could be searched is held, never mailed as a quiet week."""

from __future__ import annotations

import io
from pathlib import Path

from digest.app.cli import main
from digest.app.weekly import send_week
from digest.store.db import make_engine, migrate
from tests.conftest import make_settings

ENV = {"DIGEST_SECRET": "x" * 32, "DIGEST_SMTP_URL": "smtp://127.0.0.1:9"}  # nothing listens


def test_a_week_without_any_successful_fetch_is_held(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    engine = make_engine(url)
    migrate(engine)
    settings = make_settings(
        url, "  []", "email: {unsubscribe_url: 'https://digest.example.org/unsubscribe'}\n"
    )
    # the SMTP address is closed: were the send attempted, it would fail, not be held
    report = send_week(settings, engine, "2026-W46", env=ENV)
    assert report.held and not report.sent and not report.failed


def test_digest_send_says_the_week_is_held_and_fails(tmp_path: Path, monkeypatch: object) -> None:
    config = tmp_path / "sources.yaml"
    url = f"sqlite:///{tmp_path / 'd.db'}"
    text = (
        f"database_url: {url}\ncontact_email: test@clinic.example.org\n"
        "email: {unsubscribe_url: 'https://digest.example.org/unsubscribe'}\n"
        "topics: {interventions: [{slug: acupuncture, label: Acupuncture, terms: [acupuncture]}],"
        " conditions: [{slug: pain, label: Pain, terms: [pain]}]}\nsources: []\n"
    )
    config.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    assert main(["--config", str(config), "init"], out=out, err=err) == 0
    import os

    os.environ.update(ENV)
    try:
        code = main(["--config", str(config), "send", "--week", "2026-W46"], out=out, err=err)
    finally:
        for key in ENV:
            os.environ.pop(key, None)
    assert code == 1
    assert "send held" in err.getvalue() and "nothing was mailed" in err.getvalue()


def test_status_says_a_held_week_is_held(tmp_path: Path) -> None:
    from digest.app.status import held_weeks
    from digest.issue.assemble import assemble_week

    url = f"sqlite:///{tmp_path / 'd.db'}"
    engine = make_engine(url)
    migrate(engine)
    settings = make_settings(url, "  []")
    assemble_week(settings, engine, "2026-W46")  # a week without any fetch: held
    assert held_weeks(engine) == ["2026-W46"]
