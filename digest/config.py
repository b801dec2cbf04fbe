"""sources.yaml -> validated settings. Secrets come from the environment only.

Errors name the key path and, where the YAML tells us, the line: `sources[2].kind (line 41)`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from digest.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("sources.yaml")
DEFAULT_DATABASE_URL = "sqlite:///data/digest.db"

_CRON_FIELD = re.compile(r"^[\w*/,\-]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_http_url(value: str | None) -> str | None:
    if value is not None and not re.match(r"^https?://[^/\s]+", value, re.IGNORECASE):
        raise ValueError(f"not an http(s):// URL: {value!r}")
    return value


def _check_cron(value: str) -> str:
    fields = value.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise ValueError(f"not a 5-field crontab expression: {value!r}")
    return value


class Topic(_Strict):
    """A condition or an intervention of the clinic's topic model."""

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    label: str
    mesh: list[str] = []
    terms: list[str] = []
    # phrases that look like this topic but are not (e.g. "acupuncture-like TENS")
    exclude_terms: list[str] = []
    # a catch-all (e.g. "acupuncture, unspecified") that gives way to a more specific topic
    umbrella: bool = False


class TopicModel(_Strict):
    interventions: list[Topic]
    conditions: list[Topic]
    # in scope = an intervention of this model AND (if required) a condition of it
    require_condition: bool = True

    @model_validator(mode="after")
    def _unique_slugs(self) -> TopicModel:
        for group in ("interventions", "conditions"):
            slugs = [t.slug for t in getattr(self, group)]
            dupes = sorted({s for s in slugs if slugs.count(s) > 1})
            if dupes:
                raise ValueError(f"{group}: duplicate slug(s) {', '.join(dupes)}")
        return self


class _SourceBase(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    enabled: bool = True
    schedule: str = "0 5 * * *"
    base_url: str | None = None  # point the same code at a mirror or a recording
    # hosts a redirect may lead to besides the source's own origin (same-origin otherwise)
    allow_redirects_to: list[str] = []

    _cron = field_validator("schedule")(_check_cron)
    _base_url = field_validator("base_url")(_check_http_url)


class PubmedSource(_SourceBase):
    kind: Literal["pubmed"]
    query: str
    backfill_days: int = Field(default=30, ge=1)
    batch_size: int = Field(default=200, ge=1, le=10_000)
    max_window_hits: int = Field(default=9_999, ge=1, le=9_999)
    # also re-fetch articles of the query modified in the window (retractions, errata)
    refetch_updated: bool = True


class PubmedRssSource(_SourceBase):
    kind: Literal["pubmed_rss"]
    url: str
    enrich: bool = False  # fetch the feed's PMIDs through E-utilities for full records
    eutils_base_url: str | None = None  # E-utilities mirror/replay for enrichment


class RssSource(_SourceBase):
    kind: Literal["rss"]
    url: str


class NccihPage(_Strict):
    url: str
    design: Literal["guideline", "review"] = "review"
    # CSS selectors tried in order for the main content (unverified against live pages)
    main_selectors: list[str] = ["main", "article", "#main-content", "[role=main]"]


class NccihSource(_SourceBase):
    kind: Literal["nccih"]
    feeds: list[str] = []
    pages: list[NccihPage] = []

    @model_validator(mode="after")
    def _something_to_fetch(self) -> NccihSource:
        if not self.feeds and not self.pages:
            raise ValueError("an nccih source needs at least one of feeds or pages")
        return self


class ClinicalTrialsSource(_SourceBase):
    kind: Literal["clinicaltrials"]
    cond: str | None = None
    intr: str | None = None
    term: str | None = None
    page_size: int = Field(default=200, ge=1, le=1000)
    backfill_days: int = Field(default=30, ge=1)

    @model_validator(mode="after")
    def _some_query(self) -> ClinicalTrialsSource:
        if not (self.cond or self.intr or self.term):
            raise ValueError("a clinicaltrials source needs cond, intr or term")
        return self


class EuropePmcSource(_SourceBase):
    kind: Literal["europepmc"]
    query: str
    include_preprints: bool = True
    page_size: int = Field(default=200, ge=1, le=1000)
    backfill_days: int = Field(default=30, ge=1)


SourceConfig = Annotated[
    PubmedSource
    | PubmedRssSource
    | RssSource
    | NccihSource
    | ClinicalTrialsSource
    | EuropePmcSource,
    Field(discriminator="kind"),
]


class HttpSettings(_Strict):
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=5, ge=0, le=10)
    backoff_base: float = Field(default=1.0, ge=0)
    backoff_max: float = Field(default=60.0, ge=0)
    # a Retry-After longer than this ends the source's run (it is retried next time)
    retry_after_max: float = Field(default=300.0, ge=0)
    max_response_bytes: int = Field(default=100_000_000, ge=1024)
    # requests per second per host; E-utilities is also capped at NCBI's own limit
    # (3, or 10 with NCBI_API_KEY), with a 10 % margin
    rate_limits: dict[str, float] = {
        "pubmed.ncbi.nlm.nih.gov": 1.0,
        "clinicaltrials.gov": 0.7,
        "www.ebi.ac.uk": 5.0,
        "www.nccih.nih.gov": 1.0,
    }
    default_rate_limit: float = Field(default=2.0, gt=0)
    # wall-clock budgets: one request (all of its body), one source's whole run
    request_deadline: float = Field(default=300.0, gt=0)
    source_deadline: float = Field(default=1800.0, gt=0)
    max_redirects: int = Field(default=5, ge=0, le=20)


