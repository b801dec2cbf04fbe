"""`digest check-claims` end to end: a file, stdin and a URL over loopback; both formats;
exit codes 0 / 1 / 2. The blog posts are the hand-made fixtures of tests/test_claims.py."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from digest.app.cli import main
from tests.conftest import ROOT

HANDMADE = ROOT / "tests" / "fixtures" / "handmade"
CONFIG = str(ROOT / "sources.yaml")


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", CONFIG, *args], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_an_overclaiming_post_is_flagged_with_line_numbers() -> None:
    code, out, _ = run("check-claims", str(HANDMADE / "handmade_blog_train.md"))
    assert code == 1
    assert "[absolute-safety] Acupuncture is completely safe" in out
    assert "This is guidance, not legal advice" in out


def test_json_lines_carry_the_documented_keys() -> None:
    code, out, _ = run("check-claims", "--format", "json", str(HANDMADE / "handmade_blog_train.md"))
    assert code == 1
    flags = [json.loads(line) for line in out.splitlines()]
    assert flags and all(
        set(f) >= {"text", "line", "rule", "why", "suggestion", "evidence"} for f in flags
    )
    assert all(isinstance(f["evidence"], list) for f in flags)


def test_measured_wording_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    measured = (  # hand-made measured sentences from the issue
        "Acupuncture may help some people.\nThe evidence is mixed.\n"
        "In trials, acupuncture reduced pain slightly more than sham.\n"
    )
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(measured.encode())))
    code, out, _ = run("check-claims", "-")
    assert code == 0, out


def test_a_url_is_fetched_through_the_http_client(replay: Any) -> None:
    post = (HANDMADE / "handmade_blog_train.html").read_text(encoding="utf-8")
    server = replay(
        [{"path": "/blog/post", "responses": [{"body": post, "content_type": "text/html"}]}]
    )
    code, out, _ = run("check-claims", f"{server.url}/blog/post")
    assert code == 1
    assert "[absolute-safety]" in out
    assert server.requests and server.requests[0].path.startswith("/blog/post")


def test_unreadable_input_is_exit_2(tmp_path: Path) -> None:
    binary = tmp_path / "handmade_binary.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    code, _, err = run("check-claims", str(binary))
    assert code == 2 and err.startswith("error:")
    code, _, err = run("check-claims", str(tmp_path / "missing.md"))
    assert code == 2 and "cannot read" in err
