"""Dedupe benchmark: pairwise precision/recall on a labelled set derived from the real
corpus, an exact-match baseline, and the time and memory to cluster 50k + 50k records.

    python -m bench.bench_dedupe [--scale 50000] [--seed 20261122] [--no-memory]

How the evaluation set is derived is written down in tests/fixtures/dedupe_eval/README.md;
keep the two in step. Every derived record is made from a real recorded record by a
deterministic, seeded transformation (random.Random seeded with a string).
"""

from __future__ import annotations

import argparse
import copy
import html
import random
import re
import resource
import sys
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from digest.facts import is_preprint, normalize_doi, normalize_pmcid, normalize_pmid
from digest.model import RecordData
from digest.sources.clinicaltrials.parse import parse_ctgov_json, parse_ctgov_legacy_xml
from digest.sources.europepmc.parse import parse_europepmc_json, parse_europepmc_xml
from digest.sources.pubmed.parse import parse_efetch
from digest.studies import cluster as dedupe
from digest.studies import features, normalize

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "corpus"
SEED = 20261122
# Synthetic identifiers use ranges no real record has: DOIs under Crossref's test prefix
# 10.5555, PMIDs from 90,000,000, Europe PMC preprint ids from PPR9000000.
TEST_DOI_PREFIX = "10.5555"
SYNTHETIC_PMID_BASE = 90_000_000
SYNTHETIC_PPR_BASE = 9_000_000


# --------------------------------------------------------------------------- real records


def load_real_records(corpus: Path = CORPUS) -> list[tuple[str, RecordData]]:
    """Every record of the recorded PubMed, Europe PMC and ClinicalTrials.gov payloads,
    parsed by the source kinds' parsers, keyed '<file name>/<source>:<source_id>'."""
    loaders: list[tuple[str, Callable[[bytes], Any]]] = [
        ("pubmed-efetch/*.xml", parse_efetch),
        ("europepmc/*.json", parse_europepmc_json),
        ("europepmc/*.xml", parse_europepmc_xml),
        ("clinicaltrials/*.json", parse_ctgov_json),
        ("acupuncture/clinicaltrials-legacy-xml/*.xml", parse_ctgov_legacy_xml),
    ]
    found: list[tuple[str, RecordData]] = []
    for pattern, parse in loaders:
        for path in sorted(corpus.glob(pattern)):
            for record in parse(path.read_bytes()).records:
                found.append((f"{path.name}/{record.source}:{record.source_id}", record))
    return found


def _real_ids(record: RecordData) -> set[tuple[str, str]]:
    """The authoritative ids a real record carries (independent of digest.studies.cluster)."""
    ids = {("record", f"{record.source}:{record.source_id}")}
    pmid = normalize_pmid(record.pmid)
    if record.source == "europepmc" and record.source_id.startswith("MED:"):
        pmid = pmid or normalize_pmid(record.source_id[4:])
    for scheme, value in (
        ("pmid", pmid),
        ("pmcid", normalize_pmcid(record.pmcid)),
        ("doi", normalize_doi(record.doi)),
    ):
        if value:
            ids.add((scheme, value))
    return ids


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Hashable, Hashable] = {}

    def find(self, item: Hashable) -> Hashable:
        self.parent.setdefault(item, item)
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: Hashable, b: Hashable) -> None:
        self.parent[self.find(a)] = self.find(b)


# Europe PMC's "cancer" search lists 16 articles twice: as MED:<pmid> and as their PMC
# full text PMC:<pmcid>, and neither lite record names the other's id. Checked by hand:
# same title, author list, journal and dates within two weeks; one work each.
VERIFIED_SAME_WORK = [
    ("MED:40452325", "PMC:PMC12127779"), ("MED:40452566", "PMC:PMC12127775"),
    ("MED:40453732", "PMC:PMC12122767"), ("MED:40454580", "PMC:PMC12129453"),
    ("MED:40458472", "PMC:PMC12129589"), ("MED:40459892", "PMC:PMC12134947"),
    ("MED:40461929", "PMC:PMC12133657"), ("MED:40462315", "PMC:PMC12133613"),
    ("MED:40465178", "PMC:PMC12137852"), ("MED:40473579", "PMC:PMC12140977"),
    ("MED:40474010", "PMC:PMC12141191"), ("MED:40481876", "PMC:PMC12145344"),
    ("MED:40481938", "PMC:PMC12145384"), ("MED:40527815", "PMC:PMC12173287"),
    ("MED:40535082", "PMC:PMC12170216"), ("MED:40535912", "PMC:PMC12174963"),
]  # fmt: skip


def real_truth(records: Sequence[tuple[str, RecordData]]) -> dict[str, str]:
    """Work id per real record: records sharing a PMID, PMCID or DOI are one work, and
    so are the hand-checked pairs of VERIFIED_SAME_WORK."""
    union = _UnionFind()
    for key, record in records:
        for identifier in _real_ids(record):
            union.union(("key", key), identifier)
    for med, pmc in VERIFIED_SAME_WORK:
        union.union(("record", f"europepmc:{med}"), ("record", f"europepmc:{pmc}"))
    roots: dict[Hashable, str] = {}
    truth = {}
    for key, _ in records:
        root = union.find(("key", key))
        truth[key] = roots.setdefault(root, f"W{len(roots):05d}")
    return truth


