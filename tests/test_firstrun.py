"""The first hour: init writes the starter config, config check masks secrets, read-only
commands never create a database, database URLs people paste are understood."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from digest.app.cli import main
from digest.app.firstrun import starter_text
from digest.errors import ConfigError
from digest.store.db import database_url, make_engine
from tests.conftest import ROOT


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_the_starter_is_the_shipped_sources_yaml() -> None:
    assert starter_text() == (ROOT / "sources.yaml").read_text(encoding="utf-8")


def test_init_without_a_config_says_what_to_do_and_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    code, _, err = run("--config", str(config), "init")
    assert code == 2
    assert "digest init --yes" in err and "--config" in err
    assert not config.exists() and not (tmp_path / "data").exists()


def test_init_yes_writes_the_starter_then_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIGEST_CONFIG", raising=False)
    monkeypatch.delenv("DIGEST_DATABASE_URL", raising=False)
    code, out, err = run("init", "--yes")
    assert code == 0, err
    assert (tmp_path / "sources.yaml").read_text(encoding="utf-8") == starter_text()
    assert (tmp_path / "data" / "digest.db").is_file()
    assert "wrote sources.yaml" in out
    code, _, err = run("init", "--yes")  # a second run keeps the file and migrates again
    assert code == 0, err


def test_config_check_masks_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NCBI_API_KEY", "s3cret-ncbi-key-value")
    monkeypatch.setenv("DIGEST_DATABASE_URL", "postgresql://alice:hunter22@db.example/digest")
    code, out, err = run("--config", str(ROOT / "sources.yaml"), "config", "check")
    assert code == 0, err
    assert "s3cret-ncbi-key-value" not in out and "hunter22" not in out
    assert "ncbi_api_key: '***'" in out
    assert "NCBI_API_KEY: set (***)" in out
    assert "valid" in err


def test_a_read_only_command_never_creates_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "digest.db"
    code, _, err = run(
        "--config", str(ROOT / "sources.yaml"), "--db", f"sqlite:///{missing}", "status"
    )
    assert code == 2
    assert "digest init" in err
    assert not missing.exists() and not missing.parent.exists()


def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    text_file = tmp_path / "notes.txt"  # hand-made: any non-SQLite file
    text_file.write_text("not a database\n")
    with pytest.raises(ConfigError, match="not a SQLite database"):
        make_engine(f"sqlite:///{text_file}", create=False)


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgres://u@h/db", "postgresql+psycopg2"),
        ("postgresql://u@h/db", "postgresql+psycopg2"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2"),
        ("sqlite:///data/digest.db", "sqlite"),
    ],
)
def test_database_urls_people_paste_are_mapped_to_the_driver(given: str, driver: str) -> None:
    assert database_url(given).drivername == driver


@pytest.mark.parametrize("given", ["mysql://root@localhost/test", "not a url at all"])
def test_unsupported_database_urls_list_what_is_supported(given: str) -> None:
    with pytest.raises(ConfigError, match="supported: sqlite:///PATH"):
        database_url(given)


def _write(tmp_path: Path, extra: str = "", source: str = "") -> Path:
    """A small hand-made config in its own folder."""
    config = tmp_path / "conf" / "sources.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        "database_url: sqlite:///data/digest.db\ncontact_email: digest@example.org\n"
        "topics: {interventions: [{slug: acupuncture, label: Acupuncture, terms: [acupuncture]}],"
        " conditions: [{slug: pain, label: Pain, terms: [pain]}]}\n"
        f"{extra}sources:\n{source or '  []'}\n"
    )
    return config


def test_a_duplicate_key_is_refused_with_both_lines(tmp_path: Path) -> None:
    config = _write(tmp_path, "timezone: UTC\ntimezone: Europe/London\n")
    code, _, err = run("--config", str(config), "config", "check")
    assert code == 2
    assert "duplicate key 'timezone' (first on line 4)" in err and "line 5" in err
    assert len(err.strip().splitlines()) == 1


def test_an_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    config = _write(tmp_path, "timezon: UTC\n")
    code, _, err = run("--config", str(config), "config", "check")
    assert code == 2 and "did you mean `timezone`?" in err


def test_paths_resolve_against_the_config_file_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _write(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("DIGEST_DATABASE_URL", raising=False)
    code, _, err = run("--config", str(config), "init", "--yes")
    assert code == 0, err
    assert (config.parent / "data" / "digest.db").is_file()
    assert not (elsewhere / "data").exists()


def test_offline_fails_fast_naming_dns_and_warns_about_the_placeholder_contact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = "  - {name: pm, kind: pubmed, query: acupuncture, base_url: 'http://nowhere.invalid'}"
    config = _write(tmp_path, source=source)
    assert run("--config", str(config), "init")[0] == 0
    started = time.monotonic()
    code, _, err = run("--config", str(config), "fetch")
    assert code == 1
    assert "cannot reach nowhere.invalid: the name does not resolve (DNS)" in err
    assert "check the network or proxy" in err
    assert time.monotonic() - started < 30  # no retry loop for a name that cannot resolve
    logged = capsys.readouterr().err  # the log handler writes to the process's stderr
    assert "retry" not in logged
    assert "contact_email is the placeholder digest@example.org" in logged


@pytest.mark.parametrize(
    "source",
    [
        "  - {name: j, kind: rss, url: www.liebertpub.com/feed}",
        "  - {name: n, kind: nccih, feeds: ['ftp://www.nccih.nih.gov/news/rss']}",
        "  - {name: m, kind: pubmed, query: x, base_url: 'localhost:8000'}",
    ],
)
def test_a_fetched_address_without_http_is_a_config_error(tmp_path: Path, source: str) -> None:
    code, _, err = run("--config", str(_write(tmp_path, source=source)), "config", "check")
    assert code == 2 and "not an http(s):// URL" in err
    assert len(err.strip().splitlines()) == 1
