"""digest.studies: identity, matching, versions, links, merging, slugs, order independence.

Records are the real recorded payloads (parsed by the source kinds' parsers) and copies of them
made here by small, named changes (a Europe PMC copy, an import without ids, ...), the
same derivations bench/bench_dedupe.py documents in tests/fixtures/dedupe_eval/README.md.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence
from dataclasses import replace
from functools import cache

import pytest

from bench.bench_dedupe import (
    CORPUS,
    EvalSet,
    build_eval_set,
    build_scale_set,
    load_real_records,
    pairwise_scores,
)
from digest.model import RecordData
from digest.sources.clinicaltrials.parse import parse_ctgov_json
from digest.studies import cluster as dedupe
from digest.studies import features, merge, slugs

Key = tuple[str, str]


@cache
def _real() -> dict[str, RecordData]:
    """Real records by '<source>:<source_id>' (the first file that has one wins)."""
    found: dict[str, RecordData] = {}
    for _, record in load_real_records():
        found.setdefault(f"{record.source}:{record.source_id}", record)
    return found


def real(source_key: str) -> RecordData:
    return copy.deepcopy(_real()[source_key])


def keyed(*records: RecordData) -> dict[Key, RecordData]:
    return {(r.source, r.source_id): r for r in records}


def together(result: dedupe.DedupeResult[Key], a: RecordData, b: RecordData) -> bool:
    return result.cluster_of[(a.source, a.source_id)] == result.cluster_of[(b.source, b.source_id)]


def cluster_of(result: dedupe.DedupeResult[Key], record: RecordData) -> int:
    return result.cluster_of[(record.source, record.source_id)]


def europepmc_copy(record: RecordData, *, keep_pmid: bool = False) -> RecordData:
    """The PubMed record as a Europe PMC lite hit: MED:<pmid>, ISO journal, fewer ids."""
    return RecordData(
        source="europepmc",
        source_id=f"MED:{record.pmid}",
        pmid=record.pmid if keep_pmid else None,
        title=record.title,
        journal=str(record.extra.get("journal_abbreviation") or record.journal),
        published=(record.published or "")[:4],
        authors=list(record.authors),
        publication_types=[t.lower() for t in record.publication_types],
    )


def imported(record: RecordData, source_id: str, **changes: object) -> RecordData:
    """A clinic's imported reference: no ids, authors as 'Family, I.'."""
    authors = [
        f"{' '.join(a.split()[:-1])}, {'.'.join(a.split()[-1])}." if len(a.split()) > 1 else a
        for a in record.authors
    ]
    base = RecordData(
        source="import",
        source_id=source_id,
        title=record.title,
        journal=record.journal,
        published=(record.published or "")[:4],
        authors=authors,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


NEJM = "pubmed:22663011"  # trametinib RCT, NCT01245062, CommentIn entries
LEAD = "pubmed:38833407"  # UpdateOf a bioRxiv preprint (PMID 37873115)
RATS, MICE = "pubmed:10828276", "pubmed:11099649"  # same authors, journal, year
PLOS = "pubmed:17326724"  # ErratumIn


# --------------------------------------------------------------------------- identifiers


@pytest.mark.parametrize(
    "written",
    [
        "10.1056/NEJMoa1203421",
        "https://doi.org/10.1056/nejmoa1203421",
        "http://dx.doi.org/10.1056/NEJMOA1203421",
        "doi:10.1056/nejmoa1203421",
        "10.1056/nejmoa1203421.",
    ],
)
def test_doi_written_any_way_is_one_identifier(written: str) -> None:
    record = RecordData(source="import", source_id="x", doi=written)
    assert ("doi", "10.1056/nejmoa1203421") in features.identifiers(record)


def test_identifiers_of_real_records() -> None:
    pubmed = real(NEJM)
    assert {("pmid", "22663011"), ("doi", "10.1056/nejmoa1203421")} <= features.identifiers(pubmed)
    # a Europe PMC MED:<pmid> record carries the PMID in its id alone
    assert ("pmid", "22663011") in features.identifiers(europepmc_copy(pubmed))
    preprint = next(r for k, r in _real().items() if k.startswith("europepmc:PPR:"))
    assert ("ppr", preprint.source_id.split(":")[1]) in features.identifiers(preprint)
    registration = real("clinicaltrials:NCT03630471")
    assert ("registration", "NCT03630471") in features.identifiers(registration)


def test_nct_ids_are_link_keys_never_merge_keys() -> None:
    pubmed = real(NEJM)
    assert not any(value == "NCT01245062" for _, value in features.identifiers(pubmed))
    assert ("trial", "NCT01245062") in features.link_identifiers(pubmed)
    other = RecordData(
        source="import", source_id="other", title="A different paper", nct_ids=["NCT01245062"]
    )
    result = dedupe.cluster(keyed(pubmed, other))
    assert not together(result, pubmed, other)
    assert [link.kind for link in result.links] == ["same-trial"]


# --------------------------------------------------------------------------- shared ids


def test_records_sharing_an_identifier_are_one_work() -> None:
    pubmed = real(NEJM)
    epmc = europepmc_copy(pubmed)
    feed = RecordData(
        source="rss", source_id="nejm-item", doi="https://doi.org/10.1056/NEJMoa1203421",
        title=pubmed.title,
    )  # fmt: skip
    result = dedupe.cluster(keyed(pubmed, epmc, feed))
    assert result.clusters == [
        [("pubmed", "22663011"), ("rss", "nejm-item"), ("europepmc", "MED:22663011")]
    ]
    assert not result.conflicts


def test_a_doi_on_two_different_works_is_a_conflict_not_a_merge() -> None:
    rats, mice = real(RATS), real(MICE)
    wrong = imported(mice, "typo-doi", doi=rats.doi)  # the mice paper typed with the rats DOI
    result = dedupe.cluster(keyed(rats, mice, wrong))
    assert not together(result, rats, wrong)
    assert together(result, mice, wrong)  # the distrusted DOI no longer blocks its real work
    [conflict] = result.conflicts
    assert (conflict.scheme, conflict.value) == ("doi", rats.doi)
    assert set(conflict.keys) == {("pubmed", "10828276"), ("import", "typo-doi")}


def test_two_pmids_never_end_in_one_work() -> None:
    rats = real(RATS)
    duplicate = replace(real(RATS), source_id="99999999", pmid="99999999")
    result = dedupe.cluster(keyed(rats, duplicate))
    assert not together(result, rats, duplicate)
    [review] = result.possible_duplicates
    assert review.score == 1.0 and "different pmid" in review.reason


# --------------------------------------------------------------------------- title matching


@pytest.mark.parametrize(
    "title",
    [
        "IMPROVED SURVIVAL WITH MEK INHIBITION IN BRAF-MUTATED MELANOMA",
        "[Improved survival with MEK inhibition in BRAF\u2010mutated melanoma].",
        "Improved survival with <i>MEK</i> inhibition in BRAF mutated melanoma",
        "Improved survival with MEK inhibition in BRAF&#8211;mutated melanoma.",
        "Improved survival with MEK inhibition in BRAF-mutated melanoma",
    ],
)
def test_an_import_without_ids_joins_its_work(title: str) -> None:
    pubmed = real(NEJM)
    copy_ = imported(
        pubmed, "library-1", title=title, authors=["K.T. Flaherty", "C. Robert", "et al."]
    )
    result = dedupe.cluster(keyed(pubmed, copy_))
    assert together(result, pubmed, copy_)


def test_one_typo_with_the_same_authors_and_year_merges() -> None:
    pubmed = real(NEJM)
    typo = imported(pubmed, "library-typo", title=pubmed.title.replace("inhibition", "inhibtion"))
    assert together(dedupe.cluster(keyed(pubmed, typo)), pubmed, typo)


def test_real_near_identical_titles_of_different_works_stay_apart() -> None:
    rats, mice = real(RATS), real(MICE)  # one word apart, same authors, journal and year
    result = dedupe.cluster(keyed(rats, mice))
    assert not together(result, rats, mice)
    [review] = result.possible_duplicates
    assert {review.key_a, review.key_b} == {("pubmed", "10828276"), ("pubmed", "11099649")}
    assert 0.9 < review.score < 1.0


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"title": "Acupuncture for pain. Part 1."}, {"title": "Acupuncture for pain. Part 2."}),
        ({"published": "2012"}, {"published": "2017"}),
        ({"authors": ["Flaherty KT"]}, {"authors": ["Robert C", "Hersey P"]}),
    ],
)  # fmt: skip
def test_same_or_near_title_of_different_works_stays_apart(
    first: dict[str, object], second: dict[str, object]
) -> None:
    pubmed = real(NEJM)
    a = imported(pubmed, "a", **first)
    b = imported(pubmed, "b", **second)
    assert not together(dedupe.cluster(keyed(a, b)), a, b)


