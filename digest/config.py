"""sources.yaml -> validated settings. Secrets come from the environment only.

Errors name the key path and, where the YAML tells us, the line: `sources[2].kind (line 41)`.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from digest.cron import check_crontab
from digest.errors import ConfigError
from digest.http.settings import HttpSettings
from digest.sources import KINDS
from digest.sources.base_config import SourceBase

DEFAULT_CONFIG_PATH = Path("sources.yaml")
DEFAULT_DATABASE_URL = "sqlite:///data/digest.db"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_http_url(value: str | None) -> str | None:
    if value is not None and not re.match(r"^https?://[^/\s]+", value, re.IGNORECASE):
        raise ValueError(f"not an http(s):// URL: {value!r}")
    return value


def _check_cron(value: str) -> str:
    """Every `schedule:` is checked by the scheduler's own parser (digest.cron)."""
    return check_crontab(value)


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


def _checked_source_model(model: type[SourceBase]) -> type[SourceBase]:
    """A kind's config model (from its `sources/<kind>/config.py`) with the crontab check
    every `schedule` and the http(s) check every fetched address gets here."""
    validators: dict[str, Any] = {
        "_cron": field_validator("schedule")(_check_cron),
        "_urls": model_validator(mode="after")(_check_source_urls),
    }
    return create_model(
        model.__name__,
        __base__=model,
        __module__=model.__module__,
        __validators__=validators,
    )


def _check_source_urls(source: SourceBase) -> SourceBase:
    """Every address a source fetches is an http(s) URL: `url`, `base_url`, `*_url`, each
    of NCCIH's `feeds` and `pages[].url` (a scheme-less address would only fail in fetch)."""

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, f"{key}.{name}" if key else name)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if key.endswith("feeds") and isinstance(item, str):
                    _check_named_url(item, f"{key}[{index}]")
                else:
                    walk(item, f"{key}[{index}]")
        elif isinstance(value, str) and key.rsplit(".", 1)[-1].endswith("url"):
            _check_named_url(value, key)

    walk(source.model_dump(), "")
    return source


def _check_named_url(value: str, key: str) -> None:
    try:
        _check_http_url(value)
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from exc


# The `sources:` entries: one arm per registered kind, told apart by `kind`.
_SOURCE_MODELS = tuple(_checked_source_model(kind.config) for kind in KINDS.values())
_KIND_NAMES = frozenset(KINDS)
_KIND_MODELS: dict[str, type[BaseModel]] = {
    kind: model for kind, model in zip(KINDS, _SOURCE_MODELS, strict=True)
}
if TYPE_CHECKING:
    SourceConfig = SourceBase
else:
    SourceConfig = Annotated[Union[_SOURCE_MODELS], Field(discriminator="kind")]  # noqa: UP007


class DigestSettings(_Strict):
    title: str = "Acupuncture for pain: weekly evidence digest"
    site_url: str = "https://digest.example.org/"
    output_dir: str = "data/out"
    schedule: str = "0 6 * * mon"  # weekly run: fetch -> build -> site -> send
    # required: the weekly send waits until staff approve the week on the desk, and mails
    # only approved items; optional: everything goes except what staff held or left out
    review: Literal["optional", "required"] = "optional"
    # with review required: the send goes at this deadline with what was approved (or
    # nothing), "<weekday> HH:MM" in `timezone`, in the week after the week
    review_deadline: str = Field(
        default="tue 12:00", pattern=r"^(mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):[0-5]\d$"
    )
    review_reminder_hours: int = Field(default=24, ge=0)  # staff are emailed this long before
    review_check: str = "*/15 * * * *"  # how often the scheduler looks (reminder, deadline)
    recent_weeks_on_home: int = Field(default=8, ge=1)
    tag_authority: str = "digest.example.org,2026"  # for Atom tag: ids, minted once

    _cron = field_validator("schedule", "review_check")(_check_cron)


class EmailSettings(_Strict):
    from_address: str = "Acupuncture Evidence Digest <digest@example.org>"
    unsubscribe_mailto: str | None = None
    unsubscribe_url: str | None = None  # https endpoint served by `digest serve`
    send: bool = False  # the weekly job sends only when true
    # the sender's postal address, one line in every email's footer (CAN-SPAM asks for it)
    postal_address: str | None = Field(default=None, max_length=200)


