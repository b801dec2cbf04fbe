"""digest.sources.pubmed.parse against every recorded EFetch/ESearch payload.

Each EFetch file is checked field by field against an independent reader, Biopython's
`Bio.Entrez.read` (test-only dependency). Targeted tests pin down the cases the corpus
holds once (inline markup, books, DataBankList...). Inputs the corpus does not have
(DeleteCitation, MedlineDate, error bodies, an entity bomb) are built here as bytes;
every one of them is named HANDMADE_* and says "hand-made" inside.
"""

from __future__ import annotations

import html
import io
import re
import time
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from Bio import Entrez

from digest.errors import ParseError
from digest.model import RecordData
from digest.sources.pubmed.parse import ESearchResult, parse_efetch, parse_esearch

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
EFETCH_FILES = sorted((CORPUS / "pubmed-efetch").glob("*.xml"))
ESEARCH_FILES = sorted((CORPUS / "pubmed-esearch").iterdir())


def efetch_bytes(name: str) -> bytes:
    return (CORPUS / "pubmed-efetch" / name).read_bytes()


def records_by_pmid(name: str) -> dict[str, RecordData]:
    return {record.source_id: record for record in parse_efetch(efetch_bytes(name)).records}


# --------------------------------------------------------------------------- the oracle


@cache
def biopython_articles(path: Path) -> list[dict[str, Any]]:
    """PubmedArticle / PubmedBookArticle dicts as Biopython reads the same bytes."""
    payload = path.read_bytes()
    # Biopython refuses a DTD system id that is not https (the two 2013-era files say
    # http://www.ncbi.nlm.nih.gov/...); with https it uses its bundled pubmed_130101.dtd.
    # Only the DOCTYPE line changes, and only for the oracle.
    payload = payload.replace(
        b'"http://www.ncbi.nlm.nih.gov/corehtml/query/DTD/',
        b'"https://www.ncbi.nlm.nih.gov/corehtml/query/DTD/',
    )
    # escape=True: text is HTML-escaped while inline markup stays as tags.
    parsed = Entrez.read(io.BytesIO(payload), validate=False, escape=True)
    if isinstance(parsed, list):  # old DTDs: the set is a plain list of articles
        return list(parsed)
    return [*parsed["PubmedArticle"], *parsed["PubmedBookArticle"]]


def plain(marked_up: str) -> str:
    """Biopython text -> plain: MathML glued, tags dropped, entities decoded, spaces collapsed."""
    text = re.sub(
        r"<math\b.*?</math>",
        lambda match: " " + re.sub(r"<[^>]+>|\s+", "", match.group(0)) + " ",
        str(marked_up),
        flags=re.DOTALL,
    )
    text = re.sub(r"</?[A-Za-z][^<>]*>", "", text)
    return re.sub(r"[ \t\n\r]+", " ", html.unescape(text)).strip(" \t\n\r")


def oracle_fields(article: dict[str, Any]) -> dict[str, Any]:
    """The fields we compare, computed from Biopython's dicts by rules written independently."""
    if "BookDocument" in article:
        document = article["BookDocument"]
        book = document["Book"]
        title = document.get("ArticleTitle") or book["BookTitle"]
        locations = [*book.get("ELocationID", []), *document.get("ELocationID", [])]
        article_ids = list(document.get("ArticleIdList", []))
        abstract = document.get("Abstract", {})
        journal = plain(book["BookTitle"])
        publication_types = [str(value) for value in document.get("PublicationType", [])]
        mesh: list[str] = []
        author_lists = [
            author_list
            for author_list in [*document.get("AuthorList", []), *book.get("AuthorList", [])]
            if author_list.attributes.get("Type", "authors") == "authors"
        ]
        authors = author_lists[0] if author_lists else []
        pmid = str(document["PMID"])
    else:
        citation = article["MedlineCitation"]
        art = citation["Article"]
        title = art["ArticleTitle"]
        locations = list(art.get("ELocationID", []))
        article_ids = list(article.get("PubmedData", {}).get("ArticleIdList", []))
        abstract = art.get("Abstract", {})
        journal_element = art["Journal"]
        journal = plain(journal_element.get("Title") or journal_element["ISOAbbreviation"])
        publication_types = [str(value) for value in art["PublicationTypeList"]]
        mesh = [plain(heading["DescriptorName"]) for heading in citation.get("MeshHeadingList", [])]
        authors = art.get("AuthorList", [])
        pmid = str(citation["PMID"])
    doi = next(
        (
            html.unescape(str(location)).strip().lower()
            for location in locations
            if location.attributes.get("EIdType") == "doi"
            and location.attributes.get("ValidYN", "Y") != "N"
        ),
        None,
    ) or next(
        (
            html.unescape(str(i)).strip().lower()
            for i in article_ids
            if i.attributes.get("IdType") == "doi"
        ),
        None,
    )
    sections = [
        (part.attributes.get("Label"), plain(part))
        for part in abstract.get("AbstractText", [])
        if plain(part)
    ]
    return {
        "pmid": pmid,
        "title": plain(title),
        "doi": doi,
        "sections": sections,
        "journal": journal,
        "publication_types": publication_types,
        "mesh_terms": mesh,
        "authors": [oracle_author(author) for author in authors if oracle_author(author)],
    }