def test_equal_titles_without_authors_need_year_and_journal() -> None:
    pubmed = real(NEJM)
    bare = imported(pubmed, "bare", authors=[], journal=None)
    with_journal = imported(pubmed, "journal", authors=[], journal="N Engl J Med")
    result = dedupe.cluster(keyed(pubmed, bare, with_journal))
    assert together(result, pubmed, with_journal)  # abbreviation agrees with the full title
    assert not together(result, pubmed, bare)
    assert any(("import", "bare") in (d.key_a, d.key_b) for d in result.possible_duplicates)


def test_protocol_and_results_of_one_trial_are_linked_not_merged() -> None:
    pubmed = real(NEJM)
    protocol = imported(
        pubmed, "protocol", title=pubmed.title.rstrip(".") + ": study protocol for a trial",
        publication_types=["Clinical Trial Protocol"], published="2010", nct_ids=["NCT01245062"],
    )  # fmt: skip
    result = dedupe.cluster(keyed(pubmed, protocol))
    assert not together(result, pubmed, protocol)
    assert [(link.key_a, link.key_b, link.kind) for link in result.links] == [
        (("import", "protocol"), ("pubmed", "22663011"), "protocol-of")
    ]


# --------------------------------------------------------------------------- versions


def _preprint(record: RecordData, **extra: object) -> RecordData:
    return RecordData(
        source="europepmc",
        source_id="PPR:PPR9000001",
        doi="10.1101/2011.06.01.00000001",
        title=record.title,
        journal="medRxiv",
        published="2011-06-01",
        authors=list(record.authors),
        publication_types=["preprint"],
        extra={"is_preprint": True, **extra},
    )