class DigestSettings(_Strict):
    title: str = "Acupuncture for pain: weekly evidence digest"
    site_url: str = "https://digest.example.org/"
    output_dir: str = "data/out"
    schedule: str = "0 6 * * mon"  # weekly run: fetch -> build -> site -> send
    recent_weeks_on_home: int = Field(default=8, ge=1)
    tag_authority: str = "digest.example.org,2026"  # for Atom tag: ids, minted once

    _cron = field_validator("schedule")(_check_cron)


class EmailSettings(_Strict):
    from_address: str = "Acupuncture Evidence Digest <digest@example.org>"
    unsubscribe_mailto: str | None = None
    unsubscribe_url: str | None = None  # https endpoint served by `digest serve`
    send: bool = False  # the weekly job sends only when true


class Settings(_Strict):
    database_url: str = DEFAULT_DATABASE_URL
    contact_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    tool_name: str = Field(default="digest", pattern=r"^\S+$")
    timezone: str = "UTC"
    http: HttpSettings = HttpSettings()
    topics: TopicModel
    sources: list[SourceConfig]
    digest: DigestSettings = DigestSettings()
    email: EmailSettings = EmailSettings()
    # from the environment only
    ncbi_api_key: str | None = Field(default=None, repr=False)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _unique_source_names(self) -> Settings:
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"sources: duplicate name(s) {', '.join(dupes)}")
        return self

    def source(self, name: str) -> SourceConfig:
        for src in self.sources:
            if src.name == name:
                return src
        known = ", ".join(s.name for s in self.sources)
        raise ConfigError(f"no source named {name!r} (known: {known})", key="sources")


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at a pydantic error location, if it exists."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            match = node.value[part] if part < len(node.value) else None
        else:
            match = None
        if match is None:
            break
        node = match
        line = node.start_mark.line + 1
    return line


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in {"pubmed", "pubmed_rss", "rss", "nccih", "clinicaltrials", "europepmc"}:
            continue  # the discriminator's branch name, not a key the user wrote
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def parse_settings(text: str, env: dict[str, str] | None = None, origin: str = "") -> Settings:
    """Validate YAML text plus environment overrides. Pure: no file or os access."""
    env = env if env is not None else {}
    try:
        raw = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin or 'config'} is not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{origin or 'config'} is nested too deeply to be a config") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin or 'config'} must be a mapping at the top level")
    if env.get("DIGEST_DATABASE_URL"):
        raw["database_url"] = env["DIGEST_DATABASE_URL"]
    if "ncbi_api_key" in raw:
        raise ConfigError("secrets belong in the environment (NCBI_API_KEY)", key="ncbi_api_key")
    raw["ncbi_api_key"] = env.get("NCBI_API_KEY") or None
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        key = _format_loc(loc)
        line = _line_of(root, tuple(p for p in loc if p not in _KIND_NAMES))
        where = f"{origin}:{line}: " if origin and line else ""
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        raise ConfigError(f"{where}{first['msg']}{more}", key=key) from exc


_KIND_NAMES = {"pubmed", "pubmed_rss", "rss", "nccih", "clinicaltrials", "europepmc"}


def load_settings(path: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    path = path or Path(os.environ.get("DIGEST_CONFIG", DEFAULT_CONFIG_PATH))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text (byte {exc.start})") from exc
    return parse_settings(text, dict(os.environ) if env is None else env, origin=str(path))