def oracle_author(author: dict[str, Any]) -> str | None:
    if author.attributes.get("ValidYN") == "N":
        return None
    if author.get("CollectiveName"):
        return plain(author["CollectiveName"])
    if not author.get("LastName"):
        return None
    return f"{author['LastName']} {author.get('Initials', '')}".strip()


def our_fields(record: RecordData) -> dict[str, Any]:
    return {
        "pmid": record.pmid,
        "title": record.title,
        "doi": record.doi,
        "sections": [
            (section["label"], section["text"])
            for section in record.extra.get("abstract_sections", [])
        ],
        "journal": record.journal,
        "publication_types": record.publication_types,
        "mesh_terms": record.mesh_terms,
        "authors": record.authors,
    }


@pytest.mark.parametrize("path", EFETCH_FILES, ids=lambda path: path.name)
def test_efetch_matches_biopython_field_by_field(path: Path) -> None:
    result = parse_efetch(path.read_bytes())
    expected = [oracle_fields(article) for article in biopython_articles(path)]
    assert [record.pmid for record in result.records] == [entry["pmid"] for entry in expected]
    assert result.warnings == []
    assert result.deleted_ids == []
    for record, oracle in zip(result.records, expected, strict=True):
        ours = our_fields(record)
        for field_name in oracle:
            assert ours[field_name] == oracle[field_name], (record.pmid, field_name)


@pytest.mark.parametrize("path", EFETCH_FILES, ids=lambda path: path.name)
def test_efetch_record_invariants(path: Path) -> None:
    for record in parse_efetch(path.read_bytes()).records:
        assert record.source == "pubmed"
        assert record.source_id == record.pmid
        assert record.pmid is not None and record.pmid.isdigit()
        assert record.url == f"https://pubmed.ncbi.nlm.nih.gov/{record.pmid}/"
        assert record.title and "<" not in record.title and "  " not in record.title
        assert record.doi is None or (
            record.doi == record.doi.lower() and "doi.org" not in record.doi
        )
        assert record.published is None or re.fullmatch(
            r"\d{4}(-\d{2}(-\d{2})?)?", record.published
        )
        sections = record.extra.get("abstract_sections", [])
        joined = "\n\n".join(
            f"{section['label']}: {section['text']}" if section["label"] else section["text"]
            for section in sections
        )
        assert record.abstract == (joined or None)
        assert all(re.fullmatch(r"NCT\d{8}", nct) for nct in record.nct_ids)
        assert all(value not in (None, "", [], {}) for value in record.extra.values())
        # Round trip through the JSON Lines form `digest parse` prints.
        assert RecordData.from_json_dict(record.to_json_dict()) == record


@pytest.mark.parametrize("path", EFETCH_FILES, ids=lambda path: path.name)
def test_streaming_path_gives_the_same_records(path: Path) -> None:
    payload = path.read_bytes()
    in_memory = parse_efetch(payload)
    streamed = parse_efetch(payload, stream_above=0)
    assert streamed.records == in_memory.records


# --------------------------------------------------------------------------- targeted


def test_inline_markup_in_title_is_flattened() -> None:
    record = records_by_pmid("hawc_efetch_title_inline_markup.xml")["27933116"]
    assert record.title == (
        "Phoenix dactylifera mediated green synthesis of Cu2O particles "
        "for arsenite uptake from water."
    )