@pytest.mark.parametrize("linked", [True, False])
def test_preprint_and_journal_version_are_one_study_with_the_journal_primary(linked: bool) -> None:
    pubmed = real(NEJM)
    link = {"published_version": {"source": "MED", "id": "22663011", "type": "Preprint of"}}
    preprint = _preprint(pubmed, **(link if linked else {}))
    result = dedupe.cluster(keyed(preprint, pubmed))
    assert result.clusters == [[("pubmed", "22663011"), ("europepmc", "PPR:PPR9000001")]]
    assert not result.preprint
    merged, provenance = merge.merge_fields([preprint, pubmed])
    assert merged["doi"] == "10.1056/nejmoa1203421" and provenance["doi"] == ("pubmed", "22663011")
    assert slugs.study_slug([preprint, pubmed]) == "pmid-22663011"


def test_real_pubmed_update_of_a_biorxiv_preprint_merges_them() -> None:
    journal = real(LEAD)
    [entry] = [e for e in journal.extra["comments_corrections"] if e["ref_type"] == "UpdateOf"]
    # the preprint's own title is not in the corpus: a changed title must not matter
    preprint = RecordData(
        source="pubmed", source_id=entry["pmid"], pmid=entry["pmid"],
        doi="10.1101/2023.09.29.560131", title="Lead and phthalates in mice (preprint title)",
        published="2023", authors=journal.authors[:2], publication_types=["Preprint"],
    )  # fmt: skip
    result = dedupe.cluster(keyed(journal, preprint))
    assert result.clusters == [[("pubmed", "38833407"), ("pubmed", "37873115")]]
    assert slugs.study_slug([preprint, journal]) == "pmid-38833407"
    # ...but other authors on another title make the link a conflict, not a merge
    stranger = replace(preprint, authors=["Nobody A", "Else B"])
    result = dedupe.cluster(keyed(journal, stranger))
    assert len(result.clusters) == 2
    assert [c.scheme for c in result.conflicts] == ["version"]


