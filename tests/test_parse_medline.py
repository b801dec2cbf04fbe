"""digest.sources.pubmed.medline against the recorded MEDLINE file, with Bio.Medline as the oracle.

The corpus has one MEDLINE file and it lacks several tags the parser handles (CN, SI,
LID, comment/correction tags, paragraph breaks); those are covered by inputs built here
as bytes, each named HANDMADE_* and saying "hand-made" inside.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from Bio import Medline

from digest.errors import ParseError
from digest.model import RecordData
from digest.sources.pubmed.medline import parse_medline
from digest.sources.pubmed.parse import parse_efetch

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
MEDLINE_FILE = CORPUS / "other" / "biopython_medline_pubmed_result2.txt"


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def oracle_fields(entry: dict[str, Any]) -> dict[str, Any]:
    """What Bio.Medline read, put in our record's terms by rules written independently."""
    doi = next(
        (aid.split(" [")[0].lower() for aid in entry.get("AID", []) if aid.endswith("[doi]")),
        None,
    )
    return {
        "pmid": entry["PMID"],
        "title": collapse(entry["TI"]),
        "abstract": collapse(entry["AB"]) if "AB" in entry else None,
        "authors": entry.get("AU", []),
        "publication_types": entry.get("PT", []),
        "mesh_terms": [term.split("/")[0].lstrip("*") for term in entry.get("MH", [])],
        "language": entry.get("LA", [None])[0],
        "journal": entry.get("JT"),
        "doi": doi,
        "pmcid": entry.get("PMC"),
        "year": entry["DP"][:4],
    }


def our_fields(record: RecordData) -> dict[str, Any]:
    return {
        "pmid": record.pmid,
        "title": record.title,
        "abstract": collapse(record.abstract) if record.abstract else None,
        "authors": record.authors,
        "publication_types": record.publication_types,
        "mesh_terms": record.mesh_terms,
        "language": record.language,
        "journal": record.journal,
        "doi": record.doi,
        "pmcid": record.pmcid,
        "year": (record.published or "")[:4],
    }


def test_medline_file_matches_biopython() -> None:
    payload = MEDLINE_FILE.read_bytes()
    result = parse_medline(payload)
    oracle = list(Medline.parse(io.StringIO(payload.decode("utf-8"))))
    assert len(result.records) == len(oracle) == 4
    assert result.warnings == []
    for record, entry in zip(result.records, oracle, strict=True):
        ours, expected = our_fields(record), oracle_fields(entry)
        for name in expected:
            assert ours[name] == expected[name], (record.pmid, name)


def test_medline_record_details() -> None:
    first, second, *_ = parse_medline(MEDLINE_FILE.read_bytes()).records
    assert first.source == "import" and first.source_id == "16403221"
    assert first.url == "https://pubmed.ncbi.nlm.nih.gov/16403221/"
    assert first.doi == "10.1186/1471-2105-7-10"
    assert first.pmcid == "PMC1373603"
    assert first.published == "2006"
    assert first.extra["article_date"] == "2006-01-10"
    assert first.extra["entrez_date"] == "2006-01-13"
    assert first.extra["other_ids"] == {"pii": "1471-2105-7-10", "doi": "10.1186/1471-2105-7-10"}
    assert first.extra["full_authors"][0] == "Casbon, James A"
    assert first.extra["mesh"][2] == {
        "descriptor": "Information Storage and Retrieval",
        "ui": None,
        "major": False,
        "qualifiers": ["*methods"],
    }
    assert first.extra["mesh"][0]["major"] is True  # '*Database Management Systems'
    assert second.published == "2006-03-01"
    assert second.title == (
        "GenomeDiagram: a python package for the visualization of large-scale genomic data."
    )
    assert second.extra["journal_abbreviation"] == "Bioinformatics"
    assert second.extra["volume"] == "22" and second.extra["issue"] == "5"


def test_source_argument_is_used() -> None:
    result = parse_medline(MEDLINE_FILE.read_bytes(), source="pubmed")
    assert {record.source for record in result.records} == {"pubmed"}