# --------------------------------------------------------------------------- variations

_SPELLING = [
    ("randomized", "randomised"), ("randomization", "randomisation"), ("tumor", "tumour"),
    ("behavior", "behaviour"), ("color", "colour"), ("anemia", "anaemia"),
    ("esophag", "oesophag"), ("pediatric", "paediatric"), ("center", "centre"),
    ("modeling", "modelling"), ("characteriz", "characteris"), ("organiz", "organis"),
    ("hemorrhag", "haemorrhag"), ("estrogen", "oestrogen"), ("analyz", "analys"),
]  # fmt: skip


def _spelling_swap(title: str) -> str:
    for american, british in _SPELLING:
        for old, new in ((british, american), (american, british)):
            # at a word start only: "esophag" must not match inside "Oesophagogastric"
            changed = re.sub(rf"(?<![A-Za-z]){old}", new, title)
            if changed != title:
                return changed
    return title


def _toggle_period(title: str) -> str:
    return title[:-1] if title.endswith(".") else title + "."


def _italic_first_long_word(title: str) -> str:
    words = title.split(" ")
    for i, word in enumerate(words):
        if len(word) > 6 and word.isalpha():
            words[i] = f"<i>{word}</i>"
            return " ".join(words)
    return title


TITLE_VARIATIONS: dict[str, Callable[[str], str]] = {
    "upper-case": str.upper,
    "lower-case": str.lower,
    "no-punctuation": lambda t: re.sub(r"[,:;()]", "", t),
    "colon-as-dash": lambda t: t.replace(": ", " - "),
    "unicode-dashes": lambda t: t.replace("-", "\u2010").replace(" - ", " \u2013 "),
    "curly-quotes": lambda t: t.replace("'", "\u2019").replace('"', "\u201c"),
    "translated-brackets": lambda t: f"[{t.rstrip('.')}].",
    "trailing-period": _toggle_period,
    "markup": _italic_first_long_word,
    "escaped-markup": lambda t: html.escape(_italic_first_long_word(t)),
    "spelling": _spelling_swap,
    "extra-spaces": lambda t: "  " + t.replace(" ", "  ", 2) + " ",
}


def vary_title(title: str, rng: random.Random) -> tuple[str, list[str]]:
    names = rng.sample(sorted(TITLE_VARIATIONS), k=rng.randint(1, 3))
    for name in names:
        title = TITLE_VARIATIONS[name](title)
    return title, names


def _initials_with_dots(initials: str) -> str:
    return "".join(f"{c}." for c in initials if c.isalpha())


def _author_forms(author: str, form: str) -> str:
    parts = author.split()
    if len(parts) < 2 or not parts[-1].isupper() or len(parts[-1]) > 3:
        return author  # a collective name or a name we cannot split
    family, initials = " ".join(parts[:-1]), parts[-1]
    if form == "family-comma-initials":
        return f"{family}, {_initials_with_dots(initials)}"
    if form == "initials-first":
        return f"{_initials_with_dots(initials)} {family}"
    if form == "upper-family":
        return f"{family.upper()} {initials}"
    return author


def vary_authors(authors: Sequence[str], rng: random.Random) -> tuple[list[str], str]:
    form = rng.choice(["family-comma-initials", "initials-first", "upper-family", "same"])
    varied = [_author_forms(a, form) for a in authors]
    if len(varied) > 3 and rng.random() < 0.5:
        return [*varied[:3], "et al."], f"{form}+truncated"
    return varied, form


def add_typo(title: str, rng: random.Random) -> str | None:
    """One edit (swap, substitute, drop) inside the longest alphabetic word of 7+ letters."""
    words = title.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 7 and w.isalpha()]
    if not candidates:
        return None
    i = max(candidates, key=lambda j: (len(words[j]), -j))
    word = words[i]
    p = rng.randint(1, len(word) - 3)
    kind = rng.choice(["swap", "substitute", "drop"])
    if kind == "swap":
        word = word[:p] + word[p + 1] + word[p] + word[p + 2 :]
    elif kind == "substitute":
        letter = "e" if word[p].lower() != "e" else "a"
        word = word[:p] + letter + word[p + 1 :]
    else:
        word = word[:p] + word[p + 1 :]
    if word == words[i]:
        return None
    words[i] = word
    return " ".join(words)


def _year_of(record: RecordData) -> int | None:
    match = re.search(r"\d{4}", record.published or "")
    return int(match.group(0)) if match else None


# --------------------------------------------------------------------------- eval set


@dataclass
class EvalSet:
    """Records with their true work, how each was made, and the links/flags expected."""

    records: list[tuple[str, RecordData]] = field(default_factory=list)
    truth: dict[str, str] = field(default_factory=dict)
    variant: dict[str, str] = field(default_factory=dict)
    expected_links: set[tuple[str, str, str]] = field(default_factory=set)
    expected_retracted: set[str] = field(default_factory=set)
    expected_erratum: set[str] = field(default_factory=set)
    hard_negatives: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, key: str, record: RecordData, work: str, variant: str) -> None:
        self.records.append((key, record))
        self.truth[key] = work
        self.variant[key] = variant