def test_a_preprint_alone_is_flagged_and_keeps_its_own_ids() -> None:
    preprint = next(r for k, r in _real().items() if k.startswith("europepmc:PPR:"))
    result = dedupe.cluster(keyed(preprint))
    assert result.preprint == {0}
    assert slugs.study_slug([preprint]).startswith("doi-10.")


# --------------------------------------------------------------------------- links and flags


def test_erratum_notice_is_linked_and_flags_its_target() -> None:
    pubmed = real(NEJM)
    erratum = RecordData(
        source="pubmed", source_id="90000001", pmid="90000001", title=f"Erratum: {pubmed.title}",
        publication_types=["Published Erratum"], published="2012",
        extra={"comments_corrections": [{"ref_type": "ErratumFor", "pmid": "22663011"}]},
    )  # fmt: skip
    result = dedupe.cluster(keyed(pubmed, erratum))
    assert not together(result, pubmed, erratum)
    assert result.has_erratum == {cluster_of(result, pubmed)}
    assert result.retracted == set()
    assert [(link.key_a, link.key_b, link.kind) for link in result.links] == [
        (("pubmed", "90000001"), ("pubmed", "22663011"), "erratum-for")
    ]


def test_notice_found_by_its_title_alone_links_to_the_only_work_with_that_title() -> None:
    pubmed = real(NEJM)
    notice = RecordData(source="rss", source_id="c1", title=f"Correction to: {pubmed.title}")
    result = dedupe.cluster(keyed(pubmed, notice))
    assert not together(result, pubmed, notice)
    assert [link.kind for link in result.links] == ["erratum-for"]
    assert result.has_erratum == {cluster_of(result, pubmed)}


def test_retraction_notice_marks_its_target_retracted() -> None:
    rats = real(RATS)
    notice = RecordData(
        source="pubmed", source_id="90000002", pmid="90000002",
        title=f"Retraction Note: {rats.title}", publication_types=["Retraction of Publication"],
        extra={"comments_corrections": [{"ref_type": "RetractionOf", "pmid": rats.pmid}]},
    )  # fmt: skip
    result = dedupe.cluster(keyed(rats, notice, real(MICE)))
    assert result.retracted == {cluster_of(result, rats)}
    assert not together(result, rats, notice)
    assert ("pubmed", "90000002") in {
        link.key_a for link in result.links if link.kind == "retraction-of"
    }


def test_flags_from_the_record_itself() -> None:
    erratum_in = real(PLOS)  # real CommentsCorrections ErratumIn without a PMID
    retracted = replace(real(RATS), publication_types=["Journal Article", "Retracted Publication"])
    result = dedupe.cluster(keyed(erratum_in, retracted))
    assert result.has_erratum == {cluster_of(result, erratum_in)}
    assert result.retracted == {cluster_of(result, retracted)}


