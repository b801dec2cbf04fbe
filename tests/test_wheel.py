"""The built wheel carries everything the demo and a first setup need.

The wheel is built from this checkout and installed (without its dependencies, which are
borrowed from the test environment) into a fresh virtual environment; `digest` then runs
from an empty folder, as a clinic's helper would after `pip install` or `pipx install`.
`.ci/run` also installs the wheel with its dependencies from the index.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `bin/` folder of a fresh venv holding only the built wheel."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [wheel] = work.glob("digest-*.whl")
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    # dependencies come from the test environment, after the venv's own site-packages, so
    # `digest` itself is the wheel's copy and never this checkout's
    [purelib] = (env_dir / "lib").glob("python3.*/site-packages")
    (purelib / "borrowed-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return bin_dir


def _run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [str(bin_dir / "digest"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_wheel_runs_the_demo_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    where = installed.parent / "lib"
    done = _run(installed, tmp_path, "demo", "--out", "demo-out")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "demo-out" / "site" / "index.html").is_file()
    assert any((tmp_path / "demo-out" / "emails").rglob("*.eml"))
    # the recordings were read from the installed package, not from this checkout
    assert str(where) in done.stdout and str(ROOT) not in done.stdout


def test_the_wheel_writes_a_starter_config_and_initialises(installed: Path, tmp_path: Path) -> None:
    done = _run(installed, tmp_path, "init", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    starter = (tmp_path / "sources.yaml").read_text(encoding="utf-8")
    assert "topics:" in starter and "sources:" in starter
    assert (tmp_path / "data" / "digest.db").is_file()
    check = _run(installed, tmp_path, "config", "check")
    assert check.returncode == 0, check.stdout + check.stderr
