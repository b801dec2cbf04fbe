"""`digest recheck` and the daily re-check job: every study an issue carried (and every
study with a note or on a condition page) asked again of Crossref by DOI and of PubMed by
PMID (and Europe PMC by PMID), so a retraction, withdrawal, expression of concern,
correction, new version or reinstatement is seen whichever of them records it first.

Incremental, per identifier (`recheck_state`):
- an identifier never checked, or not fetched for `recheck.full_every_days` (at most
  2/`full_every_days` of the watch list a run, oldest first), is fetched itself:
  Crossref `/works/{doi}` (404: "not in Crossref", not a failure), PubMed efetch (200
  PMIDs a request);
- every other one is asked only what changed since its last check: Crossref notices
  naming it, indexed since (`filter=updates:…,from-index-date:`, `batch_size` DOIs a
  request), PubMed articles modified since (ESearch `[uid]` with `datetype=mdat`); a work
  named by a new notice or a changed article is then fetched itself.

What came back is stored through the fetch path (payloads, records, changes: source
names `recheck-crossref` and `recheck-pubmed`), the studies are refreshed, and the
notices each watched study's records name are filed in `study_notice` with the time they
were first seen (the correction clock). When any study changed, the site is re-rendered,
so its banner is on every page after this run; with `recheck.email` set, those who got
an issue carrying it get a short correction email, once (`digest.app.recheck_mail`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest import facts
from digest.app.recheck_targets import watch_list
from digest.config import Settings
from digest.errors import DigestError, redact
from digest.http.client import Http
from digest.ingest.run import make_http, parse_pages, refresh_studies
from digest.model import RecordData, utcnow
from digest.sources import describe_change, get_kind
from digest.sources.base import FetchedPage, FetchOutcome
from digest.sources.crossref.fetch import CROSSREF_BASE
from digest.sources.crossref.lookup import fetch_notices_about, fetch_work
from digest.sources.crossref.parse import parse_crossref
from digest.sources.europepmc.fetch import EPMC_BASE
from digest.sources.europepmc.recheck import fetch_by_pmid as fetch_epmc
from digest.sources.pubmed.fetch import EUTILS_BASE
from digest.sources.pubmed.recheck import fetch_by_pmid, modified_since
from digest.store import digests as q
from digest.store import recheck as rq
from digest.store.recheck_tables import RecheckState
from digest.store.records import save_outcome

log = logging.getLogger("digest.app.recheck")
Key = tuple[str, str]


@dataclass(slots=True)
class RecheckReport:
    """What one re-check did, for the CLI, the job's log line and the run log."""

    studies: int = 0  # on the watch list
    checked: int = 0  # identifiers asked about
    fetched: int = 0  # works fetched themselves
    requests: int = 0
    not_in_crossref: list[str] = field(default_factory=list)
    not_in_pubmed: list[str] = field(default_factory=list)
    new_notices: list[tuple[str, str, str | None]] = field(default_factory=list)  # slug, kind, url
    emails: int = 0
    site_files: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(slots=True)
class _Lookups:
    """One source's answers: pages to store, and per identifier (outcome, fetched itself)."""

    pages: list[FetchedPage] = field(default_factory=list)
    checked: dict[Key, tuple[str, bool]] = field(default_factory=dict)