def test_registration_links_from_the_registry_reference_list() -> None:
    payload = (
        CORPUS / "clinicaltrials" / "aact_v2_study_NCT03630471_documentsection.json"
    ).read_bytes()
    [registration] = parse_ctgov_json(payload).records
    listed = [r for r in registration.extra["references"] if r["type"] == "DERIVED"]
    papers = [
        RecordData(
            source="import",
            source_id=f"ref-{r['pmid']}",
            pmid=r["pmid"],
            title=str(r["citation"]).split(". ")[1],
        )
        for r in listed
    ]
    result = dedupe.cluster(keyed(registration, *papers))
    kinds = [(link.key_a[1], link.key_b[1], link.kind) for link in result.links]
    for paper in papers:
        assert (paper.source_id, "NCT03630471", "registration") in kinds
    protocol = next(p for p in papers if "protocol" in p.title)
    assert sum(kind == "protocol-of" and a == protocol.source_id for a, _, kind in kinds) == 2
    assert len(result.clusters) == 1 + len(papers)


# --------------------------------------------------------------------------- merging


def test_merge_fields_takes_each_field_from_the_best_record_that_has_it() -> None:
    pubmed = real(NEJM)
    epmc = europepmc_copy(pubmed, keep_pmid=True)
    feed = RecordData(
        source="rss", source_id="item", doi=pubmed.doi, title="Feed title", abstract=None
    )
    pubmed.abstract = None  # PubMed lacks it here: the next best record supplies it
    epmc.abstract = "From Europe PMC."
    merged, provenance = merge.merge_fields([epmc, feed, pubmed])
    assert merged["title"] == pubmed.title and provenance["title"] == ("pubmed", "22663011")
    assert merged["abstract"] == "From Europe PMC." and provenance["abstract"] == (
        "europepmc",
        "MED:22663011",
    )
    assert merged["nct_ids"] == ["NCT01245062"]
    assert set(merged) == set(merge.MERGED_FIELDS)


@pytest.mark.parametrize(
    ("record", "slug"),
    [
        (RecordData(source="pubmed", source_id="36812345", pmid="36812345"), "pmid-36812345"),
        (RecordData(source="clinicaltrials", source_id="NCT01234567"), "nct-nct01234567"),
        (RecordData(source="rss", source_id="x", doi="10.1000/ABC(12)3"), "doi-10.1000-abc-12-3"),
        (RecordData(source="import", source_id="My Library #7"), "import-my-library-7"),
    ],
)  # fmt: skip
def test_study_slug(record: RecordData, slug: str) -> None:
    assert slugs.study_slug([record]) == slug


def test_works_kept_apart_still_get_distinct_slugs() -> None:
    pubmed = real(NEJM)
    epmc = europepmc_copy(pubmed, keep_pmid=True)
    decisions = {frozenset({("pubmed", "22663011"), ("europepmc", "MED:22663011")}): "keep-apart"}
    result = dedupe.cluster(keyed(epmc, pubmed), decisions=decisions)
    works = [[keyed(epmc, pubmed)[k] for k in keys] for keys in result.clusters]
    assert [slugs.study_slug(w) for w in works] == ["pmid-22663011", "pmid-22663011"]
    unique = slugs.unique_slugs(works)
    owner = next(i for i, w in enumerate(works) if w[0].source == "pubmed")
    assert unique[owner] == "pmid-22663011"
    assert unique[1 - owner] == "pmid-22663011-2"


# --------------------------------------------------------------------------- the whole set


@cache
def _evaluation() -> EvalSet:
    return build_eval_set()


@cache
def _eval_subset() -> tuple[tuple[str, RecordData], ...]:
    """A deterministic sample of the evaluation set (all kinds of variants and notices)."""
    return tuple(_evaluation().records[::5])


def _snapshot(result: dedupe.DedupeResult[str]) -> tuple[object, ...]:
    return (
        result.clusters,
        result.links,
        result.possible_duplicates,
        result.conflicts,
        result.retracted,
        result.has_erratum,
        result.preprint,
    )


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_order_of_arrival_does_not_change_the_result(seed: int) -> None:
    records = list(_eval_subset())
    expected = _snapshot(dedupe.cluster(records))
    random.Random(seed).shuffle(records)
    assert _snapshot(dedupe.cluster(records)) == expected


