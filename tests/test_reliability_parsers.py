"""Issue 17, parser side: hostile feed fields are capped, lone surrogates cleaned, undeclared
namespace prefixes recovered, bidi controls stripped from untrusted text.

Inputs are genuine recordings changed by hand in the test (named handmade_*): one title
with a lone surrogate escape, a feed item with an undeclared dc: prefix, a 100 kB author.
"""

from __future__ import annotations

import json
import time

from digest.sources.clinicaltrials.parse import parse_ctgov_json
from digest.sources.europepmc.parse import parse_europepmc_json
from digest.sources.rss.parse import parse_feed
from digest.sources.text import collapse_whitespace, html_to_text
from tests.conftest import CORPUS, FIXTURES

FEED = (FIXTURES / "handmade" / "handmade_pubmed_rss_fetch1.xml").read_bytes()
CT_ONE = CORPUS / "clinicaltrials" / "biomcp_v2_search_pain_psychoeducation_1study.json"
EPMC = CORPUS / "europepmc" / "pyeuropepmc_search_cancer_core_25.json"


def handmade_with_surrogate(path: str | object, key: str) -> bytes:
    """The recording with a lone surrogate escape put into the first `key` string."""
    text = path.read_text(encoding="utf-8")  # type: ignore[attr-defined]
    marker = f'"{key}": "' if f'"{key}": "' in text else f'"{key}":"'
    return text.replace(marker, marker + "\\ud800", 1).encode()


# ------------------------------------------------------------------ 6. lone surrogates


def test_handmade_lone_surrogate_in_clinicaltrials_json_becomes_replacement_char() -> None:
    result = parse_ctgov_json(handmade_with_surrogate(CT_ONE, "briefTitle"))
    title = result.records[0].title
    assert "\ufffd" in title
    title.encode("utf-8")  # storable
    result.records[0].content_hash()


def test_handmade_lone_surrogate_in_europepmc_json_becomes_replacement_char() -> None:
    result = parse_europepmc_json(handmade_with_surrogate(EPMC, "title"))
    assert any("\ufffd" in r.title for r in result.records)
    for record in result.records:
        json.dumps(record.to_json_dict(), ensure_ascii=False).encode("utf-8")


def test_handmade_surrogate_character_reference_in_rss_keeps_the_feed() -> None:
    payload = FEED.replace(b"<title>", b"<title>&#xD800;", 2)
    result = parse_feed(payload)
    assert result.records and any("surrogate" in w for w in result.warnings)
    for record in result.records:
        record.content_hash()


# ------------------------------------------------------------------ 7. undeclared prefix


def test_handmade_undeclared_dc_prefix_keeps_every_item() -> None:
    good = parse_feed(FEED)
    payload = FEED.replace(b'xmlns:dc="http://purl.org/dc/elements/1.1/"', b"")
    assert payload != FEED
    result = parse_feed(payload)
    assert [r.title for r in result.records] == [r.title for r in good.records]
    assert [r.doi for r in result.records] == [r.doi for r in good.records]
    assert any("not well-formed" in w for w in result.warnings)


# ------------------------------------------------------------------ 4. field caps


def test_handmade_100kb_author_without_at_sign_is_capped_not_quadratic() -> None:
    payload = FEED.replace(b"<item>", b"<item><author>" + b"a" * 100_000 + b"</author>", 1)
    started = time.monotonic()
    result = parse_feed(payload)
    assert time.monotonic() - started < 3  # was 36 s
    assert result.records and any("over-long" in w for w in result.warnings)


# ------------------------------------------------------------------ 19. bidi controls


def test_bidi_controls_are_stripped_where_text_is_cleaned() -> None:
    hostile = "Acupuncture \u202eevil\u202c trial \u2066x\u2069"
    assert collapse_whitespace(hostile) == "Acupuncture evil trial x"
    assert html_to_text(f"<p>{hostile}</p>") == "Acupuncture evil trial x"
    payload = FEED.replace(b"<title>", "<title>\u202e".encode(), 2)
    assert not any("\u202e" in r.title for r in parse_feed(payload).records)