def test_inline_markup_in_abstract_is_flattened() -> None:
    record = records_by_pmid("hawc_efetch_abstract_inline_markup.xml")["29186030"]
    assert record.abstract is not None
    assert record.abstract.startswith(
        "CYP353D1v2 is a cytochrome P450 related to imidacloprid resistance in "
        "Laodelphax striatellus. This work"
    )
    assert "<" not in record.abstract


def test_mathml_is_glued_into_readable_text() -> None:
    record = records_by_pmid("biopython_pubmed6_pubmed_not_medline.xml")["30108519"]
    assert record.title.startswith('A "Blood Relationship" Between')
    assert record.abstract is not None
    assert "maximal oxygen uptake ( V.O2max ) 67.6 ± 4.1 ml·kg-1·min-1]" in record.abstract


def test_structured_abstract_keeps_labels_and_categories() -> None:
    record = records_by_pmid("hawc_efetch_structured_abstract.xml")["21813367"]
    sections = record.extra["abstract_sections"]
    assert [(s["label"], s["nlm_category"]) for s in sections] == [
        ("BACKGROUND", "BACKGROUND"),
        ("OBJECTIVES", "OBJECTIVE"),
        ("METHODS", "METHODS"),
        ("RESULTS", "RESULTS"),
        ("CONCLUSIONS", "CONCLUSIONS"),
    ]
    assert record.abstract is not None
    paragraphs = record.abstract.split("\n\n")
    assert len(paragraphs) == 5
    assert paragraphs[0].startswith("BACKGROUND: People living or working in eastern Ohio")
    assert paragraphs[1].startswith("OBJECTIVES: Our objective was")


def test_collective_author() -> None:
    record = records_by_pmid("hawc_efetch_collective_author.xml")["21860499"]
    assert record.authors == ["National Toxicology Program"]
    assert record.abstract is None
    assert record.journal == "Report on carcinogens : carcinogen profiles"


def test_whole_book() -> None:
    record = records_by_pmid("hawc_efetch_pubmedbookarticle_book.xml")["26468569"]
    title = (
        "Application of Modern Toxicology Approaches for Predicting Acute Toxicity "
        "for Chemical Defense"
    )
    assert record.title == title
    assert record.journal == title
    assert record.doi == "10.17226/21775"
    assert record.published == "2015-09-01"
    assert record.publication_types == ["Review"]
    assert record.authors[0] == (
        "Committee on Predictive-Toxicology Approaches for Military Assessments of Acute Exposures"
    )
    assert len(record.authors) == 6
    book = record.extra["book"]
    assert book["publisher"] == "National Academies Press (US)"
    assert book["isbn"] == ["9780309376662"]
    assert book["accession"] == "NBK321423"
    assert record.extra["abstract_copyright"].startswith("Copyright 2015")
    assert record.abstract is not None and "Copyright" not in record.abstract
    assert record.extra["entrez_date"] == "2015-09-01"


def test_book_chapter() -> None:
    record = records_by_pmid("hawc_efetch_pubmedbookarticle_chapter.xml")["20301382"]
    assert record.title == "Single Large-Scale Mitochondrial DNA Deletion Syndromes"
    assert record.journal == "GeneReviews®"
    assert record.authors == ["Goldstein A", "Falk MJ"]  # chapter authors, not the editors
    assert record.extra["book"]["editors"][:2] == ["Adam MP", "Feldman J"]
    assert record.published == "1993"
    assert [s["label"] for s in record.extra["abstract_sections"]][:3] == [
        "CLINICAL CHARACTERISTICS",
        "DIAGNOSIS/TESTING",
        "MANAGEMENT",
    ]
    assert "coenzyme Q10 and antioxidants" in (record.abstract or "")
    keywords = record.extra["keywords"]
    assert len(keywords) == len(set(keywords))  # the record repeats some; kept once