@dataclass
class _Work:
    """A real work and the record that stands for it when deriving copies."""

    work: str
    base: RecordData
    records: list[tuple[str, RecordData]]


def _pick_base(records: Sequence[tuple[str, RecordData]]) -> RecordData:
    order = {"pubmed": 0, "europepmc": 1}
    return min((r for _, r in records), key=lambda r: (order.get(r.source, 2), r.source_id))


def _epmc_copy(base: RecordData, rng: random.Random) -> RecordData:
    """The PubMed record as Europe PMC would serve it: MED:<pmid>, ISO journal, ids thinned."""
    pmid = str(base.pmid)
    return RecordData(
        source="europepmc",
        source_id=f"MED:{pmid}",
        pmid=pmid if rng.random() < 0.5 else None,
        doi=base.doi if rng.random() < 0.7 else None,
        pmcid=base.pmcid if rng.random() < 0.5 else None,
        title=base.title,
        abstract=base.abstract,
        journal=str(base.extra.get("journal_abbreviation") or base.journal or "") or None,
        published=(base.published or "")[:4] if rng.random() < 0.5 else base.published,
        authors=list(base.authors),
        publication_types=[t.lower() for t in base.publication_types],
        language=base.language,
        extra={"epmc_source": "MED", "epmc_id": pmid, "is_preprint": False},
    )


def _pubmed_copy(base: RecordData, rng: random.Random) -> RecordData:
    """A Europe PMC MED record as PubMed efetch would give it (title period toggled)."""
    return RecordData(
        source="pubmed",
        source_id=str(base.pmid),
        pmid=base.pmid,
        doi=base.doi if rng.random() < 0.8 else None,
        pmcid=base.pmcid,
        title=_toggle_period(base.title),
        abstract=base.abstract,
        journal=base.journal,
        published=base.published,
        authors=list(base.authors),
        publication_types=[t.title() for t in base.publication_types],
    )


DOI_FORMS: dict[str, Callable[[str], str]] = {
    "https-doi-org": lambda d: f"https://doi.org/{d}",
    "dx-doi-org": lambda d: f"http://dx.doi.org/{d}",
    "doi-prefix-upper": lambda d: f"doi:{d.upper()}",
    "upper-case": str.upper,
    "trailing-period": lambda d: f"{d}.",
}


def _feed_copy(base: RecordData, rng: random.Random, n: int) -> tuple[RecordData, str]:
    """A journal RSS item: the DOI written another way, maybe no authors, no PMID."""
    form = rng.choice(sorted(DOI_FORMS))
    doi = DOI_FORMS[form](str(base.doi))
    record = RecordData(
        source="rss",
        source_id=f"https://journal.example/item/{n}",
        doi=doi,
        title=base.title if rng.random() < 0.7 else _italic_first_long_word(base.title),
        abstract=None,
        journal=base.journal,
        published=base.published,
        authors=list(base.authors) if rng.random() < 0.5 else [],
    )
    return record, f"feed-doi:{form}"


def _import_copy(
    base: RecordData, rng: random.Random, n: int, typo: bool
) -> tuple[RecordData, str] | None:
    """A clinic's imported reference: no ids, title and authors written differently."""
    title, changes = vary_title(base.title, rng)
    if typo:
        typo_title = add_typo(base.title, rng)
        if typo_title is None:
            return None
        title, changes = typo_title, ["typo"]
    authors, author_form = vary_authors(base.authors, rng)
    year = _year_of(base)
    shifted = year is not None and rng.random() < 0.2
    journal = rng.choice([base.journal, base.extra.get("journal_abbreviation"), None])
    record = RecordData(
        source="import",
        source_id=f"library-{n}",
        title=title,
        journal=str(journal) if journal else None,
        published=str(year + 1 if shifted and year else year) if year else None,
        authors=authors,
    )
    label = "import-typo" if typo else "import-stripped"
    return (
        record,
        f"{label}:{'+'.join(changes)};authors {author_form}{'; year+1' if shifted else ''}",
    )


def _preprint_of(base: RecordData, n: int, mode: str) -> RecordData:
    """A medRxiv-style preprint of the work: same title and authors, a year earlier."""
    year = _year_of(base) or 2020
    extra: dict[str, Any] = {"is_preprint": True, "epmc_source": "PPR"}
    if mode == "europepmc-link" and base.pmid:
        extra["published_version"] = {"source": "MED", "id": base.pmid, "type": "Preprint of"}
    return RecordData(
        source="europepmc",
        source_id=f"PPR:PPR{SYNTHETIC_PPR_BASE + n}",
        doi=f"10.1101/{year - 1}.{1 + n % 12:02d}.{1 + n % 28:02d}.{n:08d}",
        title=base.title,
        journal="medRxiv",
        published=f"{year - 1}-06-01",
        authors=list(base.authors),
        publication_types=["preprint"],
        extra=extra,
    )


def _with_update_of(base: RecordData, preprint_doi: str) -> RecordData:
    """The real record plus the PubMed "UpdateOf" entry naming its preprint's DOI."""
    updated = copy.deepcopy(base)
    entries = list(updated.extra.get("comments_corrections") or [])
    entries.append(
        {"ref_type": "UpdateOf", "ref_source": f"medRxiv. doi: {preprint_doi}", "pmid": None}
    )
    updated.extra["comments_corrections"] = entries
    return updated


