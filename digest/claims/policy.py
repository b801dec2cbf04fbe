"""Claims policies as data: load, validate and present the packaged regulator YAML.

Pure: reads only its own packaged YAML (or a path the caller names); no network, no writes.
Every rule, condition and guidance entry must cite a source with a url, title and date
read, so nothing shown to a clinic is an uncited regulatory statement.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from digest.claims.rules import RULE_IDS
from digest.errors import ConfigError

POLICY_NAMES = ("uk-asa-cap", "au-ahpra", "none")
DISCLAIMER = "This is guidance, not legal advice."

Status = Literal["accepted", "not_accepted", "not_listed", "no_ruling"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """A regulator page as the project's anchors record it."""

    id: str
    title: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://\S+$")
    date_read: str = Field(min_length=1)
    date_given: bool  # False: field-anchors.md gives no date read (date_read says what it gives)
    says: str = ""


class RuleEntry(_Strict):
    rule: str
    sources: list[str] = []  # empty is rejected by _check_sources with a clear message
    basis: str = ""
    note: str = ""


class GuidanceEntry(_Strict):
    """Advice shown to readers but not checked by a pattern (e.g. no testimonials)."""

    id: str
    text: str
    sources: list[str] = []


class ConditionEntry(_Strict):
    id: str
    label: str
    status: Status
    terms: list[str] = []  # extra words naming it (archive topics get theirs from sources.yaml)
    scope: str = ""
    say: list[str] = []
    avoid: list[str] = []
    sources: list[str] = []
    basis: str = ""
    note: str = ""


class ClaimsPolicy(_Strict):
    name: str
    title: str
    regulator: str = ""
    jurisdiction: str = ""
    disclaimer: str = DISCLAIMER
    sources: list[Source] = []
    status_reasons: dict[str, str] = {}
    link_caveat: str = ""
    rules: list[RuleEntry] = []
    guidance: list[GuidanceEntry] = []
    conditions: list[ConditionEntry] = []

    def source(self, source_id: str) -> Source:
        return next(s for s in self.sources if s.id == source_id)

    def rule(self, rule_id: str) -> RuleEntry | None:
        return next((r for r in self.rules if r.rule == rule_id), None)

    def condition(self, condition_id: str) -> ConditionEntry | None:
        return next((c for c in self.conditions if c.id == condition_id), None)


# No regulator chosen: the general rules still run (without citations); no condition checks.
NONE_POLICY = ClaimsPolicy(name="none", title="No claims policy (claims_policy: none)")


class Citation(_Strict):
    title: str
    url: str
    date_read: str
    date_given: bool


class PolicyPanel(_Strict):
    """What a condition page's "What this lets you say" panel shows."""

    policy: str
    policy_title: str
    condition_id: str
    label: str
    status: Status | Literal["no_policy"]
    accepted: bool | None  # None: no ruling recorded / no policy
    scope: str
    say: list[str]
    avoid: list[str]
    basis: str
    note: str
    guidance: list[str]
    citations: list[Citation]
    disclaimer: str


def _check_sources(policy: ClaimsPolicy, origin: str) -> None:
    """Every entry cites at least one known source; every checked rule id exists."""
    known = {s.id for s in policy.sources}
    entries: list[tuple[str, list[str]]] = []
    for i, r in enumerate(policy.rules):
        if r.rule not in RULE_IDS:
            raise ConfigError(f"{origin}: rules[{i}]: unknown rule {r.rule!r}", key="rules")
        entries.append((f"rules[{i}] ({r.rule})", r.sources))
    entries += [(f"guidance[{i}] ({g.id})", g.sources) for i, g in enumerate(policy.guidance)]
    entries += [(f"conditions[{i}] ({c.id})", c.sources) for i, c in enumerate(policy.conditions)]
    for where, cited in entries:
        if not cited:
            raise ConfigError(
                f"{origin}: {where} cites no source; every policy entry needs at least one "
                "regulator source (url, title, date read)"
            )
        for sid in cited:
            if sid not in known:
                raise ConfigError(f"{origin}: {where} cites unknown source {sid!r}")


def parse_policy(text: str, origin: str) -> ClaimsPolicy:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin} must be a mapping at the top level")
    try:
        policy = ClaimsPolicy.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{origin}: {loc}: {first['msg']}") from exc
    _check_sources(policy, origin)
    return policy


@functools.cache
def _packaged(name: str) -> ClaimsPolicy:
    text = resources.files("digest.claims").joinpath("policies", f"{name}.yaml").read_text("utf-8")
    return parse_policy(text, f"{name}.yaml")


def load_policy(name: str, path: Path | None = None) -> ClaimsPolicy:
    """The policy `name` (uk-asa-cap | au-ahpra | none), packaged or read from `path`."""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read claims policy {path}: {exc}") from exc
        policy = parse_policy(text, str(path))
        if policy.name != name:
            raise ConfigError(f"{path}: policy is named {policy.name!r}, expected {name!r}")
        return policy
    if name not in POLICY_NAMES:
        raise ConfigError(
            f"unknown claims policy {name!r} (known: {', '.join(POLICY_NAMES)})",
            key="claims_policy",
        )
    return NONE_POLICY if name == "none" else _packaged(name)


def policy_panel(policy: ClaimsPolicy, condition_id: str) -> PolicyPanel:
    """The "What this lets you say" panel for one condition page. Pure."""
    if policy.name == "none":
        return PolicyPanel(
            policy="none", policy_title=policy.title, condition_id=condition_id,
            label=condition_id, status="no_policy", accepted=None, scope="", say=[], avoid=[],
            basis="", note="No claims policy is set, so no wording is suggested.",
            guidance=[], citations=[], disclaimer=policy.disclaimer,
        )  # fmt: skip
    entry = policy.condition(condition_id)
    if entry is None:
        raise ConfigError(
            f"claims policy {policy.name} has no entry for condition {condition_id!r}"
        )
    accepted = {"accepted": True, "no_ruling": None}.get(entry.status, False)
    cited = list(dict.fromkeys(entry.sources + [s for g in policy.guidance for s in g.sources]))
    return PolicyPanel(
        policy=policy.name,
        policy_title=policy.title,
        condition_id=entry.id,
        label=entry.label,
        status=entry.status,
        accepted=accepted,
        scope=entry.scope,
        say=list(entry.say),
        avoid=list(entry.avoid),
        basis=entry.basis,
        note=entry.note,
        guidance=[g.text for g in policy.guidance],
        citations=[
            Citation(title=s.title, url=s.url, date_read=s.date_read, date_given=s.date_given)
            for s in (policy.source(sid) for sid in cited)
        ],
        disclaimer=policy.disclaimer,
    )