def _chunks(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for offset in range(0, len(items), size):
        yield list(items[offset : offset + size])


def _full_due(
    keys: Sequence[Key],
    states: Mapping[Key, RecheckState],
    extra: set[str],
    now: datetime,
    every_days: int,
) -> set[Key]:
    """The identifiers to fetch in full this run: never checked (or asked for by name),
    and those not fetched for `every_days`, oldest first, at most 2/`every_days` of the
    watch list a run, so a cohort checked on one day is not re-fetched all on one day."""
    never = {k for k in keys if k not in states or k[1] in extra}
    period = timedelta(days=every_days)
    aged = sorted(
        (k for k in keys if k not in never and now - states[k].last_full_at >= period),
        key=lambda k: (states[k].last_full_at, k),
    )
    return never | set(aged[: max(1, math.ceil(2 * len(keys) / every_days))])


def _since(states: Mapping[Key, RecheckState], keys: Iterable[Key]) -> datetime:
    """A day before the earliest last check of these: the window overlaps by a day."""
    return min(states[k].last_checked_at for k in keys) - timedelta(days=1)


def _crossref(
    http: Http, settings: Settings, dois: Sequence[str], states: Mapping[Key, RecheckState],
    due: Callable[[Key], bool], progress: Callable[[str], None],
) -> _Lookups:  # fmt: skip
    config, found = settings.recheck, _Lookups()
    base = config.crossref_base_url or CROSSREF_BASE
    fetch_now = [d for d in dois if due(("doi", d))]
    # a DOI with a comma cannot sit in a filter list: the rolling full re-fetch covers it
    quiet = [d for d in dois if not due(("doi", d)) and "," not in d]
    for doi in dois:
        if not due(("doi", doi)) and "," in doi:
            found.checked[("doi", doi)] = (states[("doi", doi)].outcome, False)
    with http.source_run("recheck-crossref"):
        for batch in _chunks(quiet, config.batch_size):
            since = _since(states, [("doi", d) for d in batch]).date()
            pages = fetch_notices_about(http, batch, since=since, base=base, progress=progress)
            found.pages += pages
            named = {
                r.doi
                for page in pages
                for notice in parse_crossref(page.content).records
                for r in notice.relations
                if r.doi
            }
            for doi in batch:
                if doi in named:
                    fetch_now.append(doi)
                else:  # nothing new about it: the last outcome stands
                    found.checked[("doi", doi)] = (states[("doi", doi)].outcome, False)
        for number, doi in enumerate(fetch_now, 1):
            answer = fetch_work(http, doi, base=base)
            if answer.page is not None:
                found.pages.append(answer.page)
            found.checked[("doi", doi)] = ("found" if answer.found else "not-found", True)
            progress(f"crossref: {number}/{len(fetch_now)} works")
    return found


def _pubmed(
    http: Http, settings: Settings, pmids: Sequence[str], states: Mapping[Key, RecheckState],
    due: Callable[[Key], bool], now: datetime, progress: Callable[[str], None],
) -> _Lookups:  # fmt: skip
    config, found = settings.recheck, _Lookups()
    base = config.eutils_base_url or EUTILS_BASE
    fetch_now = [p for p in pmids if due(("pmid", p))]
    quiet = [p for p in pmids if not due(("pmid", p))]
    with http.source_run("recheck-pubmed"):
        if quiet:
            since = _since(states, [("pmid", p) for p in quiet]).date()
            changed = modified_since(http, quiet, since, now.date(), base=base)
            fetch_now += [p for p in quiet if p in changed]
            for pmid in quiet:
                if pmid not in changed:
                    found.checked[("pmid", pmid)] = (states[("pmid", pmid)].outcome, False)
        if fetch_now:
            progress(f"pubmed: fetching {len(fetch_now)} article(s)")
            found.pages, missing = fetch_by_pmid(http, fetch_now, base=base)
            for pmid in fetch_now:
                found.checked[("pmid", pmid)] = (
                    "not-found" if pmid in missing else "found",
                    True,
                )
    return found


def _europepmc(
    http: Http, settings: Settings, pmids: Sequence[str],
    due: Callable[[Key], bool], progress: Callable[[str], None],
) -> _Lookups:  # fmt: skip
    """Europe PMC by PMID, for the PMIDs fetched in full this run (it has no "modified
    since" to ask incrementally)."""
    found = _Lookups()
    wanted = [p for p in pmids if due(("pmid", p))]
    if not wanted:
        return found
    base = settings.recheck.europepmc_base_url or EPMC_BASE
    with http.source_run("recheck-europepmc"):
        progress(f"europepmc: asking about {len(wanted)} PMID(s)")
        found.pages, missing = fetch_epmc(http, wanted, base=base)
    for pmid in wanted:
        found.checked[("pmid", pmid)] = ("not-found" if pmid in missing else "found", True)
    return found


def _save(engine: Engine, lookups: Mapping[str, tuple[str, _Lookups]], now: datetime) -> int:
    """Store every source's pages through the fetch path; how many records changed."""
    changed = 0
    with Session(engine) as session:
        for name, (kind_name, found) in lookups.items():
            if not found.pages:
                continue
            kind = get_kind(kind_name)
            parsed = parse_pages(kind, name, FetchOutcome(pages=found.pages))
            summary = save_outcome(
                session,
                source_name=name,
                kind=kind_name,
                pages=parsed,
                cursor={},
                describe_change=describe_change,
                now=now,
            )
            changed += summary.new + summary.updated
        session.commit()
    return changed


def _file_notices(
    engine: Engine, report: RecheckReport, checked: Mapping[Key, tuple[str, bool]],
    extra_dois: Sequence[str], now: datetime,
) -> None:  # fmt: skip
    """File the notices every watched study's records name; note each identifier's check."""
    with Session(engine) as session:
        watched = watch_list(session, extra_dois)
        records = q.records_by_study(session, [s.id for s in watched if s.id is not None])
        prints: dict[Key, str] = {}
        for study in watched:
            works = rq.works_of(study)
            notices = facts.merge_notices(
                n
                for record in records.get(study.id or 0, [])
                for n in facts.notices_of(RecordData.from_json_dict(record.data))
            )
            for row in rq.record_notices(session, works, notices, now):
                url = facts.notice_url(row.notice_doi, row.notice_pmid)
                report.new_notices.append((study.slug, row.kind, url))
            for work in works:
                scheme, _, value = work.partition(":")
                prints[(scheme, value)] = ",".join(sorted(n.key for n in notices))
        known = rq.load_states(session)
        for key, (outcome, full) in checked.items():
            rq.save_state(
                session,
                key,
                now=now,
                outcome=outcome,
                fingerprint=prints.get(key),
                full=full,
                known=known,
            )
        session.commit()


def run_recheck(
    settings: Settings,
    engine: Engine,
    *,
    now: datetime | None = None,
    http: Http | None = None,
    dois: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    write_site: bool = True,
    progress: Callable[[str], None] = lambda _m: None,
) -> RecheckReport:
    """One re-check (see the module docstring); `dois` are checked now as well, watched
    or not (`digest recheck --doi`). Never raises for a source's failure: it is named
    in `failed` and the other source's answers are still stored."""
    started, now = time.monotonic(), now or utcnow()
    http = http or make_http(settings)
    extra = [d for d in (facts.normalize_doi(x) for x in dois) if d]
    report = RecheckReport()
    with Session(engine) as session:
        run_id = rq.start_run(session, now)
        watched = watch_list(session, extra)
        states = rq.load_states(session)
    report.studies = len(watched)
    dois_ = sorted({*(s.doi for s in watched if s.doi), *extra})
    pmids = sorted({s.pmid for s in watched if s.pmid})
    keys = [("doi", d) for d in dois_] + [("pmid", p) for p in pmids]
    full = _full_due(keys, states, set(extra), now, settings.recheck.full_every_days)

    def due(key: Key) -> bool:
        return key in full

    before = http.requests_made
    lookups: dict[str, tuple[str, _Lookups]] = {}
    plan: list[tuple[str, str, bool, Callable[[], _Lookups]]] = [
        (
            "recheck-crossref",
            "crossref",
            settings.recheck.crossref and bool(dois_),
            lambda: _crossref(http, settings, dois_, states, due, progress),
        ),
        (  # before PubMed: PubMed's word on a PMID's state is the one kept
            "recheck-europepmc",
            "europepmc",
            settings.recheck.europepmc and bool(pmids),
            lambda: _europepmc(http, settings, pmids, due, progress),
        ),
        (
            "recheck-pubmed",
            "pubmed",
            settings.recheck.pubmed and bool(pmids),
            lambda: _pubmed(http, settings, pmids, states, due, now, progress),
        ),
    ]
    for name, kind, wanted, ask in plan:
        if not wanted:
            continue
        try:
            lookups[name] = (kind, ask())
        except DigestError as exc:  # this source stores nothing; the other goes on
            report.failed.append(str(exc))
    report.requests = http.requests_made - before
    # PubMed's word on a PMID is the one its state keeps: when PubMed could not be asked,
    # Europe PMC's answer is stored but the PMID's state stays as it was (asked again next
    # run, in full when it was due), or a retraction only PubMed carries waits a month
    pubmed_failed = settings.recheck.pubmed and bool(pmids) and "recheck-pubmed" not in lookups
    checked = {
        k: v
        for _, found in lookups.values()
        for k, v in found.checked.items()
        if not (pubmed_failed and k[0] == "pmid")
    }
    report.checked = len(checked)
    report.fetched = sum(1 for _, full in checked.values() if full)
    missing = [key for key, (outcome, _) in checked.items() if outcome == "not-found"]
    report.not_in_crossref = sorted(v for s, v in missing if s == "doi")
    report.not_in_pubmed = sorted(v for s, v in missing if s == "pmid")
    try:
        changed = _save(engine, lookups, now)
        if changed:
            progress("deduplicating and classifying studies")
            refresh_studies(settings, engine)
        _file_notices(engine, report, checked, extra, now)
        if write_site and (changed or report.new_notices):
            from digest.app.weekly import render_site

            report.site_files = len(render_site(settings, engine))
        if settings.recheck.email != "off":
            from digest.app.recheck_mail import send_corrections

            report.emails = send_corrections(settings, engine, env=env, now=now)
    except DigestError as exc:
        report.failed.append(str(exc))
    report.seconds = time.monotonic() - started
    with Session(engine) as session:
        rq.finish_run(
            session,
            run_id,
            finished_at=utcnow(),
            outcome="failed" if report.failed else "ok",
            studies=report.studies,
            checked=report.checked,
            requests=report.requests,
            not_found=len(report.not_in_crossref) + len(report.not_in_pubmed),
            new_notices=len(report.new_notices),
            emails=report.emails,
            error=redact("; ".join(report.failed))[:2000] or None,
        )
    return report
