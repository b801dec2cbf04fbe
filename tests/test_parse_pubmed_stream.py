"""digest.sources.pubmed.parse.iter_efetch: files of any size, read in batches.

Every genuine EFetch recording must give, batch after batch, exactly what `parse_efetch`
gives on the whole payload. Broken inputs are cut from a genuine recording here (a
truncated file, a corrupt gzip) or hand-made (named HANDMADE_*, saying so inside).
"""

from __future__ import annotations

import gc
import gzip
import io
from pathlib import Path

import pytest

from digest.errors import ParseError
from digest.model import ParseResult
from digest.sources.pubmed import efetch_chunks
from digest.sources.pubmed import parse_efetch as parse_module
from digest.sources.pubmed.parse import EfetchBatch, iter_efetch, parse_efetch

CORPUS = Path(__file__).parent / "fixtures" / "corpus" / "pubmed-efetch"
EFETCH_FILES = sorted(CORPUS.glob("*.xml"))
LARGEST = CORPUS / "hawc_efetch_259_phthalates_liver.xml"


def joined(batches: list[EfetchBatch]) -> ParseResult:
    result = ParseResult()
    for batch in batches:
        result.records.extend(batch.parsed.records)
        result.deleted_ids.extend(batch.parsed.deleted_ids)
        result.warnings.extend(batch.parsed.warnings)
    return result


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
@pytest.mark.parametrize("path", EFETCH_FILES, ids=lambda path: path.name)
def test_batches_give_what_parse_efetch_gives(path: Path, batch_size: int) -> None:
    expected = parse_efetch(path.read_bytes())
    batches = list(iter_efetch(path, batch_size=batch_size))
    assert joined(batches) == expected
    assert all(0 < batch.size <= batch_size for batch in batches)
    assert all(batch.xml is None for batch in batches)  # only kept when asked