class RecheckSettings(_Strict):
    """`recheck:`: the daily re-check of every study an issue carried (`digest recheck`)."""

    enabled: bool = True  # the scheduler's daily job
    schedule: str = "30 4 * * *"
    full_every_days: int = Field(default=30, ge=1)  # each work itself re-fetched this often
    batch_size: int = Field(default=50, ge=1, le=100)  # DOIs per Crossref `updates:` request
    crossref: bool = True
    pubmed: bool = True
    europepmc: bool = True  # asked by PMID when PubMed is fetched in full (not incrementally)
    # correction email to those who received a study: off, serious (retraction,
    # withdrawal, expression of concern) or all (also corrections, new versions, reversals)
    email: Literal["off", "serious", "all"] = "off"
    crossref_base_url: str | None = None  # a mirror or the replay server
    eutils_base_url: str | None = None
    europepmc_base_url: str | None = None

    _cron = field_validator("schedule")(_check_cron)
    _urls = field_validator("crossref_base_url", "eutils_base_url", "europepmc_base_url")(
        _check_http_url
    )

    @field_validator("email", mode="before")
    @classmethod
    def _yaml_off(cls, value: object) -> object:
        return "off" if value is False else value  # YAML reads a bare `off` as false


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
    recheck: RecheckSettings = RecheckSettings()
    # the advertising rules `digest check-claims` and the condition pages hold wording to
    claims_policy: Literal["uk-asa-cap", "au-ahpra", "none"] = "uk-asa-cap"
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
        elif part in _KIND_NAMES:
            continue  # the discriminator's branch name, not a key the user wrote
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (YAML would keep the last
    one silently: two `schedule:` lines on one source leave the other one unused)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first on line {seen[key]})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _unique_mapping,
)


def _did_you_mean(loc: tuple[Any, ...], error: Mapping[str, Any]) -> str:
    """' (did you mean `timezone`?)' for a misspelt key, from the model's own field names."""
    if error.get("type") != "extra_forbidden" or not loc or not isinstance(loc[-1], str):
        return ""
    model = _model_at(loc[:-1])
    if model is None:
        return ""
    close = difflib.get_close_matches(loc[-1], list(model.model_fields), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model a location inside Settings points at (sources by their kind)."""
    model: type[BaseModel] = Settings
    for part in loc:
        if isinstance(part, int):
            continue
        if part in _KIND_NAMES:
            found = _KIND_MODELS.get(part)
            if found is None:
                return None
            model = found
            continue
        annotation = model.model_fields.get(part)
        target = getattr(annotation, "annotation", None) if annotation else None
        if isinstance(target, type) and issubclass(target, BaseModel):
            model = target
        elif part == "sources":
            continue
        else:
            return None
    return model


def parse_settings(text: str, env: dict[str, str] | None = None, origin: str = "") -> Settings:
    """Validate YAML text plus environment overrides. Pure: no file or os access."""
    env = env if env is not None else {}
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError(
            f"{origin or 'config'} is not valid YAML: {exc.problem or exc.context}{where}"
        ) from exc
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
        hint = _did_you_mean(tuple(p for p in loc), first)
        raise ConfigError(f"{where}{first['msg']}{hint}{more}", key=key) from exc


def load_settings(path: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    path = path or Path(os.environ.get("DIGEST_CONFIG", DEFAULT_CONFIG_PATH))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text (byte {exc.start})") from exc
    settings = parse_settings(text, dict(os.environ) if env is None else env, origin=str(path))
    return relative_to(settings, path.parent)


def relative_to(settings: Settings, folder: Path) -> Settings:
    """Relative paths in the config (the SQLite file, the output folder) resolved against
    the config file's folder, not the working directory: `--config` from anywhere, or a
    systemd unit, finds the same database."""
    update: dict[str, Any] = {}
    url = settings.database_url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        path = url[len("sqlite:///") :]
        if path and path != ":memory:" and not Path(path).is_absolute():
            update["database_url"] = f"sqlite:///{(folder / path).resolve()}"
    output = Path(settings.digest.output_dir)
    if not output.is_absolute():
        update["digest"] = settings.digest.model_copy(
            update={"output_dir": str((folder / output).resolve())}
        )
    return settings.model_copy(update=update) if update else settings