def test_2013_article_plus_book() -> None:
    result = parse_efetch(efetch_bytes("eutilsjson_efetch_2013dtd_article_plus_book.xml"))
    article, book = result.records
    assert (article.pmid, book.pmid) == ("17284678", "20301295")
    # OtherAbstract and its CopyrightInformation are not the abstract.
    assert article.abstract == "dummy-label: Lorem ipsum and ipsum lorem."
    assert article.pmcid == "PMC1800922"
    assert article.doi == "10.1101/gr.5823007"
    assert article.published == "2007-03"
    assert article.extra["article_date"] == "2007-02-06"
    assert article.extra["keywords"] == ["Krazy Kool", "The Snap!"]
    assert article.extra["investigators"] == 2
    assert "Polymorphism, Restriction Fragment Length" in article.mesh_terms
    assert {
        "descriptor": "Eimeria tenella",
        "ui": None,
        "major": False,
        "qualifiers": ["*genetics"],
    } in (article.extra["mesh"])
    assert book.title == "GeneReviews™"
    assert book.abstract == "Lorem ipsum ...."
    assert book.authors == []  # the only list names editors
    assert book.extra["book"]["editors"] == ["Pagon RA"]


def test_nct_ids_from_databank_list() -> None:
    record = records_by_pmid("biomcp_efetch_22663011_nejm_trametinib.xml")["22663011"]
    assert record.nct_ids == ["NCT01245062"]
    assert record.extra["databanks"] == [
        {"name": "ClinicalTrials.gov", "accessions": ["NCT01245062"]}
    ]
    assert record.authors[-1] == "METRIC Study Group"
    assert record.extra["investigators"] == 97
    assert record.doi == "10.1056/nejmoa1203421"
    assert "Randomized Controlled Trial" in record.publication_types
    assert record.extra["entrez_date"] == "2012-06-06"
    assert record.extra["status"] == "MEDLINE"
    assert record.extra["pmid_version"] == "1"


def test_other_databanks_are_kept_but_are_not_nct_ids() -> None:
    records = records_by_pmid("hawc_efetch_6_science_breast_cancer.xml")
    assert records["19008416"].extra["databanks"] == [{"name": "GEO", "accessions": ["GSE13286"]}]
    assert records["19008416"].nct_ids == []


def test_comments_corrections_kept_with_every_ref_type() -> None:
    record = records_by_pmid("biomcp_efetch_22663011_nejm_trametinib.xml")["22663011"]
    assert record.extra["comments_corrections"][0] == {
        "ref_type": "CommentIn",
        "ref_source": "N Engl J Med. 2012 Jul 12;367(2):171-2. doi: 10.1056/NEJMe1205654.",
        "pmid": "22663012",
        "note": None,
    }
    cites = records_by_pmid("biopython_pubmed4_structured_abstract.xml")["27797938"]
    ref_types = [entry["ref_type"] for entry in cites.extra["comments_corrections"]]
    assert ref_types.count("Cites") == 48
    assert ref_types.count("CommentIn") == 1


def test_season_gives_year_only_and_keeps_raw() -> None:
    records = records_by_pmid("hawc_efetch_259_phthalates_liver.xml")
    assert records["10485824"].published == "1999"
    assert records["10485824"].extra["pub_date_raw"] == "1999 Jul-Aug"
    assert records["10485824"].extra["season"] == "Jul-Aug"


HANDMADE_DELETE_CITATION = b"""<?xml version="1.0" ?>
<!-- hand-made: a PubMed update-file fragment; structure follows SOURCES.md 1.6
     (PubmedArticleSet ((PubmedArticle | PubmedBookArticle)+, DeleteCitation?)) -->
<PubmedArticleSet>
<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="2">111</PMID>
<Article><Journal><Title>Hand-made journal</Title><JournalIssue><PubDate><Year>2020</Year>
<Month>02</Month><Day>3</Day></PubDate></JournalIssue></Journal>
<ArticleTitle>Hand-made article</ArticleTitle>
<ELocationID EIdType="doi" ValidYN="N">10.9999/NOT-VALID</ELocationID>
<AuthorList><Author ValidYN="N"><LastName>Wrong</LastName><Initials>X</Initials></Author>
<Author><LastName>Right</LastName><ForeName>Anna Maria</ForeName></Author></AuthorList>
</Article></MedlineCitation>
<PubmedData><ArticleIdList><ArticleId IdType="doi">10.9999/HAND-MADE</ArticleId>
<ArticleId IdType="pmc">12345</ArticleId></ArticleIdList></PubmedData></PubmedArticle>
<DeleteCitation><PMID Version="1">222</PMID><PMID Version="1">333</PMID></DeleteCitation>
</PubmedArticleSet>
"""