@pytest.mark.parametrize("chunk_bytes", [3000, 50_000])
@pytest.mark.parametrize("path", EFETCH_FILES, ids=lambda path: path.name)
def test_small_chunks_give_what_parse_efetch_gives(
    path: Path, chunk_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big files are parsed in chunks of about a MB: here of a few kB, so that every
    recording is cut many times."""
    monkeypatch.setattr(efetch_chunks, "_CHUNK_BYTES", chunk_bytes)
    monkeypatch.setattr(parse_module, "_HEAD_BYTES", 2048)
    assert joined(list(iter_efetch(path, batch_size=3))) == parse_efetch(path.read_bytes())


HANDMADE_END_TAG_IN_A_COMMENT = b"""<?xml version="1.0"?>
<!-- hand-made: a record end tag's bytes inside a comment, a CDATA section and a nested
element, where a chunk must not be cut; and a root start tag's bytes in the prolog:
<PubmedArticleSet> -->
<PubmedArticleSet>
<PubmedArticle><MedlineCitation><PMID>911</PMID><Article>
<ArticleTitle>One</ArticleTitle></Article></MedlineCitation></PubmedArticle>
<!-- </PubmedArticle> -->
<PubmedArticle><MedlineCitation><PMID>912</PMID><Article>
<ArticleTitle>Two <![CDATA[</PubmedArticle>]]> two</ArticleTitle></Article></MedlineCitation>
</PubmedArticle>
<Other><PubmedArticle><MedlineCitation><PMID>913</PMID></MedlineCitation></PubmedArticle></Other>
<PubmedArticle><MedlineCitation><PMID>914</PMID><Article>
<ArticleTitle>Four</ArticleTitle></Article></MedlineCitation></PubmedArticle>
</PubmedArticleSet>
"""


@pytest.mark.parametrize("max_chunks", [1, 8])
@pytest.mark.parametrize("chunk_bytes", [1, 200, 10**6])
@pytest.mark.parametrize("head_bytes", [100, 300, 64 * 1024])
def test_handmade_end_tags_where_no_chunk_may_be_cut(
    chunk_bytes: int, head_bytes: int, max_chunks: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(efetch_chunks, "_CHUNK_BYTES", chunk_bytes)
    monkeypatch.setattr(efetch_chunks, "_MAX_CHUNKS_WITHOUT_A_CUT", max_chunks)
    monkeypatch.setattr(parse_module, "_HEAD_BYTES", head_bytes)
    expected = parse_efetch(HANDMADE_END_TAG_IN_A_COMMENT, stream_above=10**9)
    assert [r.pmid for r in expected.records] == ["911", "912", "914"]  # 913 is nested
    batches = list(iter_efetch(io.BytesIO(HANDMADE_END_TAG_IN_A_COMMENT), batch_size=2))
    assert joined(batches) == expected


@pytest.mark.parametrize("path", EFETCH_FILES, ids=lambda path: path.name)
def test_kept_xml_of_each_batch_parses_back_to_the_batch(path: Path) -> None:
    for batch in iter_efetch(path, batch_size=5, keep_xml=True):
        assert batch.xml is not None
        assert batch.xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE ')
        assert parse_efetch(batch.xml) == batch.parsed


def test_a_binary_stream_and_a_gzipped_file_read_like_the_path(tmp_path: Path) -> None:
    expected = parse_efetch(LARGEST.read_bytes())
    zipped = tmp_path / "pubmed-sample.xml.gz"
    zipped.write_bytes(gzip.compress(LARGEST.read_bytes()))
    assert joined(list(iter_efetch(zipped, batch_size=100))) == expected
    with LARGEST.open("rb") as stream:
        assert joined(list(iter_efetch(stream, batch_size=100))) == expected
    stream_in_small_reads = io.BufferedReader(io.BytesIO(LARGEST.read_bytes()), buffer_size=512)
    assert joined(list(iter_efetch(stream_in_small_reads))) == expected


@pytest.mark.parametrize("chunk_bytes", [3000, 10**6])
def test_a_truncated_file_fails_where_it_breaks_and_earlier_batches_stay_whole(
    tmp_path: Path, chunk_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(efetch_chunks, "_CHUNK_BYTES", chunk_bytes)
    payload = LARGEST.read_bytes()
    truncated = tmp_path / "truncated.xml"
    truncated.write_bytes(payload[: len(payload) // 2])  # cut from the genuine recording
    batches: list[EfetchBatch] = []
    with pytest.raises(ParseError, match=r"^truncated or malformed XML: "):
        batches.extend(iter_efetch(truncated, batch_size=50))
    whole = parse_efetch(payload).records
    streamed = joined(batches).records
    assert 0 < len(streamed) < len(whole) and len(streamed) % 50 == 0
    assert streamed == whole[: len(streamed)]  # every yielded record is complete and right


def test_a_cut_or_corrupt_gzip_is_a_parse_error(tmp_path: Path) -> None:
    zipped = gzip.compress(LARGEST.read_bytes())
    cut = tmp_path / "cut.xml.gz"
    cut.write_bytes(zipped[: len(zipped) // 2])  # a download cut short
    with pytest.raises(ParseError):
        list(iter_efetch(cut))
    flipped = bytearray(zipped)
    flipped[2000:2100] = bytes(byte ^ 0xFF for byte in flipped[2000:2100])  # bits rotted
    corrupt = tmp_path / "corrupt.xml.gz"
    corrupt.write_bytes(bytes(flipped))
    with pytest.raises(ParseError, match=r"^cannot read the EFetch stream: "):
        list(iter_efetch(corrupt))


HANDMADE_DELETIONS = b"""<?xml version="1.0"?>
<!-- hand-made: one article, then a DeleteCitation, as PubMed's update files end -->
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>901</PMID><Article>
<ArticleTitle>Kept</ArticleTitle></Article></MedlineCitation></PubmedArticle>
<DeleteCitation><PMID Version="1">902</PMID><PMID Version="1">903</PMID></DeleteCitation>
</PubmedArticleSet>
"""


def test_handmade_deletions_are_batched_in_order() -> None:
    first, second = iter_efetch(io.BytesIO(HANDMADE_DELETIONS), batch_size=1)
    assert [record.pmid for record in first.parsed.records] == ["901"]
    assert second.parsed.records == [] and second.parsed.deleted_ids == ["902", "903"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        # hand-made: what parse_efetch refuses, iter_efetch refuses with the same words
        (b"", r"^empty payload$"),
        (b"<html><body>down for maintenance</body></html>", r"^expected <PubmedArticleSet>"),
        (b"<ERROR>Empty id list - nothing todo</ERROR>", r"^E-utilities error: Empty id"),
        (
            b"<PubmedArticleSet><ERROR>Empty id list - nothing todo</ERROR></PubmedArticleSet>",
            r"^E-utilities error: Empty id",
        ),
    ],
    ids=["empty", "html", "error-root", "error-inside-set"],
)
def test_handmade_non_article_sets_are_refused(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        list(iter_efetch(io.BytesIO(payload)))


def test_a_batch_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        list(iter_efetch(LARGEST, batch_size=0))


def test_the_cycle_collector_is_paused_only_while_articles_are_read(tmp_path: Path) -> None:
    assert gc.isenabled()
    for _batch in iter_efetch(LARGEST, batch_size=50):
        assert gc.isenabled()  # the caller's code between batches runs with it on
    assert gc.isenabled()
    truncated = tmp_path / "truncated.xml"
    truncated.write_bytes(LARGEST.read_bytes()[:1_000_000])
    with pytest.raises(ParseError):
        list(iter_efetch(truncated, batch_size=50))
    with pytest.raises(ParseError):
        parse_efetch(truncated.read_bytes())
    assert gc.isenabled()  # back on after an error too
    gc.disable()
    try:
        list(iter_efetch(LARGEST))
        parse_efetch(LARGEST.read_bytes())
        assert not gc.isenabled()  # whoever switched it off keeps it off
    finally:
        gc.enable()