def _erratum_for(base: RecordData, n: int, mode: str) -> RecordData:
    """An erratum notice about the work (PubMed-linked, DOI in text, or title only)."""
    prefix = ["Erratum: ", "Correction to: ", 'Corrigendum to "'][n % 3]
    title = prefix + base.title.rstrip(".") + ('"' if prefix.endswith('"') else "") + "."
    extra: dict[str, Any] = {}
    abstract = None
    if mode == "pubmed-link":
        extra["comments_corrections"] = [
            {"ref_type": "ErratumFor", "ref_source": base.journal, "pmid": base.pmid}
        ]
    elif mode == "doi-in-text":
        abstract = f"[This corrects the article DOI: {base.doi}.]"
    return RecordData(
        source="pubmed" if mode == "pubmed-link" else "rss",
        source_id=str(SYNTHETIC_PMID_BASE + n) if mode == "pubmed-link" else f"erratum-{n}",
        pmid=str(SYNTHETIC_PMID_BASE + n) if mode == "pubmed-link" else None,
        doi=f"{TEST_DOI_PREFIX}/erratum.{n}",
        title=title,
        abstract=abstract,
        journal=base.journal,
        published=base.published,
        publication_types=["Published Erratum"] if mode == "pubmed-link" else [],
        extra=extra,
    )


def _retraction_for(base: RecordData, n: int) -> RecordData:
    pmid = str(SYNTHETIC_PMID_BASE + n)
    return RecordData(
        source="pubmed",
        source_id=pmid,
        pmid=pmid,
        doi=f"{TEST_DOI_PREFIX}/retraction.{n}",
        title=f"Retraction Note: {base.title}",
        journal=base.journal,
        published=str((_year_of(base) or 2020) + 2),
        publication_types=["Retraction of Publication"],
        extra={
            "comments_corrections": [
                {"ref_type": "RetractionOf", "ref_source": base.journal, "pmid": base.pmid}
            ]
        },
    )


def _protocol_for(base: RecordData, n: int) -> RecordData:
    """A protocol paper of the same trial: the title plus 'study protocol ...', 2 years on."""
    year = _year_of(base) or 2020
    return RecordData(
        source="import",
        source_id=f"protocol-{n}",
        doi=f"{TEST_DOI_PREFIX}/protocol.{n}",
        nct_ids=list(base.nct_ids),
        title=f"{base.title.rstrip('.')}: study protocol for a randomised controlled trial.",
        journal="Trials",
        published=str(year - 2),
        authors=list(base.authors),
        publication_types=["Clinical Trial Protocol"],
    )


def _series_part(base: RecordData, n: int, part: int) -> RecordData:
    return RecordData(
        source="import",
        source_id=f"series-{n}-{part}",
        title=f"{base.title.rstrip('.')}. Part {part}.",
        journal=base.journal,
        published=base.published,
        authors=list(base.authors),
    )


def _other_year(base: RecordData, n: int) -> RecordData | None:
    year = _year_of(base)
    if year is None:
        return None
    return RecordData(
        source="import",
        source_id=f"other-year-{n}",
        title=base.title,
        journal=base.journal,
        published=str(year + 5),
        authors=list(base.authors),
    )


def _real_works(records: Sequence[tuple[str, RecordData]], truth: Mapping[str, str]) -> list[_Work]:
    grouped: dict[str, list[tuple[str, RecordData]]] = defaultdict(list)
    for key, record in records:
        grouped[truth[key]].append((key, record))
    return [_Work(work, _pick_base(items), items) for work, items in sorted(grouped.items())]


def _is_article(record: RecordData) -> bool:
    return features.notice_kind(record) is None and not features.is_registration(record)


def _derive_copies(ev: EvalSet, work: _Work, rng: random.Random, n: int) -> None:
    base = work.base
    if base.source == "pubmed" and base.pmid and rng.random() < 0.7:
        ev.add(f"derived/epmc-copy/{n}", _epmc_copy(base, rng), work.work, "epmc-copy")
    if base.source == "europepmc" and base.pmid and rng.random() < 0.5:
        ev.add(f"derived/pubmed-copy/{n}", _pubmed_copy(base, rng), work.work, "pubmed-copy")
    if base.doi and rng.random() < 0.6:
        record, label = _feed_copy(base, rng, n)
        ev.add(f"derived/feed/{n}", record, work.work, label)
    if base.title and rng.random() < 0.6:
        made = _import_copy(base, rng, n, typo=False)
        if made:
            ev.add(f"derived/import/{n}", made[0], work.work, made[1])
    if base.title and base.authors and rng.random() < 0.12:
        made = _import_copy(base, rng, n + 500_000, typo=True)
        if made:
            ev.add(f"derived/import-typo/{n}", made[0], work.work, made[1])


