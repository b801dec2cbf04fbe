"""The `digest` command end to end: help, exit codes, errors, and the fetch path over HTTP."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from digest.app import operations
from digest.app.cli import build_parser, main
from digest.app.cli.main import resolve_handler
from digest.app.operations import WeeklyResult
from tests.conftest import CORPUS, MINIMAL_TOPICS, ROOT

EFETCH_DIR = CORPUS / "pubmed-efetch"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)  # type: ignore[arg-type]


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in subcommands():
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args([name, "--help"])
        assert exit_info.value.code == 0
        assert f"digest {name}" in readme, f"README does not document `digest {name}`"


def test_every_command_names_a_handler_that_exists() -> None:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    for name, command in action.choices.items():  # type: ignore[union-attr]
        groups = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
        # a command group ("config check") names its handlers on its subcommands
        commands = (
            [(f"{name}_{sub}", p) for g in groups for sub, p in g.choices.items()]
            if groups
            else [(name, command)]
        )
        for full_name, parser_ in commands:
            handler = resolve_handler(parser_.get_default("handler"))
            assert callable(handler), full_name
            assert handler.__name__ == f"cmd_{full_name.replace('-', '_')}", full_name


def test_help_and_usage_errors_do_not_load_the_database_stack() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from digest.app.cli import main\n"
        "with contextlib.redirect_stderr(io.StringIO()):\n"
        "    main(['frobnicate'])\n"
        "heavy = {'sqlalchemy', 'sqlmodel', 'lxml', 'apscheduler', 'digest.app.operations'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "[]"


def test_python_dash_m_digest_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "digest", "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0 and done.stdout.strip().startswith("digest ")


def test_unknown_command_is_a_usage_error() -> None:
    code, _, _ = run("frobnicate")
    assert code == 2


def test_parse_pubmed_prints_one_json_record_a_line() -> None:
    path = EFETCH_DIR / "hawc_efetch_6_science_breast_cancer.xml"
    code, out, _ = run("parse", "pubmed", str(path))
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 6
    assert list(records[0])[:3] == ["source", "source_id", "pmid"]
    assert all(r["pmid"] == r["source_id"] for r in records)


@pytest.mark.parametrize(
    "kind, path",
    [
        ("clinicaltrials", "clinicaltrials/biomcp_v2_search_phelan_page1_fields.json"),
        ("europepmc", "europepmc/pyeuropepmc_search_cancer_core_25.json"),
        ("clinicaltrials-legacy", "acupuncture/clinicaltrials-legacy-xml/NCT01570127.xml"),
    ],
)
def test_parse_other_kinds(kind: str, path: str) -> None:
    code, out, _ = run("parse", kind, str(CORPUS / path))
    assert code == 0 and out.strip()
    assert all(json.loads(line)["source_id"] for line in out.splitlines())


def test_parse_a_truncated_file_is_a_one_line_error(tmp_path: Path) -> None:
    cut = tmp_path / "cut.xml"  # HAND-MADE: the first 5 kB of a genuine efetch file
    cut.write_bytes((EFETCH_DIR / "hawc_efetch_20_articles.xml").read_bytes()[:5000])
    code, out, err = run("parse", "pubmed", str(cut))
    assert code == 1 and out == ""
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "truncated" in err or "malformed" in err


def test_unknown_kind_and_missing_file_are_usage_errors(tmp_path: Path) -> None:
    assert run("parse", "nosuchkind", str(EFETCH_DIR / "hawc_efetch_20_articles.xml"))[0] == 2
    assert run("parse", "pubmed", str(tmp_path / "absent.xml"))[0] == 2


def write_config(tmp_path: Path, sources: str, db: str | None = None) -> Path:
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"database_url: {db or 'sqlite:///' + str(tmp_path / 'd.db')}\n"
        "contact_email: test@example.org\n"
        "http: {max_retries: 0, default_rate_limit: 1000, rate_limits: {}}\n"
        f"{MINIMAL_TOPICS}\nsources:\n{sources}\n"
    )
    return config


def test_bad_config_names_the_key_and_exits_2(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, "  - name: x\n    kind: pubmed\n    query: q\n    backfill_days: -1\n"
    )
    code, _, err = run("--config", str(config), "init")
    assert code == 2
    assert "sources[0].backfill_days" in err and "sources.yaml:" in err


def test_commands_before_init_say_so(tmp_path: Path) -> None:
    config = write_config(tmp_path, "  []")
    code, _, err = run("--config", str(config), "status")
    assert code == 2 and "digest init" in err  # a setup mistake: usage/config exit code


def test_fetch_over_http_then_status(tmp_path: Path, replay: Any) -> None:
    server = replay(
        [
            {
                "path": "/entrez/eutils/esearch.fcgi",
                "responses": [{"file": "pubmed-esearch/hawc_esearch_259_ids_complex_query.xml"}],
            },
            {
                "path": "/entrez/eutils/efetch.fcgi",
                "responses": [{"file": "pubmed-efetch/hawc_efetch_259_phthalates_liver.xml"}],
            },
        ]
    )
    config = write_config(
        tmp_path,
        (
            f"  - name: good\n    kind: pubmed\n    query: q\n"
            f"    base_url: {server.url}/entrez/eutils\n"
            "  - name: bad\n    kind: pubmed\n    query: q\n"
            "    base_url: http://127.0.0.1:9/entrez/eutils\n"
        ),
    )
    assert run("--config", str(config), "init")[0] == 0

    code, out, err = run("--config", str(config), "fetch")

    assert code == 1  # one source failed, the other still ran
    lines = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert lines["good"][1] == "ok" and lines["good"][3] == "259"
    assert lines["bad"][1] == "failed"
    assert "[bad]" in err
    code, out, _ = run("--config", str(config), "status", "--fail-after", "1")
    assert code == 1 and "ALARM" in out
    code, out, _ = run("--config", str(config), "status", "--fail-after", "2")
    assert code == 0
    code, out, _ = run("--config", str(config), "fetch", "--source", "good")
    assert code == 0


def test_import_export_roundtrip(tmp_path: Path) -> None:
    config = write_config(tmp_path, "  []")
    assert run("--config", str(config), "init")[0] == 0
    code, out, _ = run(
        "--config",
        str(config),
        "import",
        str(CORPUS / "acupuncture/clinicaltrials-legacy-xml/NCT02399969.xml"),
    )
    assert code == 0 and "1 new" in out
    code, out, _ = run("--config", str(config), "export", "--format", "jsonl")
    assert code == 0
    study = json.loads(out.splitlines()[0])
    assert study["slug"] == "nct-nct02399969"
    assert study["design"] == "trial-registration"
    assert study["records"][0]["source"] == "clinicaltrials"
    assert ["nct", "NCT02399969"] in study["identifiers"]
    code, out, _ = run("--config", str(config), "export", "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("slug,primary_id,title")


def test_subscribers_add_list_remove_erase(tmp_path: Path) -> None:
    config = write_config(tmp_path, "  []")
    assert run("--config", str(config), "init")[0] == 0
    assert (
        run(
            "--config",
            str(config),
            "subscribers",
            "add",
            "Reader@Example.org",
            "--name",
            "A Reader",
        )[1]
        == "reader@example.org: added\n"
    )
    assert run("--config", str(config), "subscribers", "add", "not-an-address")[0] == 1
    csv = tmp_path / "list.csv"
    csv.write_text("email,name\nsecond@example.org,Second\nbroken\n")
    _, out, err = run("--config", str(config), "subscribers", "import", str(csv))
    assert "added 1" in out and "invalid 1" in out and "line 3" in err
    assert run("--config", str(config), "subscribers", "remove", "second@example.org")[0] == 0
    listed = run("--config", str(config), "subscribers", "list", "--all")[1]
    assert "second@example.org\tSecond\tunsubscribed" in listed
    out = run("--config", str(config), "subscribers", "remove", "second@example.org", "--erase")[1]
    assert out.strip() == "second@example.org: erased"
    assert (
        "second@example.org" not in run("--config", str(config), "subscribers", "list", "--all")[1]
    )


@pytest.mark.parametrize(
    ("argv", "operation", "result"),
    [
        (["fetch", "--source", "pm"], "run_fetch", []),
        (["import", "x.jsonl"], "run_import", []),
        (["reclassify"], "run_reclassify", SimpleNamespace(reclassified=0, studies=0)),
        (["build", "--week", "2026-W47"], "run_build", []),
        (["site"], "run_site", []),
        (
            ["send", "--week", "2026-W47"],
            "run_send",
            SimpleNamespace(
                sent=[], already_sent=[], failed=[], written=[], unconfirmed=[], held=None
            ),
        ),
        (["run", "--week", "2026-W47"], "run_weekly", WeeklyResult(week="2026-W47")),
    ],
)
def test_commands_that_run_a_job_go_through_operations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], operation: str, result: Any
) -> None:
    config = write_config(tmp_path, "  - name: pm\n    kind: pubmed\n    query: q\n")
    assert run("--config", str(config), "init")[0] == 0
    calls: list[tuple[Any, ...]] = []

    def fake(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return result

    monkeypatch.setattr(operations, operation, fake)
    code, _, err = run("--config", str(config), *argv)
    assert code == 0, err
    [(settings, engine, *_)] = calls
    assert settings.sources[0].name == "pm" and str(engine.url).endswith("d.db")


def test_parse_help_lists_exactly_the_registry() -> None:
    from digest.app.cli.parsers import PARSE_KINDS
    from digest.sources import IMPORT_FORMATS, KINDS

    assert sorted(PARSE_KINDS) == sorted([*KINDS, *IMPORT_FORMATS])


def test_parse_with_a_context_gives_the_stored_record(tmp_path: Path) -> None:
    page = ROOT / "digest" / "recordings" / "nccih" / "handmade_nccih_lowback_v1.html"
    context = (
        '{"url": "https://www.nccih.nih.gov/health/low-back-pain", "design": "patient-information"}'
    )
    code, out, err = run("parse", "nccih", str(page), "--context", context)
    assert code == 0, err
    [line] = out.splitlines()
    assert '"url": "https://www.nccih.nih.gov/health/low-back-pain"' in line