def test_handmade_delete_citation_and_invalid_entries() -> None:
    result = parse_efetch(HANDMADE_DELETE_CITATION)
    assert result.deleted_ids == ["222", "333"]
    (record,) = result.records
    assert record.pmid == "111"
    assert record.extra["pmid_version"] == "2"
    assert record.doi == "10.9999/hand-made"  # the ValidYN="N" ELocationID is skipped
    assert record.pmcid == "PMC12345"
    assert record.authors == ["Right AM"]  # ValidYN="N" skipped; initials from ForeName
    assert record.published == "2020-02-03"
    assert record.journal == "Hand-made journal"


HANDMADE_MEDLINE_DATE = b"""<?xml version="1.0" ?>
<!-- hand-made: the corpus has no <MedlineDate>; the value's shape is the one quoted in
     SOURCES.md 1.6 ("1998 Dec-1999 Jan", illustrative); structure per the DTD's PubDate. -->
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>444</PMID><Article><Journal>
<ISOAbbreviation>Hand Made J</ISOAbbreviation>
<JournalIssue><PubDate><MedlineDate>1998 Dec-1999 Jan</MedlineDate></PubDate></JournalIssue>
</Journal><ArticleTitle>Hand-made title</ArticleTitle></Article></MedlineCitation>
</PubmedArticle></PubmedArticleSet>
"""


def test_handmade_medline_date() -> None:
    (record,) = parse_efetch(HANDMADE_MEDLINE_DATE).records
    assert record.published == "1998-12"
    assert record.extra["medline_date"] == "1998 Dec-1999 Jan"
    assert record.extra["pub_date_raw"] == "1998 Dec-1999 Jan"
    assert record.journal == "Hand Made J"  # no Journal/Title: the ISO abbreviation