def _derive_versions(ev: EvalSet, work: _Work, rng: random.Random, n: int) -> None:
    base = work.base
    if base.source != "pubmed" or not base.authors or base.pmid is None:
        return
    if is_preprint(base) or rng.random() >= 0.12:
        return
    mode = rng.choice(["europepmc-link", "pubmed-update-of", "title-and-authors"])
    preprint = _preprint_of(base, n, mode)
    ev.add(f"derived/preprint/{n}", preprint, work.work, f"preprint:{mode}")
    if mode == "pubmed-update-of":
        for i, (key, record) in enumerate(ev.records):
            if record is base:
                ev.records[i] = (key, _with_update_of(base, str(preprint.doi)))


def _derive_negatives(ev: EvalSet, work: _Work, rng: random.Random, n: int) -> None:
    base, roll = work.base, rng.random()
    if roll < 0.05 and base.pmid:
        mode = ["pubmed-link", "doi-in-text", "title-only"][n % 3]
        if mode != "doi-in-text" or base.doi:
            key = f"derived/erratum/{n}"
            ev.add(key, _erratum_for(base, n, mode), f"{work.work}-erratum", f"erratum:{mode}")
            ev.expected_links.add((f"{work.work}-erratum", work.work, "erratum-for"))
            ev.expected_erratum.add(work.work)
            ev.hard_negatives.append((key, work.records[0][0], "erratum vs article"))
    elif roll < 0.065 and base.pmid:
        key = f"derived/retraction/{n}"
        ev.add(key, _retraction_for(base, n), f"{work.work}-retraction", "retraction")
        ev.expected_links.add((f"{work.work}-retraction", work.work, "retraction-of"))
        ev.expected_retracted.add(work.work)
        ev.hard_negatives.append((key, work.records[0][0], "retraction vs article"))
    elif roll < 0.10:
        key = f"derived/protocol/{n}"
        ev.add(key, _protocol_for(base, n), f"{work.work}-protocol", "protocol")
        if base.nct_ids:
            ev.expected_links.add((f"{work.work}-protocol", work.work, "protocol-of"))
        ev.hard_negatives.append((key, work.records[0][0], "protocol vs results"))
    elif roll < 0.13 and not re.search(r"\d", base.title):
        for part in (1, 2):
            key = f"derived/series/{n}-{part}"
            ev.add(
                key, _series_part(base, n, part), f"{work.work}-part{part}", f"series:part {part}"
            )
        ev.hard_negatives.append(
            (f"derived/series/{n}-1", f"derived/series/{n}-2", "series part 1 vs part 2")
        )
    elif roll < 0.16:
        other = _other_year(base, n)
        if other:
            key = f"derived/other-year/{n}"
            ev.add(key, other, f"{work.work}-later", "same title, 5 years later")
            ev.hard_negatives.append((key, work.records[0][0], "same title, other year"))


def _derive_bad_dois(ev: EvalSet, works: Sequence[_Work], rng: random.Random) -> None:
    """Imported references of one work carrying another work's DOI (a typing slip)."""
    with_doi = [w for w in works if w.base.doi and w.base.title and _is_article(w.base)]
    for n, work in enumerate(rng.sample(with_doi, k=min(20, len(with_doi) // 2))):
        donor = with_doi[(with_doi.index(work) + 7) % len(with_doi)]
        title, _ = vary_title(work.base.title, rng)
        record = RecordData(
            source="import",
            source_id=f"bad-doi-{n}",
            doi=str(donor.base.doi),
            title=title,
            journal=work.base.journal,
            published=work.base.published,
            authors=list(work.base.authors),
        )
        key = f"derived/bad-doi/{n}"
        ev.add(key, record, work.work, "bad-doi")
        ev.hard_negatives.append((key, donor.records[0][0], "another work's DOI"))


_CITATION = re.compile(
    r"^(?P<authors>[^.]+?)\. (?P<title>.+?[.?!]) (?P<journal>[^.;]+?)\. (?P<year>\d{4})\b"
)


def _registry_publications(ev: EvalSet, truth_of_pmid: Mapping[str, str]) -> None:
    """Imported references made from the citations a trial registration lists (real
    titles, authors, journals and PMIDs), linked to the registration by its pmid list."""
    for key, record in list(ev.records):
        if not features.is_registration(record):
            continue
        for n, reference in enumerate(record.extra.get("references") or []):
            pmid, kind = reference.get("pmid"), str(reference.get("type") or "")
            match = _CITATION.match(str(reference.get("citation") or ""))
            if not pmid or kind not in ("RESULT", "DERIVED") or not match:
                continue
            work = truth_of_pmid.get(pmid, f"pmid{pmid}")
            citation_doi = re.search(r"doi: (\S+?)\.?(?: |$)", str(reference.get("citation")))
            imported = RecordData(
                source="import",
                source_id=f"{record.source_id}-ref-{n}",
                pmid=pmid,
                doi=citation_doi.group(1) if citation_doi else None,
                title=match.group("title"),
                journal=match.group("journal"),
                published=match.group("year"),
                authors=[a.strip() for a in match.group("authors").split(",")],
            )
            ev.add(
                f"derived/registry-citation/{record.source_id}/{n}",
                imported,
                work,
                "registry-citation",
            )
            ev.expected_links.add((work, ev.truth[key], "registration"))
    _expect_trial_links(ev)


def _expect_trial_links(ev: EvalSet) -> None:
    by_trial: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    for key, record in ev.records:
        if ev.variant[key] == "registry-citation":
            trial = record.source_id.split("-ref-")[0]
            by_trial[trial].append((ev.truth[key], "protocol" in record.title.lower()))
    for members in by_trial.values():
        for a, a_protocol in members:
            for b, b_protocol in members:
                if a_protocol and not b_protocol:
                    ev.expected_links.add((a, b, "protocol-of"))


def _real_preprint_pairs(ev: EvalSet) -> None:
    """PubMed UpdateOf entries naming a preprint DOI: the preprint record is made from the
    entry's own PMID and DOI, with the journal version's title and authors."""
    for key, record in list(ev.records):
        for entry in record.extra.get("comments_corrections") or []:
            doi = normalize_doi(
                (re.findall(r"10\.1101/\S+", entry.get("ref_source") or "") or [""])[0]
            )
            if entry.get("ref_type") != "UpdateOf" or not doi or not entry.get("pmid"):
                continue
            preprint = RecordData(
                source="pubmed",
                source_id=str(entry["pmid"]),
                pmid=str(entry["pmid"]),
                doi=doi,
                title=record.title,
                journal=str(entry.get("ref_source")).split(".")[0],
                published=str((_year_of(record) or 2000) - 1),
                authors=list(record.authors),
                publication_types=["Preprint"],
            )
            ev.add(
                f"derived/real-preprint/{entry['pmid']}",
                preprint,
                ev.truth[key],
                "preprint:real-update-of",
            )


def _real_flags(ev: EvalSet) -> None:
    for key, record in ev.records:
        relations = {str(e.get("ref_type")) for e in record.extra.get("comments_corrections") or []}
        if "ErratumIn" in relations:
            ev.expected_erratum.add(ev.truth[key])
        if "RetractionIn" in relations or "Retracted Publication" in record.publication_types:
            ev.expected_retracted.add(ev.truth[key])


def build_eval_set(corpus: Path = CORPUS, seed: int = SEED) -> EvalSet:
    """The labelled evaluation set: real records plus seeded derivations of them."""
    real = load_real_records(corpus)
    truth = real_truth(real)
    ev = EvalSet()
    for key, record in real:
        ev.add(key, record, truth[key], "real")
    works = _real_works(real, truth)
    truth_of_pmid = {r.pmid: truth[k] for k, r in real if r.pmid}
    for n, work in enumerate(works):
        if not _is_article(work.base):
            continue
        rng = random.Random(f"{seed}:{work.work}")
        _derive_copies(ev, work, rng, n)
        _derive_versions(ev, work, rng, n)
        _derive_negatives(ev, work, rng, n)
    _derive_bad_dois(ev, works, random.Random(f"{seed}:bad-doi"))
    _registry_publications(ev, truth_of_pmid)
    _real_preprint_pairs(ev)
    _real_flags(ev)
    return ev


def real_near_title_pairs(ev: EvalSet, threshold: float = 85.0) -> list[tuple[str, str]]:
    """Different real works whose titles are alike (score >= threshold) or share their
    first 40 characters: hard negatives found in the corpus itself."""
    firsts: dict[str, tuple[str, str]] = {}
    for key, record in ev.records:
        if ev.variant[key] == "real" and record.title and _is_article(record):
            firsts.setdefault(ev.truth[key], (key, normalize.normalize_title(record.title)))
    items = sorted(firsts.values())
    pairs = []
    for i, (key_a, title_a) in enumerate(items):
        for key_b, title_b in items[i + 1 :]:
            same_start = len(title_a) > 40 and title_a[:40] == title_b[:40]
            if same_start or fuzz.ratio(title_a, title_b, score_cutoff=threshold):
                pairs.append((key_a, key_b))
    return pairs


# --------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Scores:
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def line(self, name: str) -> str:
        false_merges = self.predicted_pairs - self.correct_pairs
        missed = self.true_pairs - self.correct_pairs
        return (
            f"{name:<34} precision {self.precision:.4f}  recall {self.recall:.4f}  "
            f"F1 {self.f1:.4f}  (true pairs {self.true_pairs}, predicted {self.predicted_pairs}, "
            f"correct {self.correct_pairs}, false merges {false_merges}, missed {missed})"
        )


def _pairs(counts: Iterable[int]) -> int:
    return sum(c * (c - 1) // 2 for c in counts)


def pairwise_scores(predicted: Mapping[str, Hashable], truth: Mapping[str, Hashable]) -> Scores:
    """Pairwise precision/recall: a pair is predicted when both keys share a cluster."""
    cells = Counter((predicted[k], truth[k]) for k in truth)
    return Scores(
        true_pairs=_pairs(Counter(truth.values()).values()),
        predicted_pairs=_pairs(Counter(predicted[k] for k in truth).values()),
        correct_pairs=_pairs(cells.values()),
    )


def _labels(result: dedupe.DedupeResult[str]) -> dict[str, int]:
    return dict(result.cluster_of)


def exact_id_baseline(records: Sequence[tuple[str, RecordData]]) -> dict[str, Hashable]:
    """EndNote-style identifier matching: the same PMID or DOI *string*, nothing normalised."""
    union = _UnionFind()
    for key, record in records:
        union.find(key)
        for scheme, value in (("pmid", record.pmid), ("doi", record.doi)):
            if value:
                union.union(key, (scheme, value))
    return {key: union.find(key) for key, _ in records}


def endnote_baseline(records: Sequence[tuple[str, RecordData]]) -> dict[str, Hashable]:
    """Exact ids plus EndNote's default field match: same first author, year and title text."""
    union = _UnionFind()
    for key, record in records:
        union.find(key)
        for scheme, value in (("pmid", record.pmid), ("doi", record.doi)):
            if value:
                union.union(key, (scheme, value))
        if record.title and record.authors:
            year = (record.published or "")[:4]
            union.union(key, ("fields", record.authors[0], year, record.title))
    return {key: union.find(key) for key, _ in records}


def _variant_recall(ev: EvalSet, labels: Mapping[str, Hashable]) -> dict[str, tuple[int, int]]:
    """Per variant family: (derived records placed with their work, derived records)."""
    first_real: dict[str, str] = {}
    for key, _ in ev.records:
        if ev.variant[key] == "real":
            first_real.setdefault(ev.truth[key], key)
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key, _ in ev.records:
        family = ev.variant[key].split(":")[0]
        anchor = first_real.get(ev.truth[key])
        if family == "real" or anchor is None:
            continue
        found[family][1] += 1
        found[family][0] += int(labels[key] == labels[anchor])
    return {family: (a, b) for family, (a, b) in sorted(found.items())}


def _link_scores(ev: EvalSet, result: dedupe.DedupeResult[str]) -> dict[str, tuple[int, int]]:
    work_of_cluster: dict[int, set[str]] = defaultdict(set)
    for key, _ in ev.records:
        work_of_cluster[result.cluster_of[key]].add(ev.truth[key])
    found = {
        (a, b, link.kind)
        for link in result.links
        for a in work_of_cluster[result.cluster_of[link.key_a]]
        for b in work_of_cluster[result.cluster_of[link.key_b]]
    }
    scores: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for expected in ev.expected_links:
        scores[expected[2]][1] += 1
        scores[expected[2]][0] += int(expected in found)
    retracted = {w for c in result.retracted for w in work_of_cluster[c]}
    erratum = {w for c in result.has_erratum for w in work_of_cluster[c]}
    scores["flag retracted"] = [len(ev.expected_retracted & retracted), len(ev.expected_retracted)]
    scores["flag has_erratum"] = [len(ev.expected_erratum & erratum), len(ev.expected_erratum)]
    scores["unexpected retracted"] = [len(retracted - ev.expected_retracted), 0]
    return {kind: (a, b) for kind, (a, b) in sorted(scores.items())}


# --------------------------------------------------------------------------- scale set


def _vocabulary(ev: EvalSet) -> list[str]:
    words = {
        w
        for key, record in ev.records
        if ev.variant[key] == "real"
        for w in re.findall(r"[A-Za-z][a-z]{3,}", record.title)
    }
    return sorted(words)


def _scaled_work(
    base: RecordData, w: int, vocabulary: Sequence[str], surnames: Sequence[str]
) -> RecordData:
    """A distinct synthetic work: 40% of the base title's words replaced, authors, year and
    ids drawn anew (seeded by w). Performance data only, never shown as research."""
    rng = random.Random(f"scale:{w}")
    words = base.title.split()
    for i in rng.sample(
        range(len(words)), k=max(2, (len(words) * 2) // 5) if len(words) > 2 else 0
    ):
        words[i] = rng.choice(vocabulary)
    authors = [
        f"{rng.choice(surnames)} {rng.choice('ABCDEFGHJKLMNPRSTW')}"
        for _ in range(rng.randint(1, 8))
    ]
    pmid = str(SYNTHETIC_PMID_BASE + 1_000_000 + w)
    return RecordData(
        source="pubmed",
        source_id=pmid,
        pmid=pmid,
        doi=f"{TEST_DOI_PREFIX}/bench.{w}",
        title=" ".join(words),
        abstract=base.abstract,
        journal=base.journal,
        published=f"{rng.randint(1990, 2026)}-{rng.randint(1, 12):02d}-01",
        authors=authors,
        publication_types=list(base.publication_types),
        extra={"journal_abbreviation": base.extra.get("journal_abbreviation")},
    )


def build_scale_set(
    ev: EvalSet, stored: int = 50_000, new: int = 50_000, seed: int = SEED
) -> tuple[list[tuple[str, RecordData]], dict[str, str]]:
    """`stored` distinct works, then `new` records: half copies of stored works (Europe PMC,
    feed and import shapes), half new works. Bases are real articles (no notices or
    registrations); surnames are the real "Family Initials" authors' family names.
    Returns records and their true work."""
    real = [r for k, r in ev.records if ev.variant[k] == "real" and r.title and _is_article(r)]
    bases = [r for r in real if r.source == "pubmed"] + [r for r in real if r.source == "europepmc"]
    vocabulary = _vocabulary(ev)
    surnames = sorted(
        {a.rsplit(" ", 1)[0] for r in real for a in r.authors if re.search(r" [A-Z]{1,3}$", a)}
    )
    records: list[tuple[str, RecordData]] = []
    truth: dict[str, str] = {}
    works = [
        _scaled_work(bases[w % len(bases)], w, vocabulary, surnames)
        for w in range(stored + new // 2)
    ]
    for w in range(stored):
        records.append((f"stored/{w}", works[w]))
        truth[f"stored/{w}"] = f"S{w}"
    rng = random.Random(f"{seed}:scale")
    for n in range(new):
        if n % 2:
            w = stored + n // 2
            records.append((f"new/{n}", works[w]))
            truth[f"new/{n}"] = f"S{w}"
            continue
        w = rng.randrange(stored)
        copy_record = _scaled_copy(works[w], rng, n)
        records.append((f"new/{n}", copy_record))
        truth[f"new/{n}"] = f"S{w}"
    return records, truth


def _scaled_copy(work: RecordData, rng: random.Random, n: int) -> RecordData:
    shape = rng.random()
    if shape < 0.4:
        return _epmc_copy(work, rng)
    if shape < 0.7:
        return _feed_copy(work, rng, n)[0]
    made = _import_copy(work, rng, n, typo=False)
    return made[0] if made else _epmc_copy(work, rng)


# --------------------------------------------------------------------------- running


def _measure(
    records: Sequence[tuple[str, RecordData]], memory: bool
) -> tuple[dict[str, float], dict[str, int]]:
    """Time one cluster() call (maxrss delta alongside); a second, traced call gives the
    peak of Python allocations (tracemalloc slows the code, so it is not timed)."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    result = dedupe.cluster(records)
    seconds = time.perf_counter() - start
    figures = {
        "seconds": seconds,
        "maxrss_delta_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024,
        "clusters": float(len(result.clusters)),
    }
    labels = _labels(result)
    del result
    if memory:
        tracemalloc.start()
        dedupe.cluster(records)
        figures["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return figures, labels


def _print_eval(ev: EvalSet, result: dedupe.DedupeResult[str]) -> dict[str, Any]:
    labels = _labels(result)
    scores = pairwise_scores(labels, ev.truth)
    exact = pairwise_scores(exact_id_baseline(ev.records), ev.truth)
    endnote = pairwise_scores(endnote_baseline(ev.records), ev.truth)
    variants = Counter(v.split(":")[0] for v in ev.variant.values())
    print(f"evaluation set: {len(ev.records)} records, {len(set(ev.truth.values()))} works")
    print("  records by origin: " + ", ".join(f"{k} {v}" for k, v in sorted(variants.items())))
    print(scores.line("digest.studies.cluster"))
    print(exact.line("baseline: exact ids only"))
    print(endnote.line("baseline: EndNote-style"))
    print("recall of derived records by family (placed with their work / made):")
    for family, (hit, total) in _variant_recall(ev, labels).items():
        print(f"  {family:<24} {hit}/{total}")
    near = real_near_title_pairs(ev)
    merged_near = sum(labels[a] == labels[b] for a, b in near)
    print(
        f"real hard negatives (titles >= 0.85 alike or same 40-char start): {len(near)}, ", end=""
    )
    print(f"merged {merged_near}")
    wrong = Counter(kind for a, b, kind in ev.hard_negatives if labels[a] == labels[b])
    print(f"derived hard negatives: {len(ev.hard_negatives)}, ", end="")
    print(f"merged {sum(wrong.values())} {dict(wrong)}")
    print("links and flags (found / expected):")
    for kind, (hit, total) in _link_scores(ev, result).items():
        print(f"  {kind:<26} {hit}/{total}")
    print(
        f"possible duplicates for review: {len(result.possible_duplicates)}, "
        f"conflicts: {len(result.conflicts)}"
    )
    return {"scores": scores, "exact": exact, "endnote": endnote, "near_merged": merged_near}


def run(scale: int = 50_000, seed: int = SEED, memory: bool = True) -> dict[str, Any]:
    """Print the evaluation and the scale figures; return them for callers and tests."""
    ev = build_eval_set(seed=seed)
    start = time.perf_counter()
    result = dedupe.cluster(ev.records)
    print(f"clustered the evaluation set in {time.perf_counter() - start:.2f} s")
    figures = _print_eval(ev, result)
    if scale:
        records, truth = build_scale_set(ev, stored=scale, new=scale, seed=seed)
        measured, labels = _measure(records, memory)
        scaled = pairwise_scores(labels, truth)
        print(
            f"scale: {scale:,} new + {scale:,} stored records -> "
            f"{measured['seconds']:.1f} s, maxrss +{measured['maxrss_delta_mb']:.0f} MB"
            + (f", tracemalloc peak {measured['tracemalloc_peak_mb']:.0f} MB" if memory else "")
            + f", {int(measured['clusters']):,} clusters ({len(set(truth.values())):,} true works)"
        )
        print(scaled.line("scale set"))
        figures["scale"] = measured
        figures["scale_scores"] = scaled
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--scale", type=int, default=50_000, help="new (= stored) records; 0 skips")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc run")
    args = parser.parse_args(argv)
    figures = run(scale=args.scale, seed=args.seed, memory=not args.no_memory)
    scores: Scores = figures["scores"]
    ok = scores.precision == 1.0 and scores.recall >= 0.995
    if "scale" in figures:
        ok = ok and figures["scale"]["seconds"] < 60
        ok = ok and figures["scale"].get("tracemalloc_peak_mb", 0) < 500
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
