"""sources.yaml validation: the `sources:` union and the kind names come from the registry,
errors name the key the user wrote and its line, every kind's schedule is a crontab."""

from __future__ import annotations

import subprocess
import sys

import pytest

from digest.config import _KIND_NAMES, SourceConfig, parse_settings
from digest.errors import ConfigError
from digest.sources import KINDS
from tests.conftest import MINIMAL_TOPICS

HEAD = f"contact_email: test@example.org\n{MINIMAL_TOPICS}\nsources:\n"
# One valid entry per kind; a new kind without one here fails test_every_kind_validates.
EXAMPLES = {
    "pubmed": "    query: acupuncture[tiab]\n",
    "clinicaltrials": "    cond: pain\n",
    "europepmc": "    query: TITLE_ABS:acupuncture\n",
    "pubmed_rss": "    url: https://pubmed.ncbi.nlm.nih.gov/rss/search/x/\n",
    "rss": "    url: https://journal.example.org/toc.atom\n",
    "nccih": "    feeds: [https://www.nccih.nih.gov/news/rss]\n",
    "crossref": "    update_types: [retraction]\n",
}


def entry(kind: str, extra: str = "") -> str:
    return f"  - name: s-{kind}\n    kind: {kind}\n{EXAMPLES[kind]}{extra}"


def test_kind_names_are_the_registry() -> None:
    assert set(_KIND_NAMES) == set(KINDS) == set(EXAMPLES)
    assert SourceConfig is not None


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_validates_into_its_own_config_model(kind: str) -> None:
    settings = parse_settings(HEAD + entry(kind), env={})
    source = settings.sources[0]
    assert source.kind == kind and isinstance(source, KINDS[kind].config)


def test_error_names_the_key_written_and_its_line() -> None:
    text = HEAD + entry("rss") + "  - name: bad\n    kind: pubmed\n    batch_size: 5\n"
    with pytest.raises(ConfigError) as raised:
        parse_settings(text, env={}, origin="sources.yaml")
    line = text.splitlines().index("  - name: bad") + 1  # the entry missing the key
    # the discriminator's branch name ("pubmed") is not a key the user wrote
    assert str(raised.value) == f"sources[1].query: sources.yaml:{line}: Field required"
    assert raised.value.key == "sources[1].query"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_schedule_is_checked(kind: str) -> None:
    with pytest.raises(ConfigError, match="crontab") as raised:
        parse_settings(HEAD + entry(kind, "    schedule: every morning\n"), env={})
    assert raised.value.key == "sources[0].schedule"


def test_unknown_kind_lists_the_registered_ones() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings(HEAD + "  - name: x\n    kind: crossrefx\n", env={})
    assert raised.value.key == "sources[0]"
    for kind in KINDS:
        assert kind in str(raised.value)


def test_sources_never_import_config_or_http() -> None:
    """digest.config imports the registry: the kinds must not import it (or digest.http,
    which does) at import time, or the two would form a cycle."""
    code = (
        "import sys, digest.sources; "
        "bad = [m for m in ('digest.config', 'digest.http') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_pubmed_rate_key_is_the_ncbi_host_http_caps() -> None:
    from digest.http.settings import NCBI_HOST
    from digest.sources.pubmed.fetch import RATE_KEY

    assert RATE_KEY == NCBI_HOST
