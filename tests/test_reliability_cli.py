"""Issue 17, command side: CSV export neutralises formulas; bad input files, URLs and
folders are one-line errors (exit 2), never tracebacks; `digest serve` survives hostile
clients.

Bad inputs are HAND-MADE in the tests (named handmade_*).
"""

from __future__ import annotations

import csv
import http.client
import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from digest.app.cli import main
from digest.app.export import CSV_COLUMNS, to_csv
from tests.conftest import MINIMAL_TOPICS


def run(config: Path | None, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    prefix = ["--config", str(config)] if config else []
    code = main([*prefix, *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


# ------------------------------------------------------------------ 8. CSV injection


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_handmade_formula_cells_are_neutralised_in_csv(start: str) -> None:
    item: dict[str, Any] = {c: None for c in CSV_COLUMNS}
    item.update(
        slug="pmid-1",
        title=f'{start}HYPERLINK("https://evil.example","x")',
        journal=f"{start}1+1",
        conditions=[f"{start}cmd|' /C calc'!A0"],
        sample_size=120,
        records=[{"source": "import", "source_id": "x"}],
    )
    rows = list(csv.DictReader(io.StringIO(to_csv([item]), newline="")))
    shown = "\n" if start == "\r" else start  # a CR inside a cell is written as LF (quoted)
    assert len(rows) == 1
    assert rows[0]["title"].startswith("'" + shown)
    assert rows[0]["journal"] == f"'{shown}1+1"
    assert rows[0]["conditions"].startswith("'" + shown)
    assert rows[0]["sample_size"] == "120"  # numbers stay numbers
    assert rows[0]["slug"] == "pmid-1"


# ------------------------------------------------------------------ 15. one-line errors


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"database_url: sqlite:///{tmp_path / 'digest.db'}\ncontact_email: t@example.org\n"
        f"{MINIMAL_TOPICS}\nsources: []\n"
    )
    assert run(path, "init")[0] == 0
    return path


def assert_one_line_usage_error(code: int, err: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err


def test_handmade_deep_yaml_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert_one_line_usage_error(*run(path, "status")[::2])


def test_handmade_non_utf8_config_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("contact_email: caf\u00e9@example.org\n".encode("latin-1"))
    assert_one_line_usage_error(*run(path, "status")[::2])


def test_handmade_base_url_without_scheme_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "noscheme.yaml"
    path.write_text(
        f"contact_email: t@example.org\n{MINIMAL_TOPICS}\nsources:\n"
        "  - name: pm\n    kind: pubmed\n    query: x\n    base_url: localhost:8080/eutils\n"
    )
    code, _, err = run(path, "fetch")
    assert_one_line_usage_error(code, err)
    assert "base_url" in err


@pytest.mark.parametrize("kind", ["mysql", "not-a-database"])
def test_handmade_bad_db_is_a_one_line_error(config: Path, tmp_path: Path, kind: str) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is a text file, not SQLite\n" * 10)
    url = "mysql://u@127.0.0.1/digest" if kind == "mysql" else f"sqlite:///{junk}"
    code, _, err = run(config, "--db", url, "status")
    assert_one_line_usage_error(code, err)


def test_handmade_binary_subscriber_csv_is_a_one_line_error(config: Path, tmp_path: Path) -> None:
    path = tmp_path / "subscribers.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    assert_one_line_usage_error(*run(config, "subscribers", "import", str(path))[::2])
    path.write_bytes(b"email\nnul\x00@example.org\n")
    assert_one_line_usage_error(*run(config, "subscribers", "import", str(path))[::2])


def test_export_into_a_missing_folder_is_a_one_line_error(config: Path, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "out.csv"
    assert_one_line_usage_error(*run(config, "export", "-o", str(target))[::2])


def test_serve_on_a_busy_port_is_a_one_line_error(config: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html></html>")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = run(config, "serve", "--dir", str(site), "--port", str(port))
    assert_one_line_usage_error(code, err)


# ------------------------------------------------------------------ 17. serve


@pytest.fixture
def served(tmp_path: Path) -> Iterator[int]:
    from digest.app import serve as serve_module

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html>home</html>")
    ready: list[str] = []
    original = serve_module.CLIENT_TIMEOUT
    serve_module.CLIENT_TIMEOUT = 1.0
    serve_module._Quiet.timeout = 1.0
    thread = threading.Thread(
        target=serve_module.serve,
        args=(site, "127.0.0.1", 0),
        kwargs={"ready": ready.append},
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + 5
    while not ready and time.monotonic() < deadline:
        time.sleep(0.05)
    yield int(ready[0].rsplit(":", 1)[1].strip("/"))
    serve_module.CLIENT_TIMEOUT = original
    serve_module._Quiet.timeout = original


def get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read()


def test_handmade_nul_in_the_path_is_a_404_not_a_500(served: int) -> None:
    assert get(served, "/%00")[0] == 404
    assert get(served, "/studies/%00/index.html")[0] == 404
    assert get(served, "/") == (200, b"<html>home</html>")


def test_a_client_that_never_sends_its_request_blocks_nobody(served: int) -> None:
    stuck = socket.create_connection(("127.0.0.1", served))
    stuck.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")  # no body
    started = time.monotonic()
    assert get(served, "/")[0] == 200  # served while the other one hangs
    assert time.monotonic() - started < 2
    stuck.settimeout(5)
    assert stuck.recv(1024) is not None  # the server dropped it after its timeout
    stuck.close()
