"""digest.sources.text: markup -> plain text and identifier normalizers."""

from __future__ import annotations

import pytest

from digest.facts import (
    find_dois,
    find_nct_ids,
    find_pmid_in_url,
    normalize_doi,
    normalize_nct,
    normalize_pmcid,
    normalize_pmid,
)
from digest.sources.text import (
    collapse_whitespace,
    drop_markup,
    html_to_text,
    looks_like_markup,
    paragraphs_to_text,
)


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("PM<sub>2.5</sub> exposure", "PM2.5 exposure"),
        ("m<sup>6</sup>A", "m6A"),
        ("<i>Phoenix dactylifera</i> mediated", "Phoenix dactylifera mediated"),
        ("Fish &amp; chips &lt;3 &#946;-agonist", "Fish & chips <3 β-agonist"),
        ("<p>One.</p><p>Two\n   lines.</p>", "One.\n\nTwo lines."),
        ("line one<br>line two<br/>", "line one\nline two"),
        ("<ul><li>a</li><li>b</li></ul>", "a\n\nb"),
        ("no  markup\u00a0at\tall ", "no markup at all"),
        ("p < 0.05 and p<0.01", "p < 0.05 and p<0.01"),
        ("", ""),
    ],
)
def test_html_to_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text


@pytest.mark.parametrize(
    "hostile",
    [
        "Title <script>alert('x')</script>",
        "Title <SCRIPT type='text/javascript'>alert(1)</SCRIPT>",
        "Title <style>body{}</style><iframe src='x'>inner</iframe>",
        "Title <img src=x onerror=alert(1)>",
    ],
)
def test_html_to_text_never_lets_script_through(hostile: str) -> None:
    text = html_to_text(hostile)
    assert text == "Title"
    assert "<" not in text and "alert" not in text


def test_looks_like_markup() -> None:
    assert looks_like_markup("a <b>bold</b> claim")
    assert looks_like_markup("<script>x</script>")
    assert not looks_like_markup("p < 0.05, n>30, a<b")


def test_drop_markup_only_touches_paragraphs_with_tags() -> None:
    assert drop_markup("A & B, p<0.05") == "A & B, p<0.05"
    assert drop_markup("Kept &amp; literal.\n\nHas <i>tags</i><script>x()</script>") == (
        "Kept &amp; literal.\n\nHas tags"
    )


def test_collapse_and_paragraphs() -> None:
    assert collapse_whitespace("  a \n\t b\u00a0 ") == "a b"
    wrapped = "      First line\r\n      continues here.\r\n\r\n      Second para.\r\n"
    assert paragraphs_to_text(wrapped) == "First line continues here.\n\nSecond para."


@pytest.mark.parametrize(
    ("raw", "doi"),
    [
        ("10.1056/NEJMoa1203421", "10.1056/nejmoa1203421"),
        ("https://doi.org/10.1016/S0140-6736(24)02600-X", "10.1016/s0140-6736(24)02600-x"),
        ("http://dx.doi.org/10.1000/xyz.", "10.1000/xyz"),
        ("doi:10.1000/xyz;", "10.1000/xyz"),
        ("DOI: 10.1000/xyz)", "10.1000/xyz"),
        (" 10.1000/ xyz ", "10.1000/xyz"),
        ("https://doi.org/10.1000%2Fabc", "10.1000/abc"),
        ("10.1016/0149-7189(79)90094-6", "10.1016/0149-7189(79)90094-6"),
        ("not a doi", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_doi(raw: str | None, doi: str | None) -> None:
    assert normalize_doi(raw) == doi


@pytest.mark.parametrize(
    ("raw", "pmid"),
    [("pmid:22663011", "22663011"), (" 0012345 ", "12345"), ("PMID: 9997", "9997"), ("x1", None)],
)
def test_normalize_pmid(raw: str, pmid: str | None) -> None:
    assert normalize_pmid(raw) == pmid


@pytest.mark.parametrize(
    ("raw", "pmcid"),
    [("PMC3040717", "PMC3040717"), ("pmc 3040717", "PMC3040717"), ("3040717", "PMC3040717"),
     ("PMCX", None), (None, None)],
)  # fmt: skip
def test_normalize_pmcid(raw: str | None, pmcid: str | None) -> None:
    assert normalize_pmcid(raw) == pmcid


@pytest.mark.parametrize(
    ("raw", "nct"),
    [("NCT01570127", "NCT01570127"), ("nct 01570127", "NCT01570127"), ("NCT1570127", "NCT01570127"),
     ("NCT123456789", None), ("ISRCTN123", None)],
)  # fmt: skip
def test_normalize_nct(raw: str, nct: str | None) -> None:
    assert normalize_nct(raw) == nct


def test_find_dois_in_text_strips_sentence_punctuation() -> None:
    text = (
        "See doi: 10.1016/j.cjca.2014.12.024. Epub 2014; also (https://doi.org/10.1111/joic.12180) "
        "and again 10.1016/J.CJCA.2014.12.024."
    )
    assert find_dois(text) == ["10.1016/j.cjca.2014.12.024", "10.1111/joic.12180"]
    assert find_dois(None) == []


def test_find_nct_ids() -> None:
    text = "METRIC ClinicalTrials.gov number, NCT01245062.). Also nct 02149199 and NCT01245062"
    assert find_nct_ids(text) == ["NCT01245062", "NCT02149199"]


@pytest.mark.parametrize(
    ("url", "pmid"),
    [
        ("https://pubmed.ncbi.nlm.nih.gov/22663011/?utm_source=Other&fc=1", "22663011"),
        ("https://www.ncbi.nlm.nih.gov/pubmed/22663011", "22663011"),
        ("https://pubmed.ncbi.nlm.nih.gov/help/", None),
        ("https://example.org/22663011/", None),
        (None, None),
    ],
)
def test_find_pmid_in_url(url: str | None, pmid: str | None) -> None:
    assert find_pmid_in_url(url) == pmid