HANDMADE_MEDLINE = b"""PMID- 900001
STAT- MEDLINE
TI  - Hand-made record: acupuncture for a hand-made condition, a title long enough
      to wrap onto a second line.
AB  - BACKGROUND: hand-made first paragraph.
<SIX SPACES>
      RESULTS: hand-made second paragraph
      that continues here.
CN  - Hand-Made Study Group
AU  - Doe J
FAU - Doe, Jane
DP  - 1998 Dec-1999 Jan
JT  - Hand-made journal
TA  - Hand Made J
PT  - Randomized Controlled Trial
SI  - ClinicalTrials.gov/nct00000001
SI  - ClinicalTrials.gov/NCT00000002
SI  - ISRCTN/ISRCTN00000003
LID - 10.9999/HAND.MADE [doi]
RIN - Hand Made J. 2000;1:1. PMID: 900002
PMC - PMC900001
PMID- 900003
TI  - A second hand-made record right after the first, with no blank line.
FAU - Roe, Richard Q
DP  - 2001 Spring

TI  - A third hand-made record without PMID.
AID - 10.9999/THIRD [doi]
""".replace(b"<SIX SPACES>", b" " * 6)  # a blank continuation line: a paragraph break
# The bytes above are hand-made: they imitate PubMed's MEDLINE export (rettype=medline),
# following the tag layout of tests/fixtures/corpus/other/biopython_medline_pubmed_result2.txt.


def test_handmade_medline_features() -> None:
    result = parse_medline(HANDMADE_MEDLINE)
    first, second, third = result.records
    assert first.title == (
        "Hand-made record: acupuncture for a hand-made condition, a title long enough "
        "to wrap onto a second line."
    )
    assert first.abstract == (
        "BACKGROUND: hand-made first paragraph.\n\n"
        "RESULTS: hand-made second paragraph that continues here."
    )
    assert first.authors == ["Hand-Made Study Group", "Doe J"]  # file order kept
    assert first.published == "1998-12"
    assert first.journal == "Hand-made journal"
    assert first.nct_ids == ["NCT00000001", "NCT00000002"]
    assert {"name": "ISRCTN", "accessions": ["ISRCTN00000003"]} in first.extra["databanks"]
    assert first.doi == "10.9999/hand.made"
    assert first.pmcid == "PMC900001"
    assert first.extra["comments_corrections"] == [
        {
            "ref_type": "RetractionIn",
            "ref_source": "Hand Made J. 2000;1:1. PMID: 900002",
            "pmid": "900002",
            "note": None,
        }
    ]
    assert second.pmid == "900003"
    assert second.authors == ["Roe RQ"]  # from FAU when AU is missing
    assert second.published == "2001"
    assert third.pmid is None
    assert third.source_id == "doi:10.9999/third"
    assert third.url is None


def test_record_without_any_identity_is_skipped_with_a_warning() -> None:
    payload = b"PMID- 1\nTI  - hand-made\n\nOWN - NLM\nSTAT- MEDLINE\n"  # hand-made
    result = parse_medline(payload)
    assert [record.pmid for record in result.records] == ["1"]
    assert result.warnings == ["record 2: no PMID, title or DOI; skipped"]


def test_crlf_and_bom_are_accepted() -> None:
    payload = MEDLINE_FILE.read_bytes()
    windows = b"\xef\xbb\xbf" + payload.replace(b"\n", b"\r\n")
    assert parse_medline(windows).records == parse_medline(payload).records


def test_latin1_is_read_with_a_warning() -> None:
    payload = "PMID- 2\nTI  - Caf\u00e9 hand-made\n".encode("latin-1")  # hand-made
    result = parse_medline(payload)
    assert result.records[0].title == "Caf\u00e9 hand-made"
    assert result.warnings == ["payload is not UTF-8; read as Latin-1"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "empty payload"),
        (b"<!DOCTYPE html><html><body>hand-made</body></html>", "not MEDLINE text"),
        (b'{"hand-made": true}', "not MEDLINE text"),
    ],
)
def test_not_medline(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=f"^{message}"):
        parse_medline(payload)


def test_same_shape_as_the_xml_parser() -> None:
    # A MEDLINE record and an EFetch record carry the same keys in `extra` for what both know.
    (xml_record,) = parse_efetch(
        (CORPUS / "pubmed-efetch" / "hawc_efetch_collective_author.xml").read_bytes()
    ).records
    medline_record = parse_medline(MEDLINE_FILE.read_bytes()).records[0]
    shared = {"mesh", "journal_abbreviation", "volume", "pages", "pub_date_raw", "other_ids"}
    assert shared <= set(xml_record.extra)
    assert shared <= set(medline_record.extra)
    assert set(xml_record.extra["mesh"][0]) == set(medline_record.extra["mesh"][0])
