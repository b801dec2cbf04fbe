"""`digest demo`: the whole pipeline offline, on bundled recordings served over loopback.

It starts the replay server on 127.0.0.1, points every demo source's base_url at it, and
runs init -> fetch -> import -> build -> site -> send --dry-run into the output folder,
through exactly the code a real run uses. The recordings are genuine payloads of each
source (mostly not about acupuncture: no public recording of acupuncture results exists)
plus hand-made feeds/pages where no genuine one could be found; see digest/recordings/.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import yaml
from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.app import operations
from digest.app.replay import ReplayServer, load_manifest
from digest.app.report import print_fetch_table
from digest.config import Settings, load_settings
from digest.desk.auth import add_staff
from digest.errors import ConfigError
from digest.sources import KINDS
from digest.store.db import make_engine, migrate
from digest.store.deliveries import add_subscriber
from digest.weeks import week_of

# The recordings ship inside the package (a wheel carries them), read as package data.
REPLAY_DIR = Path(
    os.environ.get("DIGEST_REPLAY_DIR") or str(resources.files("digest").joinpath("recordings"))
)
# Where each kind's real API lives below the replay server's root (declared by each kind).
API_PATHS = {
    name: kind.traits.demo_api_path for name, kind in KINDS.items() if kind.traits.demo_api_path
}
DEMO_SUBSCRIBER = "reader@example.org"
DEMO_SECRET = "demo-only-secret-never-use-in-production"
DEMO_STAFF = "demo"
DEMO_DESK_PORT = 8081


def demo_settings(base: Settings, server_url: str, out_dir: Path) -> tuple[Settings, list[Path]]:
    """The main settings with the demo sources, pointed at the replay server."""
    spec_path = REPLAY_DIR / "demo-sources.yaml"
    try:
        spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {spec_path}: {exc}") from exc
    sources: list[dict[str, Any]] = []
    for source in spec["sources"]:
        sources.append(
            {**source, "base_url": server_url + API_PATHS.get(source["kind"], ""), "enabled": True}
        )
    data = base.model_dump()
    data.update(
        database_url=f"sqlite:///{(out_dir / 'digest.db').resolve()}",
        sources=sources,
        digest={**data["digest"], "output_dir": str(out_dir)},
    )
    imports = [REPLAY_DIR / name for name in spec.get("imports", [])]
    return Settings.model_validate(data), imports


def print_desk_instructions(
    engine: Engine, config_path: Path, out_dir: Path, week: str, out: TextIO
) -> str:
    """Make (or reset) the demo staff account with a fresh password, printed here once
    and stored only as its argon2 hash; returns the password."""
    password = secrets.token_urlsafe(15)
    with Session(engine) as session:
        add_staff(session, DEMO_STAFF, password, actor="demo")
        session.commit()
    secret = "" if os.environ.get("DIGEST_SECRET") else f"DIGEST_SECRET={DEMO_SECRET} "
    database = f"sqlite:///{(out_dir / 'digest.db').resolve()}"
    print("staff desk (triage this week, write a note, approve):", file=out)
    print(
        f"  {secret}digest --config {config_path} --db {database} desk --port {DEMO_DESK_PORT} "
        f"--public-url http://127.0.0.1:{DEMO_DESK_PORT}",
        file=out,
    )
    print(f"  then open http://127.0.0.1:{DEMO_DESK_PORT}/desk/weeks/{week}", file=out)
    print(
        f"  and sign in as {DEMO_STAFF!r} with the password {password}  (shown only now; "
        f"`digest staff add {DEMO_STAFF}` sets a new one)",
        file=out,
    )
    return password


def run_demo(config_path: Path, out_dir: Path, out: TextIO, progress: Callable[[str], None]) -> int:
    """init -> fetch -> import -> build -> site -> send --dry-run, through digest.app.operations."""
    base = load_settings(config_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "digest.db").unlink(missing_ok=True)
    routes = load_manifest(REPLAY_DIR / "manifest.yaml")
    with ReplayServer(routes, REPLAY_DIR) as server:
        settings, imports = demo_settings(base, server.url, out_dir)
        print(f"replay server: {server.url} (recordings in {REPLAY_DIR})", file=out)
        engine = make_engine(settings.database_url)
        migrate(engine)
        results = operations.run_fetch(settings, engine, progress=progress)
        print_fetch_table(results, out)
        for result in results:
            if result.error:
                print(f"error: {result.error}", file=out)
        imported = operations.run_import(settings, engine, imports, announce=True)
        print(
            f"imported {sum(s.new + s.unchanged for _, s in imported)} record(s) from "
            f"{len(imported)} file(s) of genuine acupuncture trial registrations",
            file=out,
        )
        print(f"requests answered by the replay server: {len(server.requests)}", file=out)
    week = week_of(datetime.now(UTC))
    written = operations.run_build(settings, engine, week=week, out_dir=out_dir)
    written += operations.run_site(settings, engine, out_dir=out_dir / "site")
    with Session(engine) as session:
        add_subscriber(session, DEMO_SUBSCRIBER, "Demo Reader")
        session.commit()
    # A demo-only signing key unless one is set: dry-run links must still be signed.
    env = {"DIGEST_SECRET": DEMO_SECRET, **os.environ}
    report = operations.run_send(settings, engine, week, dry_run=out_dir / "emails", env=env)
    emails = len(report.written)
    print(f"digest for {week} (the current, partial week: the recordings arrived today):", file=out)
    for path in written:
        if path.suffix in {".md", ".txt", ".html"} and "digests" in path.parts[-3:]:
            print(f"  {path}", file=out)
    print(
        f"site: {out_dir / 'site' / 'index.html'}  (preview: digest serve --dir "
        f"{out_dir / 'site'})",
        file=out,
    )
    print(f"dry-run emails: {emails} file(s) in {out_dir / 'emails'}", file=out)
    print(f"database: {out_dir / 'digest.db'}", file=out)
    print_desk_instructions(engine, config_path, out_dir, week, out)
    return 1 if any(r.failed for r in results) else 0