def test_handmade_empty_article_set_is_a_valid_empty_result() -> None:
    result = parse_efetch(b"<PubmedArticleSet></PubmedArticleSet>")  # hand-made
    assert result.records == [] and result.deleted_ids == [] and result.warnings == []


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("stream_above", [0, 10**9], ids=["streamed", "in-memory"])
def test_truncated_payload_is_a_parse_error(stream_above: int) -> None:
    payload = efetch_bytes("hawc_efetch_20_articles.xml")
    with pytest.raises(ParseError, match=r"^truncated or malformed XML: "):
        parse_efetch(payload[: len(payload) // 2], stream_above=stream_above)


HANDMADE_HTML_PAGE = b"""<!DOCTYPE html>
<!-- hand-made: stands in for an HTML maintenance page served with HTTP 200 (SOURCES.md 1.5) -->
<html><head><title>Service unavailable</title></head>
<body><h1>NCBI is down for maintenance</h1><p>Please try again later.<br></p></body></html>
"""


def test_html_page_is_rejected_by_its_root() -> None:
    with pytest.raises(ParseError, match=r"^expected <PubmedArticleSet>, got <html>$"):
        parse_efetch(HANDMADE_HTML_PAGE)


@pytest.mark.parametrize(
    "payload",
    [
        # hand-made: the error bodies SOURCES.md 1.5 quotes, as the root or wrapped.
        b"<ERROR>Empty id list - nothing todo</ERROR>",
        b'<?xml version="1.0"?>\n<eFetchResult><ERROR>Empty id list - nothing todo</ERROR>'
        b"</eFetchResult>",
        b"<PubmedArticleSet><ERROR>Empty id list - nothing todo</ERROR></PubmedArticleSet>",
    ],
    ids=["root", "efetch-wrapper", "inside-set"],
)
def test_eutilities_error_element(payload: bytes) -> None:
    with pytest.raises(ParseError, match=r"^E-utilities error: Empty id list - nothing todo$"):
        parse_efetch(payload)


@pytest.mark.parametrize("payload", [b"", b"   \n", b"\x00\x01binary", b"{}"])
def test_not_xml_at_all(payload: bytes) -> None:
    with pytest.raises(ParseError):
        parse_efetch(payload)


HANDMADE_BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!-- hand-made: the classic entity-expansion attack, aimed at ArticleTitle -->
<!DOCTYPE PubmedArticleSet [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>555</PMID><Article>
<ArticleTitle>Laughs: &lol9; end</ArticleTitle>
<Abstract><AbstractText>&lol9;</AbstractText></Abstract>
</Article></MedlineCitation></PubmedArticle></PubmedArticleSet>
"""


@pytest.mark.parametrize("stream_above", [0, 10**9], ids=["streamed", "in-memory"])
def test_billion_laughs_is_neither_expanded_nor_fatal(stream_above: int) -> None:
    started = time.perf_counter()
    try:
        result = parse_efetch(HANDMADE_BILLION_LAUGHS, stream_above=stream_above)
    except ParseError as exc:
        # libxml2 >= 2.11 refuses the document outright (amplification limit): fine.
        assert "entity" in str(exc).lower()
    else:
        (record,) = result.records
        assert record.title == "Laughs: end"
        assert "lol" not in record.to_json()
    assert time.perf_counter() - started < 1.0


HANDMADE_INTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!-- hand-made: one harmless internal entity; it must stay unexpanded (resolve_entities=False) -->
<!DOCTYPE PubmedArticleSet [<!ENTITY secret "EXPANDED">]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>556</PMID><Article>
<ArticleTitle>Before &secret; after</ArticleTitle>
</Article></MedlineCitation></PubmedArticle></PubmedArticleSet>
"""


@pytest.mark.parametrize("stream_above", [0, 10**9], ids=["streamed", "in-memory"])
def test_internal_entity_is_not_expanded(stream_above: int) -> None:
    (record,) = parse_efetch(HANDMADE_INTERNAL_ENTITY, stream_above=stream_above).records
    assert record.title == "Before after"
    assert "EXPANDED" not in record.to_json()


# --------------------------------------------------------------------------- esearch

ESEARCH_EXPECTED: dict[str, dict[str, Any]] = {
    "biopython_esearch_biopython_count63.xml": {
        "count": 63,
        "retmax": 20,
        "retstart": 0,
        "n_ids": 20,
        "first_id": "41282813",
        "webenv": None,
        "query_key": None,
        "warnings": [],
    },
    "biopython_esearch_pnas_translationset.xml": {
        "count": 2651,
        "retmax": 6,
        "retstart": 6,
        "n_ids": 6,
        "first_id": "11121077",
        "webenv": None,
        "query_key": None,
        "warnings": [],
    },
    "biopython_esearch_translationstack.xml": {
        "count": 5,
        "retmax": 5,
        "retstart": 0,
        "n_ids": 5,
        "first_id": "6540636",
        "webenv": None,
        "query_key": None,
        "warnings": [],
    },
    "biopython_esearch_usehistory_webenv.xml": {
        "count": 42249,
        "retmax": 100,
        "retstart": 0,
        "n_ids": 100,
        "first_id": "41297076",
        "webenv": "MCID_6927d6e7fee3e90f880ec190",
        "query_key": "1",
        "warnings": [],
    },
    "biopython_esearch_zero_results_errorlist.xml": {
        "count": 0,
        "retmax": 0,
        "retstart": 0,
        "n_ids": 0,
        "first_id": None,
        "webenv": None,
        "query_key": None,
        "warnings": ["phrase not found: abcXYZ", "No items found."],
    },
    "eutilsjson_esearch_phrase_not_found.xml": {
        "count": 5163,
        "retmax": 20,
        "retstart": 0,
        "n_ids": 20,
        "first_id": "101595451",
        "webenv": None,
        "query_key": None,
        "warnings": ["phrase not found: fleegle[MeSH Terms]"],
    },
    "hawc_esearch_259_ids_complex_query.xml": {
        "count": 259,
        "retmax": 259,
        "retstart": 0,
        "n_ids": 259,
        "first_id": "39180124",
        "webenv": None,
        "query_key": None,
        "warnings": [
            "phrase not found: 2-ethyl-5-oxyhexyl",
            "phrase not found: 2-ethyl-4-hydroxyhexyl",
            "phrase not found: 2-ethyl-4-oxyhexyl",
        ],
    },
    "hawc_esearch_breast_cancer_retstart3.xml": {
        "count": 6,
        "retmax": 3,
        "retstart": 3,
        "n_ids": 3,
        "first_id": "18487186",
        "webenv": None,
        "query_key": None,
        "warnings": [],
    },
    "hawc_esearch_rettype_count.xml": {
        "count": 259,
        "retmax": None,
        "retstart": None,
        "n_ids": 0,
        "first_id": None,
        "webenv": None,
        "query_key": None,
        "warnings": [],
    },
}
ESEARCH_ERRORS = {"eutilsjson_esearch_invalid_db_error.xml": "Invalid db name specified: fleegle"}
# Genuine retmode=json answers: no fetcher asks for JSON, so the parser refuses them.
ESEARCH_JSON = {"biomcp_esearch_json_apc_phrasenotfound.json", "biomcp_esearch_json_mlh1_tiab.json"}


def test_every_esearch_file_has_an_expectation() -> None:
    assert {path.name for path in ESEARCH_FILES} == (
        set(ESEARCH_EXPECTED) | set(ESEARCH_ERRORS) | ESEARCH_JSON
    )


@pytest.mark.parametrize("name", sorted(ESEARCH_JSON))
def test_esearch_json_is_refused(name: str) -> None:
    with pytest.raises(ParseError, match=r"^truncated or malformed XML"):
        parse_esearch((CORPUS / "pubmed-esearch" / name).read_bytes())


@pytest.mark.parametrize("name", sorted(ESEARCH_EXPECTED))
def test_esearch_files(name: str) -> None:
    expected = ESEARCH_EXPECTED[name]
    result = parse_esearch((CORPUS / "pubmed-esearch" / name).read_bytes())
    assert isinstance(result, ESearchResult)
    assert result.count == expected["count"]
    assert result.retmax == expected["retmax"]
    assert result.retstart == expected["retstart"]
    assert len(result.ids) == expected["n_ids"] == len(set(result.ids))
    assert (result.ids[0] if result.ids else None) == expected["first_id"]
    assert all(pmid.isdigit() for pmid in result.ids)
    assert result.webenv == expected["webenv"]
    assert result.query_key == expected["query_key"]
    assert result.warnings == expected["warnings"]
    assert result.field_not_found == []


@pytest.mark.parametrize("name", sorted(n for n in ESEARCH_EXPECTED if n.endswith(".xml")))
def test_esearch_xml_ids_match_biopython(name: str) -> None:
    payload = (CORPUS / "pubmed-esearch" / name).read_bytes()
    payload = payload.replace(b'"http://www.ncbi.nlm.nih.gov/', b'"https://www.ncbi.nlm.nih.gov/')
    oracle = Entrez.read(io.BytesIO(payload), validate=False)
    result = parse_esearch((CORPUS / "pubmed-esearch" / name).read_bytes())
    assert result.ids == [str(pmid) for pmid in oracle.get("IdList", [])]
    assert result.count == int(oracle["Count"])
    assert result.query_translation == (
        str(oracle["QueryTranslation"]) if "QueryTranslation" in oracle else None
    )


def test_esearch_error_element_is_a_parse_error() -> None:
    payload = (CORPUS / "pubmed-esearch" / "eutilsjson_esearch_invalid_db_error.xml").read_bytes()
    with pytest.raises(
        ParseError, match=r"^E-utilities error: Invalid db name specified: fleegle$"
    ):
        parse_esearch(payload)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        # hand-made: a JSON error body of the shape SOURCES.md 1.5 gives: not XML
        (b'{"error":"hand-made: API rate limit exceeded"}', "truncated or malformed XML"),
        (HANDMADE_HTML_PAGE, "expected <eSearchResult>, got <html>"),
        (b"<eSearchResult><Count>3</Count><IdList><Id>1</Id>", "truncated or malformed XML"),
        (b"<ERROR>hand-made message</ERROR>", "E-utilities error: hand-made message"),
    ],
    ids=[
        "json",
        "html",
        "truncated",
        "root-error",
    ],
)
def test_esearch_bad_payloads(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=f"^{re.escape(message)}"):
        parse_esearch(payload)


def test_esearch_field_not_found_is_reported() -> None:
    # hand-made: the ErrorList shape of SOURCES.md 1.5 with a FieldNotFound entry.
    payload = (
        b"<eSearchResult><Count>2</Count><RetMax>2</RetMax><RetStart>0</RetStart>"
        b"<IdList><Id>1</Id><Id>2</Id></IdList><ErrorList><FieldNotFound>handmadefield"
        b"</FieldNotFound></ErrorList></eSearchResult>"
    )
    result = parse_esearch(payload)
    assert result.field_not_found == ["handmadefield"]
    assert result.warnings == ["field not found: handmadefield"]
