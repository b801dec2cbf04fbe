"""The re-check against Crossref, on the replay server with genuine /works answers
(tests/fixtures/corpus/crossref/PROVENANCE.md): the retracted Lancet article (Wakefield
1998) flagged with its notice DOI and date, a 404 as a clean "not in Crossref", the
cursor walk of a notices query ending, the incremental `filter=updates:` pass. Inline
bodies are marked HAND-MADE where they are built."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from digest import facts
from digest.app.recheck import run_recheck
from digest.http.client import Http
from digest.http.politeness import RateLimiter
from digest.model import Study
from digest.sources.crossref.lookup import fetch_notices_about, fetch_work
from digest.sources.crossref.parse import parse_crossref
from digest.store.recheck_tables import RecheckRun, RecheckState, StudyNotice
from tests.conftest import CORPUS, make_settings, no_wait_client

NOW = datetime(2026, 12, 7, 4, 30, tzinfo=UTC)
WAKEFIELD = "10.1016/s0140-6736(97)11096-0"
WORK_PATH = "/works/10.1016/s0140-6736(97)11096-0"
WORK = "crossref/uws_works_10.1016_s0140-6736(97)11096-0.json"
UPDATES = "crossref/uws_works_filter-updates_10.1016_s0140-6736(97)11096-0.json"
NOT_FOUND = "crossref/habanero_works_10.1371_notarealdoi_404.txt"
PAGE1 = "crossref/habanero_works_query-widget_cursor-page1.json"
PAGE2 = "crossref/habanero_works_query-widget_cursor-page2.json"
SCROLL = json.loads((CORPUS / PAGE1).read_text())["message"]["next-cursor"]
# HAND-MADE: the documented end of a cursor walk, an empty items list
EMPTY_PAGE = json.dumps(
    {"status": "ok", "message-type": "work-list", "message": {"items": [], "next-cursor": SCROLL}}
)
RETRACTION_NOTICE = "10.1016/s0140-6736(10)60175-4"
CORRECTION_NOTICE = "10.1016/s0140-6736(04)15715-2"


def json_file(path: str) -> dict[str, Any]:
    return {"file": path, "content_type": "application/json"}


def settings_for(db_engine: Engine, server: Any, tmp_path: Path, extra: str = "") -> Any:
    return make_settings(
        db_engine.url.render_as_string(hide_password=False),
        "  []",
        f"digest: {{output_dir: {tmp_path / 'out'}}}\n"
        f"recheck: {{crossref_base_url: {server.url}, pubmed: false, europepmc: false{extra}}}\n",
    )


def study_page(settings: Any, engine: Engine, study: Study) -> str:
    """The study's page as the site renders it (the Lancet paper is outside the test topic
    model, so the archive itself would not list it)."""
    from digest.issue.context import study_views
    from digest.render.site import build_site, site_settings_from_config
    from digest.views import SiteView

    with Session(engine) as session:
        (view,) = study_views(session, [study], settings).values()
    site = SiteView(site_settings_from_config(settings), NOW, studies=(view,))
    return build_site(site)[f"studies/{study.slug}/index.html"].decode()


def test_the_retracted_lancet_article_names_its_notices_with_dates(replay: Any) -> None:
    server = replay([{"path": WORK_PATH, "responses": [json_file(WORK)]}], root=CORPUS)
    settings = make_settings("sqlite://", "  []")
    answer = fetch_work(no_wait_client(settings), WAKEFIELD, base=server.url)
    assert answer.found and answer.page is not None
    assert server.requests[0].params == {"mailto": "test@example.org"}  # the polite pool
    (record,) = parse_crossref(answer.page.content).records
    assert facts.is_retracted(record)
    notices = {n.kind: n for n in facts.notices_of(record)}
    assert notices["retraction"].doi == RETRACTION_NOTICE
    assert notices["retraction"].date == "2010-02-06"
    assert notices["retraction"].asserted_by == "retraction-watch"
    assert notices["correction"].doi == CORRECTION_NOTICE
    assert notices["correction"].date == "2004-03-06"
    assert facts.standing(list(notices.values())) == "retraction"


def test_the_same_retraction_from_publisher_and_retraction_watch_is_one_notice() -> None:
    payload = CORPUS / "crossref/metacheck_httptest2_works_10.1177_0956797614520714.json"
    (record,) = parse_crossref(payload.read_bytes()).records
    (notice,) = facts.notices_of(record)
    assert notice.kind == "retraction"
    assert notice.asserted_by == "publisher+retraction-watch"


def test_a_404_doi_is_not_in_crossref_not_a_failed_run(
    db_engine: Engine, replay: Any, tmp_path: Path
) -> None:
    server = replay(
        [
            {
                "path": "/works/10.1371/notarealdoi",
                "responses": [{"status": 404, "file": NOT_FOUND, "content_type": "text/plain"}],
            }
        ],
        root=CORPUS,
    )
    settings = settings_for(db_engine, server, tmp_path)
    report = run_recheck(
        settings, db_engine, now=NOW, http=no_wait_client(settings), dois=["10.1371/notarealdoi"]
    )
    assert report.ok, report.failed
    assert report.not_in_crossref == ["10.1371/notarealdoi"]
    assert report.requests == 1 and report.new_notices == []
    with Session(db_engine) as session:
        (run,) = session.exec(select(RecheckRun)).all()
        state = session.get(RecheckState, ("doi", "10.1371/notarealdoi"))
    assert run.outcome == "ok" and run.not_found == 1 and run.error is None
    assert state is not None and state.outcome == "not-found"


def test_the_notices_cursor_walk_ends(replay: Any) -> None:
    server = replay(
        [
            {"path": "/works", "match": {"cursor": "*"}, "responses": [json_file(PAGE1)]},
            {
                "path": "/works",
                "match": {"cursor": SCROLL},
                "responses": [
                    json_file(PAGE2),
                    {"body": EMPTY_PAGE, "content_type": "application/json"},
                ],
            },
        ],
        root=CORPUS,
    )
    settings = make_settings("sqlite://", "  []")
    pages = fetch_notices_about(
        no_wait_client(settings), ["10.1/a", "10.1/b"], rows=20, base=server.url
    )
    assert len(pages) == 2
    assert [r.params["cursor"] for r in server.requests] == ["*", SCROLL, SCROLL]
    first = server.requests[0].params
    assert first["filter"] == "updates:10.1/a,updates:10.1/b"
    assert first["rows"] == "20" and first["mailto"] == "test@example.org"


def test_recheck_flags_the_lancet_article_then_asks_only_what_changed(
    db_engine: Engine, replay: Any, tmp_path: Path
) -> None:
    since = (NOW - timedelta(days=1)).date().isoformat()  # a day before the last check
    server = replay(
        [
            {"path": WORK_PATH, "responses": [json_file(WORK)]},
            {
                "path": "/works",
                "match": {"filter": f"updates:{WAKEFIELD},from-index-date:{since}"},
                "responses": [json_file(UPDATES)],
            },
        ],
        root=CORPUS,
    )
    settings = settings_for(db_engine, server, tmp_path)
    report = run_recheck(
        settings, db_engine, now=NOW, http=no_wait_client(settings), dois=[WAKEFIELD]
    )
    assert report.ok, report.failed
    kinds = sorted((kind, url) for _, kind, url in report.new_notices)
    assert kinds == [
        ("correction", f"https://doi.org/{CORRECTION_NOTICE}"),
        ("retraction", f"https://doi.org/{RETRACTION_NOTICE}"),
    ]
    with Session(db_engine) as session:
        study = session.exec(select(Study).where(Study.doi == WAKEFIELD)).one()
        rows = {n.kind: n for n in session.exec(select(StudyNotice))}
    assert study.retracted and study.has_erratum
    assert rows["retraction"].notice_date == "2010-02-06"
    assert rows["retraction"].notice_doi == RETRACTION_NOTICE
    assert rows["retraction"].first_seen_at.astimezone(UTC) == NOW
    page = study_page(settings, db_engine, study)
    assert "This study has been retracted." in page
    assert "Retraction notice, dated 2010-02-06: " in page
    assert "https://doi.org/10.1016/s0140-6736%2810%2960175-4" in page  # the notice's DOI
    assert "Retraction Watch" in page

    # a day later, watched by nothing but kept in state: not due for a full fetch, so only
    # the notices naming it that were indexed since are asked; they name it, so the work
    # itself is fetched again; nothing is new
    later = NOW + timedelta(days=1)
    with Session(db_engine) as session:  # the study is watched: staff noted it
        from digest.desk.tables import TriageDecision

        session.add(TriageDecision(week="2026-W49", slug=study.slug, note="Quoted on our blog."))
        session.commit()
    second = run_recheck(settings, db_engine, now=later, http=no_wait_client(settings))
    assert second.ok, second.failed
    assert second.new_notices == []
    paths = [r.path for r in server.requests]
    assert paths == [WORK_PATH, "/works", WORK_PATH]
    with Session(db_engine) as session:
        assert len(session.exec(select(StudyNotice)).all()) == 2


def test_a_429_with_retry_after_is_waited_out_then_the_work_is_read(replay: Any) -> None:
    # HAND-MADE: the 429 answer (Crossref's rate-limit reply); then the genuine work
    server = replay(
        [
            {
                "path": WORK_PATH,
                "responses": [
                    {"status": 429, "body": "Too many requests", "content_type": "text/plain",
                     "headers": {"Retry-After": "3"}},
                    json_file(WORK),
                ],
            }
        ],
        root=CORPUS,
    )  # fmt: skip
    settings = make_settings("sqlite://", "  []")
    waits: list[float] = []
    http = Http(
        settings.http,
        settings.contact_email,
        sleep=waits.append,
        limiter=RateLimiter(sleep=lambda _s: None),
    )
    answer = fetch_work(http, WAKEFIELD, base=server.url)
    assert answer.found and len(server.requests) == 2
    assert waits and max(waits) >= 3.0  # the server's wait, honoured in full


def test_crossref_is_polite_by_default() -> None:
    from digest.http.settings import HttpSettings

    # the x-rate-limit-limit / -interval Crossref's recorded answers carry: 5 per second
    assert Http(HttpSettings(), "a@clinic.org").rate_for("api.crossref.org") == 5.0
