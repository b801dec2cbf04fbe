"""RSS/Atom parsing (generic, PubMed "Create RSS") against the hand-made feeds.

No genuine PubMed RSS or journal feed was available: every file used here is HAND-MADE
(tests/fixtures/HANDMADE.md), with real PMIDs/titles/DOIs copied from the efetch corpus.
Inline payloads below are synthetic too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from digest.errors import ParseError
from digest.model import RecordData
from digest.sources.pubmed_rss.parse import parse_pubmed_rss
from digest.sources.rss.parse import canonical_url, parse_feed

HANDMADE = Path(__file__).resolve().parent / "fixtures" / "handmade"
FETCH1 = HANDMADE / "handmade_pubmed_rss_fetch1.xml"
FETCH2 = HANDMADE / "handmade_pubmed_rss_fetch2.xml"


def _by_id(records: list[RecordData]) -> dict[str, RecordData]:
    return {r.source_id: r for r in records}


def _rss(items: str, extra_ns: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<rss version="2.0" {extra_ns}><channel><title>synthetic</title>'
        f"<link>https://feeds.example.org/</link>{items}</channel></rss>"
    ).encode()


# --------------------------------------------------------------------------- PubMed RSS

EXPECTED_FETCH1: list[dict[str, Any]] = [
    {
        "source": "pubmed_rss",
        "source_id": "22663011",
        "doi": "10.1056/nejmoa1203421",
        "title": "Improved survival with MEK inhibition in BRAF-mutated melanoma.",
        "journal": "N Engl J Med",
        "published": "2012-06-06",
        "authors": ["Flaherty KT", "Robert C", "Hersey P", "METRIC Study Group"],
        "nct_ids": ["NCT01245062"],
    },
    {
        "source": "pubmed_rss",
        "source_id": "29768149",
        "doi": "10.1056/nejmoa1715274",
        "title": "Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma.",
        "journal": "N Engl J Med",
        "published": "2018-05-17",
        "authors": ["O'Byrne PM", "FitzGerald JM", "Bateman ED"],
        "nct_ids": [],
    },
    {
        "source": "pubmed_rss",
        "source_id": "27933116",
        "doi": "10.1080/14686996.2016.1244472",
        "title": "Phoenix dactylifera mediated green synthesis of Cu2O particles for arsenite "
        "uptake from water.",
        "journal": "Sci Technol Adv Mater",
        "published": "2016-12-10",
        "authors": ["Amrani MA", "Srikanth VV"],
        "nct_ids": [],
    },
    {
        "source": "pubmed_rss",
        "source_id": "21860499",
        "doi": None,
        "title": "Nitrofen.",
        "journal": "Rep Carcinog",
        "published": None,
        "authors": ["National Toxicology Program"],
        "nct_ids": [],
    },
    {
        "source": "rss",
        "source_id": "https://pubmed.ncbi.nlm.nih.gov/help/",
        "doi": None,
        "title": "PubMed User Guide",
        "journal": None,
        "published": None,
        "authors": [],
        "nct_ids": [],
    },
]


def test_pubmed_rss_parses_to_what_the_file_says() -> None:
    result = parse_pubmed_rss(FETCH1.read_bytes())
    assert result.warnings == []
    assert len(result.records) == len(EXPECTED_FETCH1)
    for record, expected in zip(result.records, EXPECTED_FETCH1, strict=True):
        for key, value in expected.items():
            assert getattr(record, key) == value, (expected["source_id"], key)
        if record.source == "pubmed_rss":
            assert record.pmid == record.source_id
            assert record.url == f"https://pubmed.ncbi.nlm.nih.gov/{record.pmid}/"
            assert record.extra["via"] == "pubmed_rss"
        else:
            assert record.pmid is None and record.url == record.source_id


def test_pubmed_rss_abstracts_are_plain_text() -> None:
    records = _by_id(parse_pubmed_rss(FETCH1.read_bytes()).records)
    melanoma = records["22663011"].abstract
    assert melanoma is not None
    assert melanoma.startswith("BACKGROUND: Activating mutations in serine-threonine protein")
    assert "\n\nCONCLUSIONS: Trametinib, as compared with chemotherapy" in melanoma
    asthma = records["29768149"].abstract
    assert asthma is not None and "a fast-acting β2-agonist may be" in asthma
    synthesis = records["27933116"].abstract
    assert synthesis is not None and "polycrystalline Cu2O particles" in synthesis
    for record in records.values():
        for text in (record.title, record.abstract or ""):
            assert "<" not in text and "&lt;" not in text and "&#" not in text
    assert records["21860499"].abstract is None


def test_second_fetch_with_new_tracking_and_guid_gives_the_same_records() -> None:
    first = _by_id(parse_pubmed_rss(FETCH1.read_bytes()).records)
    second = _by_id(parse_pubmed_rss(FETCH2.read_bytes()).records)
    assert set(first) == set(second)
    for source_id, record in first.items():
        again = second[source_id]
        assert (again.source, again.url, again.doi, again.title, again.abstract) == (
            record.source,
            record.url,
            record.doi,
            record.title,
            record.abstract,
        )
        assert again.authors == record.authors and again.published == record.published
    assert first["22663011"].extra["guid"] != second["22663011"].extra["guid"]


def test_relative_link_is_resolved_against_the_feed() -> None:
    record = _by_id(parse_pubmed_rss(FETCH1.read_bytes()).records)["27933116"]
    assert record.pmid == "27933116"  # no dc:identifier pmid: -> from the resolved link path
    base = "https://mirror.example.org/rss/search/x/"
    via_base = parse_feed(FETCH1.read_bytes(), base_url=base).records[2]
    assert via_base.url == "https://mirror.example.org/27933116/"


def test_latin1_feed_keeps_its_accents() -> None:
    payload = (HANDMADE / "handmade_pubmed_rss_latin1.xml").read_bytes()
    assert "González".encode("iso-8859-1") in payload
    for content_type in (None, "application/rss+xml; charset=ISO-8859-1", "text/xml"):
        record = parse_pubmed_rss(payload, content_type=content_type).records[0]
        assert record.source_id == "16080930"
        assert record.authors == ["González-Reyes S", "Martínez L", "Tovar JA"]
        assert record.doi == "10.1016/j.jpedsurg.2005.05.009"


def test_truncated_feed_keeps_complete_entries_with_a_warning() -> None:
    result = parse_pubmed_rss((HANDMADE / "handmade_pubmed_rss_truncated.xml").read_bytes())
    assert result.warnings and "not well-formed" in result.warnings[0]
    ids = [r.source_id for r in result.records]
    assert ids[:2] == ["22663011", "29768149"]
    complete = _by_id(parse_pubmed_rss(FETCH1.read_bytes()).records)
    assert result.records[0].abstract == complete["22663011"].abstract
    assert result.records[1].doi == complete["29768149"].doi


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param((HANDMADE / "handmade_error_page.html").read_bytes(), id="html-error-page"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\x00\x01\x02 binary junk", id="junk"),
        pytest.param(b'{"error": "not a feed"}', id="json"),
        pytest.param(FETCH1.read_bytes()[:700], id="truncated-before-any-item"),
        pytest.param(b"<?xml version='1.0'?><notafeed><x/></notafeed>", id="xml-not-feed"),
    ],
)
def test_unusable_payloads_raise(payload: bytes) -> None:
    with pytest.raises(ParseError):
        parse_pubmed_rss(payload)
    with pytest.raises(ParseError):
        parse_feed(payload)


@pytest.mark.parametrize(
    "payload", [b"https://pubmed.ncbi.nlm.nih.gov/rss/search/x/", b"/etc/hostname", b"setup.py"]
)
def test_feedparser_never_fetches_or_opens_files(payload: bytes) -> None:
    with pytest.raises(ParseError):
        parse_feed(payload)


def test_external_entities_are_never_read() -> None:
    payload = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<rss version="2.0"><channel><title>t</title>'
        b"<item><title>a &x;</title><guid>g</guid></item></channel></rss>"
    )
    record = parse_feed(payload).records[0]
    assert "root" not in record.title


def test_empty_but_valid_feed_is_zero_records() -> None:
    result = parse_feed(_rss(""))
    assert result.records == [] and result.warnings == []


# --------------------------------------------------------------------------- generic feeds


def test_atom_journal_feed() -> None:
    payload = (HANDMADE / "handmade_journal_toc_atom.xml").read_bytes()
    result = parse_feed(payload, content_type="application/atom+xml")
    assert result.warnings == []
    gut, quintessence = result.records
    assert gut.source == "rss"
    assert gut.source_id == "https://doi.org/10.1136/gutjnl-2016-312510"
    assert gut.doi == "10.1136/gutjnl-2016-312510"
    assert gut.title == (
        "Leucocyte telomere length, genetic variants at the TERT gene region and risk of "
        "pancreatic cancer."
    )
    assert gut.journal == "Gut"
    assert gut.published == "2016-11-01"
    assert gut.extra["updated_at"] == "2017-05-15T08:00:00Z"
    assert gut.authors == ["Bao Y", "Prescott J"]
    assert quintessence.source_id == "tag:handmade.example.org,2024:entry-2"
    assert quintessence.doi == "10.3290/j.qi.a30176"
    assert quintessence.journal == "Quintessence Int"
    assert quintessence.url == "https://journal.example.org/articles/qi-a30176"
    # text/plain summary: "<" and ">" are literal characters and stay so
    assert quintessence.abstract is not None
    assert "(P < .05; Fisher exact test)" in quintessence.abstract
    assert "(P > .05)" in quintessence.abstract


def test_script_in_title_or_summary_never_survives_as_markup() -> None:
    items = (
        "<item><title>&lt;script&gt;alert(1)&lt;/script&gt;Real title</title>"
        "<link>https://example.org/a</link>"
        "<description>&lt;p&gt;Kept&lt;/p&gt;&lt;script&gt;steal()&lt;/script&gt;"
        "&lt;img src=x onerror=alert(2)&gt;</description></item>"
    )
    record = parse_feed(_rss(items)).records[0]
    assert record.title == "Real title"
    assert record.abstract == "Kept"
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:x</id>'
        b'<entry><id>urn:1</id><title type="text">&lt;script&gt;x()&lt;/script&gt;Plain</title>'
        b'<summary type="text">a &lt;script&gt;y()&lt;/script&gt; b</summary></entry></feed>'
    )
    entry = parse_feed(atom).records[0]
    assert "<script" not in entry.title and "<script" not in (entry.abstract or "")


def test_source_id_is_guid_or_canonical_link() -> None:
    items = (
        "<item><title>a</title><link>https://ex.org/a?utm_source=x&amp;id=7#frag</link></item>"
        "<item><title>b</title><guid>urn:uuid:1</guid><link>https://ex.org/b</link></item>"
        '<item><title>c</title><guid isPermaLink="true">https://ex.org/c?fbclid=1</guid></item>'
    )
    records = parse_feed(_rss(items), source="journal-x").records
    assert [r.source_id for r in records] == [
        "https://ex.org/a?id=7",
        "urn:uuid:1",
        "https://ex.org/c",
    ]
    assert {r.source for r in records} == {"journal-x"}


def test_identifiers_from_links_and_text() -> None:
    items = (
        "<item><title>a</title><link>https://pubmed.ncbi.nlm.nih.gov/29768149/</link></item>"
        "<item><title>b</title><link>https://journals.example.org/doi/10.1177/abc123?af=R</link>"
        "</item>"
        "<item><title>c</title><link>https://ex.org/c</link>"
        "<description>Published as doi:10.1000/xyz.</description></item>"
        "<item><title>d</title><link>https://ex.org/d</link>"
        "<description>Cites 10.1000/one and 10.1000/two.</description></item>"
    )
    a, b, c, d = parse_feed(_rss(items)).records
    assert a.pmid == "29768149" and a.source == "rss"
    assert b.doi == "10.1177/abc123"
    assert c.doi == "10.1000/xyz"
    assert d.doi is None  # two DOIs in running text: neither is trusted as the item's own


def test_dc_identifier_doi_and_repeated_identifiers() -> None:
    ns = 'xmlns:dc="http://purl.org/dc/elements/1.1/"'
    items = (
        "<item><title>a</title><link>https://ex.org/a</link>"
        "<dc:identifier>pmid:22663011</dc:identifier>"
        "<dc:identifier>doi:10.1056/NEJMoa1203421</dc:identifier>"
        "<dc:identifier>https://ex.org/other</dc:identifier></item>"
    )
    record = parse_feed(_rss(items, ns)).records[0]
    assert record.pmid == "22663011"
    assert record.doi == "10.1056/nejmoa1203421"


def test_an_entry_without_id_or_link_is_skipped_with_a_warning() -> None:
    items = "<item><title>orphan</title></item><item><title>ok</title><guid>g1</guid></item>"
    result = parse_feed(_rss(items))
    assert [r.source_id for r in result.records] == ["g1"]
    assert len(result.warnings) == 1 and "orphan" in result.warnings[0]


def test_all_entries_failing_raises() -> None:
    with pytest.raises(ParseError, match="every entry failed"):
        parse_feed(_rss("<item><title>orphan</title></item>"))


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (
            "https://pubmed.ncbi.nlm.nih.gov/22663011/?utm_source=Other&utm_medium=rss"
            "&utm_campaign=pubmed-2&utm_content=1X&fc=20240528054916&ff=20240601083012&v=2.18.0",
            "https://pubmed.ncbi.nlm.nih.gov/22663011/",
        ),
        ("HTTPS://Example.ORG:443/a?b=2&a=1#frag", "https://example.org/a?a=1&b=2"),
        ("https://ex.org/p?id=5&fbclid=abc&gclid=d&mc_cid=e", "https://ex.org/p?id=5"),
        ("http://ex.org:8080/x", "http://ex.org:8080/x"),
        ("https://ex.org", "https://ex.org/"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical
