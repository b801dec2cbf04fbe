"""Notices about a work, as the re-check reads them off a record, and what each one means:
its kind, its weight and its words. Pure.

A notice is named by its own DOI (Crossref) or PMID (PubMed), dated when the source says
when, and asserted by somebody: the publisher, Retraction Watch (through Crossref), or
PubMed. Kinds, heaviest first:

- retraction: the work is withdrawn from the record; never quote it as evidence;
- withdrawal: the same weight (a publisher's "withdrawn", often before final publication);
- expression of concern: the editors warn that it may be unreliable; not a retraction;
- correction: an erratum or corrigendum; the work stands as corrected;
- new version: a new version of the work was published; read that one;
- reinstatement: a retraction was itself retracted; the work stands again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from digest.facts.identifiers import normalize_doi, normalize_pmid
from digest.model import RecordData

NoticeType = Literal[
    "retraction",
    "withdrawal",
    "expression-of-concern",
    "correction",
    "new-version",
    "reinstatement",
]
NOTICE_TYPES: tuple[NoticeType, ...] = (
    "retraction",
    "withdrawal",
    "expression-of-concern",
    "correction",
    "new-version",
    "reinstatement",
)

# Crossref `update-to` / `updated-by` types -> notice kind (others are not notices we track)
_CROSSREF_TYPES: dict[str, NoticeType] = {
    "retraction": "retraction",
    "partial_retraction": "retraction",
    "removal": "withdrawal",
    "withdrawal": "withdrawal",
    "expression_of_concern": "expression-of-concern",
    "correction": "correction",
    "erratum": "correction",
    "corrigendum": "correction",
    "new_version": "new-version",
    "reinstatement": "reinstatement",
}
# typed relations a record names its own notices with (PubMed, Europe PMC, Crossref)
_RELATION_TYPES: dict[str, NoticeType] = {
    "retracted-by": "retraction",
    "retracted-republished-in": "retraction",
    "concern-in": "expression-of-concern",
    "erratum-in": "correction",
    "corrected-republished-in": "correction",
    "updated-in": "new-version",
    "reinstated-by": "reinstatement",
}


@dataclass(frozen=True, slots=True)
class Wording:
    """How a notice of one kind reads: the banner's label, the sentence, its weight
    (higher is heavier; 0 lifts an earlier retraction)."""

    label: str
    sentence: str
    weight: int


WORDING: dict[NoticeType, Wording] = {
    "retraction": Wording(
        "Retracted",
        "This study has been retracted. Do not quote it or rely on its findings.",
        4,
    ),
    "withdrawal": Wording(
        "Withdrawn",
        "This study has been withdrawn by its publisher. Do not quote it or rely on it.",
        4,
    ),
    "expression-of-concern": Wording(
        "Expression of concern",
        "The journal has published an expression of concern about this study: it is not "
        "retracted, but its editors warn that its findings may be unreliable.",
        3,
    ),
    "correction": Wording(
        "Corrected",
        "A correction to this study has been published. Read it with the correction.",
        2,
    ),
    "new-version": Wording(
        "New version",
        "A new version of this study has been published. Read the new version.",
        1,
    ),
    "reinstatement": Wording(
        "Retraction reversed",
        "The retraction of this study has itself been retracted: the study stands again.",
        0,
    ),
}
# the kinds a correction email goes out for by default (`recheck.email: serious`)
SERIOUS: frozenset[NoticeType] = frozenset({"retraction", "withdrawal", "expression-of-concern"})


@dataclass(frozen=True, slots=True)
class NoticeData:
    """One notice about a work: its kind, its own id, its date, who says so."""

    kind: NoticeType
    doi: str | None = None
    pmid: str | None = None
    date: str | None = None  # 'YYYY', 'YYYY-MM' or 'YYYY-MM-DD' as the source gave it
    asserted_by: str = "publisher"  # publisher | retraction-watch | pubmed | europepmc
    label: str | None = None

    @property
    def key(self) -> str:
        """What makes two assertions the same notice: its kind and its own id."""
        ident = f"doi:{self.doi}" if self.doi else f"pmid:{self.pmid}" if self.pmid else "-"
        return f"{self.kind}|{ident}"

    @property
    def url(self) -> str | None:
        return notice_url(self.doi, self.pmid)


def notice_url(doi: str | None, pmid: str | None) -> str | None:
    """Where a notice is read: its DOI's resolver, else its PubMed page."""
    if doi:
        return f"https://doi.org/{doi}"
    if pmid:
        return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
    return None


def date_parts_text(value: Any) -> str | None:
    """'YYYY', 'YYYY-MM' or 'YYYY-MM-DD' from Crossref's {"date-parts": [[y, m, d]]}."""
    parts = value.get("date-parts") if isinstance(value, dict) else None
    first = parts[0] if isinstance(parts, list) and parts and isinstance(parts[0], list) else []
    numbers = [p for p in first if isinstance(p, int)]
    if not numbers:
        return None
    return "-".join([f"{numbers[0]:04d}", *(f"{n:02d}" for n in numbers[1:3])])


def _from_crossref(entries: Any) -> list[NoticeData]:
    found = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        kind = _CROSSREF_TYPES.get(re.sub(r"[\s-]+", "_", str(entry.get("type") or "").lower()))
        if kind is None:
            continue
        source = entry.get("source")
        label = entry.get("label")
        found.append(
            NoticeData(
                kind=kind,
                doi=normalize_doi(str(entry.get("DOI") or "")),
                date=date_parts_text(entry.get("updated")),
                asserted_by=source if isinstance(source, str) and source else "publisher",
                label=label if isinstance(label, str) else None,
            )
        )
    return found


def notices_of(record: RecordData) -> list[NoticeData]:
    """The notices a record names about itself, one per notice (a notice the publisher and
    Retraction Watch both assert is one, asserted by both: "publisher+retraction-watch").

    A Crossref work is read from its raw `updated-by` (which keeps a withdrawal apart from a
    retraction); other records from their typed relations."""
    if record.source == "crossref":
        raw = _from_crossref(record.extra.get("updated_by"))
    else:
        raw = [
            NoticeData(
                kind=_RELATION_TYPES[r.kind],
                doi=normalize_doi(r.doi),
                pmid=normalize_pmid(r.pmid),
                date=r.date,
                asserted_by=r.via or record.source,
                label=r.note,
            )
            for r in record.relations
            if r.kind in _RELATION_TYPES
        ]
    notices = merge_notices(raw)
    typed = {t.strip().lower() for t in record.publication_types}
    if "retracted publication" in typed and not any(n.kind == "retraction" for n in notices):
        # PubMed / Europe PMC type it retracted without linking the notice: still a notice
        notices.append(
            NoticeData("retraction", asserted_by=record.source, label="Retracted Publication")
        )
    return notices


def merge_notices(notices: Iterable[NoticeData]) -> list[NoticeData]:
    """One NoticeData per notice key: dates and labels filled from whichever has them,
    `asserted_by` naming every asserter ('publisher+retraction-watch')."""
    merged: dict[str, NoticeData] = {}
    for notice in notices:
        seen = merged.get(notice.key)
        if seen is None:
            merged[notice.key] = notice
            continue
        who = sorted(set(seen.asserted_by.split("+")) | set(notice.asserted_by.split("+")))
        merged[notice.key] = NoticeData(
            kind=seen.kind,
            doi=seen.doi or notice.doi,
            pmid=seen.pmid or notice.pmid,
            date=seen.date or notice.date,
            asserted_by="+".join(who),
            label=seen.label or notice.label,
        )
    return list(merged.values())


def _latest(notices: Iterable[NoticeData]) -> str:
    return max((n.date or "" for n in notices), default="")


def retraction_in_force(notices: Sequence[NoticeData]) -> bool:
    """A retraction stands unless a reinstatement is dated on or after the latest dated
    retraction. Undated retractions (PubMed's and Europe PMC's links carry no date) are
    the retraction seen elsewhere: they weigh nothing against dated notices. An undated
    reinstatement can only have followed a retraction, so it reverses a single one; after
    two retractions it is not known which it followed, and in doubt the retraction stands."""
    retractions = [n for n in notices if n.kind == "retraction"]
    reinstatements = [n for n in notices if n.kind == "reinstatement"]
    if not retractions:
        return False
    if not reinstatements:
        return True
    latest_reinstated = _latest(reinstatements)
    if not latest_reinstated:
        return len({n.date for n in retractions if n.date}) > 1
    return _latest(retractions) > latest_reinstated


def is_reinstated(notices: Sequence[NoticeData]) -> bool:
    """The work was retracted, and the retraction was retracted in turn."""
    return any(n.kind == "retraction" for n in notices) and not retraction_in_force(notices)


def standing(notices: Sequence[NoticeData]) -> NoticeType | None:
    """The notice the work's banner leads with: the heaviest still in force. A reversed
    retraction leads as "reinstatement" unless a withdrawal or a concern still stands."""
    live: set[NoticeType] = {n.kind for n in notices if n.kind != "reinstatement"}
    if is_reinstated(notices):
        live.discard("retraction")
        serious = [k for k in live if _weight(k) >= _weight("expression-of-concern")]
        if not serious:
            return "reinstatement"
        return max(serious, key=_weight)
    if not live:
        return None
    return max(live, key=_weight)


def _weight(kind: NoticeType) -> int:
    return WORDING[kind].weight