def test_idempotent_and_a_fixed_point_of_its_own_decisions() -> None:
    records = list(_eval_subset())
    first = dedupe.cluster(records)
    assert _snapshot(dedupe.cluster(records)) == _snapshot(first)
    merges = {frozenset((c[0], k)): "merge" for c in first.clusters for k in c[1:]}
    apart = {frozenset((d.key_a, d.key_b)): "keep-apart" for d in first.possible_duplicates}
    again = dedupe.cluster(records, decisions={**merges, **apart})
    assert again.clusters == first.clusters
    assert again.possible_duplicates == []


def test_human_decisions_win() -> None:
    rats, mice, pubmed = real(RATS), real(MICE), real(NEJM)
    epmc = europepmc_copy(pubmed)
    decisions = {
        frozenset({("pubmed", "10828276"), ("pubmed", "11099649")}): "merge",
        frozenset({("pubmed", "22663011"), ("europepmc", "MED:22663011")}): "keep-apart",
    }
    result = dedupe.cluster(keyed(rats, mice, pubmed, epmc), decisions=decisions)
    assert together(result, rats, mice)
    assert not together(result, pubmed, epmc)  # despite the shared PMID
    assert result.possible_duplicates == []


def test_keep_apart_holds_against_a_chain_of_merges() -> None:
    pubmed = real(NEJM)
    epmc = europepmc_copy(pubmed)
    feed = RecordData(source="rss", source_id="item", doi=pubmed.doi, title=pubmed.title)
    decisions = {frozenset({("rss", "item"), ("europepmc", "MED:22663011")}): "keep-apart"}
    result = dedupe.cluster(keyed(pubmed, epmc, feed), decisions=decisions)
    assert not together(result, feed, epmc)
    assert len(result.clusters) == 2


def test_evaluation_set_precision_and_recall() -> None:
    evaluation = _evaluation()
    result = dedupe.cluster(evaluation.records)
    scores = pairwise_scores(result.cluster_of, evaluation.truth)
    assert scores.precision == 1.0
    assert scores.recall >= 0.995


def test_scale_set_stays_precise() -> None:
    records, truth = build_scale_set(_evaluation(), stored=3000, new=3000)
    scores = pairwise_scores(dedupe.cluster(records).cluster_of, truth)
    assert scores.precision == 1.0
    assert scores.recall >= 0.99


def _keys(records: Sequence[tuple[str, RecordData]]) -> set[str]:
    return {k for k, _ in records}


def test_keys_are_returned_exactly_once() -> None:
    records = list(_eval_subset())
    result = dedupe.cluster(records)
    flat = [k for c in result.clusters for k in c]
    assert len(flat) == len(set(flat)) == len(records)
    assert set(flat) == _keys(records)


def test_nccih_news_item_and_the_page_it_announces_are_one_work() -> None:
    from digest.sources.nccih.parse import extract_page, parse_nccih_feed
    from tests.conftest import FIXTURES

    handmade = FIXTURES / "handmade"
    url = (
        "https://www.nccih.nih.gov/health/"
        "low-back-pain-and-complementary-health-approaches-what-you-need-to-know"
    )
    page = extract_page(
        (handmade / "handmade_nccih_lowback_v1.html").read_bytes(), url, ["main"], "guideline"
    )
    news = [
        r
        for r in parse_nccih_feed((handmade / "handmade_nccih_news_rss.xml").read_bytes()).records
        if r.url and r.url.split("?")[0] == url
    ]
    assert news, "the hand-made feed announces the low-back-pain page"
    result = dedupe.cluster({"page": page, "news": news[0]})
    assert result.clusters == [["page", "news"]]
