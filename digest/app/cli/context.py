"""What every command handler gets: parsed args, output streams, settings and engine."""

from __future__ import annotations

import argparse
import os
from datetime import date
from pathlib import Path
from typing import TextIO

from sqlalchemy.engine import Engine, make_url

from digest.app.operations import local_today
from digest.config import DEFAULT_CONFIG_PATH, Settings, load_settings
from digest.model import utcnow
from digest.store.db import check_current, make_engine


class Context:
    """Lazily loaded settings and engine for one command invocation."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.args = args
        self.out = out
        self.err = err
        self._settings: Settings | None = None
        self._engine: Engine | None = None

    @property
    def config_path(self) -> Path:
        """--config, else $DIGEST_CONFIG, else sources.yaml (what jobs re-read later)."""
        return Path(self.args.config or os.environ.get("DIGEST_CONFIG", DEFAULT_CONFIG_PATH))

    @property
    def config_was_named(self) -> bool:
        """True when --config or $DIGEST_CONFIG chose the file (so a missing one is an error)."""
        return bool(self.args.config or os.environ.get("DIGEST_CONFIG"))

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            settings = load_settings(self.config_path)
            if self.args.db:
                settings = settings.model_copy(update={"database_url": self.args.db})
            self._settings = settings
        return self._settings

    def engine(self, *, create: bool = False) -> Engine:
        """The database engine; only `create=True` (digest init) may make a new database,
        every other command refuses a missing one instead of leaving an empty file."""
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url, create=create)
            if not create:
                check_current(self._engine)
        return self._engine

    def today(self) -> date:
        """Today in the configured zone."""
        return local_today(self.settings, utcnow())

    def progress(self, message: str) -> None:
        if self.err.isatty() or self.args.verbose:
            print(message, file=self.err, flush=True)


def safe_url(url: str) -> str:
    """A database URL fit to print: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)
