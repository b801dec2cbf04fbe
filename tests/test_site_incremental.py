"""The incremental site build: after a change, only the pages whose inputs changed are
rendered, the rest of the folder is left untouched (same bytes, inode and mtime), and the
result is byte-identical to a full build into a fresh folder.

Views are the genuine corpus studies of test_render; the changes made to them here
(a study flagged retracted, a link between two of them) are HAND-MADE for the test.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from digest.app.weekly import render_site
from digest.ingest.run import import_files
from digest.issue.assemble import assemble_week
from digest.publish.site_fragments import FRAGMENTS, fragment_store
from digest.publish.site_writer import BUILDING, MANIFEST, WriteReport, write_site
from digest.render import site as site_module
from digest.render.site import build_site, site_pages
from digest.render.site_pages import PageSpec
from digest.views import RelatedRef, SiteView
from tests.conftest import CORPUS, make_settings, store_as_fetched
from tests.test_render import conditions_of, corpus_digests, corpus_site
from tests.test_weekly import handmade_trial_report

LEGACY = CORPUS / "acupuncture" / "clinicaltrials-legacy-xml"
W46 = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
W47 = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


def week46_site() -> SiteView:
    """The corpus site as it stood before week 47 was added: W46's digest and studies."""
    site = corpus_site()
    studies = tuple(s for s in site.studies if (s.first_seen or date.min) < date(2026, 11, 16))
    return replace(
        site,
        digests=corpus_digests()[1:],
        studies=studies,
        conditions=conditions_of(list(studies)),
        built_at=corpus_digests()[1].built_at,
        slug_aliases={},
    )


def snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under folder but the manifest: bytes, inode, mtime (ns)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name not in (MANIFEST, FRAGMENTS):
            stat = path.stat()
            found[path.relative_to(folder).as_posix()] = (
                path.read_bytes(),
                stat.st_ino,
                stat.st_mtime_ns,
            )
    return found


def contents(folder: Path) -> dict[str, bytes]:
    return {name: data for name, (data, _ino, _mtime) in snapshot(folder).items()}


def build_into(site: SiteView, folder: Path, *, full: bool = False) -> WriteReport:
    """As `digest site` does: the folder's kept list entries, then the writer."""
    with fragment_store(folder, fresh=full) as fragments:
        return write_site(site_pages(site, fragments), folder, full=full)


def assert_incremental_is_full(before: SiteView, after: SiteView, tmp_path: Path) -> WriteReport:
    """Build `before`, then `after` incrementally; the folder equals a fresh full build of
    `after`, and every file whose bytes did not change was not touched at all."""
    incremental, fresh = tmp_path / "incremental", tmp_path / "fresh"
    build_into(before, incremental)
    old = snapshot(incremental)
    report = build_into(after, incremental)
    build_into(after, fresh, full=True)
    assert contents(incremental) == contents(fresh) == build_site(after)
    new = snapshot(incremental)
    for name in old.keys() & new.keys():
        if old[name][0] == new[name][0]:
            assert old[name] == new[name], f"{name} was rewritten with the same bytes"
    assert sorted(report.written) == sorted(n for n in new if n not in old or old[n] != new[n])
    assert sorted(report.removed) == sorted(old.keys() - new.keys())
    return report


def test_adding_a_week_renders_only_the_pages_it_changes(tmp_path: Path) -> None:
    before, after = week46_site(), corpus_site()
    report = assert_incremental_is_full(before, after, tmp_path)
    pages = sum(1 for _ in site_pages(after))
    assert report.skipped > 0 and report.rendered + report.skipped == pages
    assert "glossary/index.html" in report.unchanged and "static/site.css" in report.unchanged
    # the week-46 page changes only in its pager (a newer week now exists)
    assert "digests/2026-W46/index.html" in report.written
    assert "digests/2026-W46/digest.md" in report.unchanged
    # an unchanged week-46 study was not even rendered
    assert "studies/pmid-16080930/index.html" in report.unchanged


def test_a_build_with_nothing_changed_renders_nothing(tmp_path: Path) -> None:
    site = corpus_site()
    build_into(site, tmp_path)
    report = build_into(site, tmp_path)
    assert report.rendered == 0 and report.written == [] and report.removed == []


def test_a_retraction_banner_reaches_its_page_and_the_lists(tmp_path: Path) -> None:
    before = corpus_site()
    flagged = replace(before.studies[0], retracted=True)  # HAND-MADE flag
    after = replace(
        before,
        studies=(flagged, *before.studies[1:]),
        conditions=conditions_of([flagged, *before.studies[1:]]),
    )
    report = assert_incremental_is_full(before, after, tmp_path)
    assert f"studies/{flagged.slug}/index.html" in report.written
    assert "studies/index.html" in report.written  # "[Retracted]" in the list
    assert "glossary/index.html" in report.unchanged


def test_a_link_appears_when_the_page_it_points_to_appears(tmp_path: Path) -> None:
    """A study page links a related work only if that work has a page; when the work
    arrives, the page is rendered again although the study itself did not change."""
    site = week46_site()
    target = corpus_site().studies[0]
    assert target.slug not in {s.slug for s in site.studies}
    linking = replace(  # HAND-MADE relation between two genuine records
        site.studies[0], related=(RelatedRef("comment", target.slug, target.title),)
    )
    before = replace(site, studies=(linking, *site.studies[1:]))
    after = replace(before, studies=(*before.studies, target))
    report = assert_incremental_is_full(before, after, tmp_path)
    assert f"studies/{linking.slug}/index.html" in report.written


def test_a_missing_or_corrupt_manifest_means_a_full_build(tmp_path: Path) -> None:
    site = corpus_site()
    pages = sum(1 for _ in site_pages(site))
    build_into(site, tmp_path)
    for damage in ("{not json", '{"version": 2, "pages": {"index.html": {"inputs": 1}}}', None):
        if damage is None:
            (tmp_path / MANIFEST).unlink()
        else:
            (tmp_path / MANIFEST).write_text(damage)
        report = build_into(site, tmp_path)
        assert report.rendered == pages and report.written == []  # same bytes: untouched
        assert contents(tmp_path) == build_site(site)


def test_list_entries_are_kept_between_builds_and_dropped_when_unused(tmp_path: Path) -> None:
    """A condition page's entries (and the feed's) come back from the fragment file; a
    corrupt file is replaced and everything is rendered, to the same bytes."""
    site = corpus_site()
    build_into(site, tmp_path)
    kept = sqlite3.connect(tmp_path / FRAGMENTS).execute("SELECT count(*) FROM fragment")
    # a condition page's entries, and each digest's entry in /feed.xml
    entries = sum(len(c.studies) for c in site.conditions) + len(site.digests)
    assert kept.fetchone()[0] == entries
    smaller = week46_site()
    build_into(smaller, tmp_path)
    kept = sqlite3.connect(tmp_path / FRAGMENTS).execute("SELECT count(*) FROM fragment")
    smaller_entries = sum(len(c.studies) for c in smaller.conditions) + len(smaller.digests)
    assert kept.fetchone()[0] == smaller_entries < entries
    (tmp_path / FRAGMENTS).write_bytes(b"not a database")
    build_into(site, tmp_path, full=False)
    assert contents(tmp_path) == build_site(site)


def test_a_tampered_page_entry_is_not_trusted(tmp_path: Path) -> None:
    """A manifest entry naming a file outside the folder is dropped: the page is rendered
    again and nothing outside the folder is looked at or removed."""
    site = corpus_site()
    out = tmp_path / "site"
    build_into(site, out)
    outside = tmp_path / "keep.txt"
    outside.write_text("not the site's")
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["pages"]["index.html"]["files"] = ["../keep.txt"]
    (out / MANIFEST).write_text(json.dumps(manifest))
    report = build_into(site, out)
    assert report.rendered == 1 and report.written == []  # index.html, again
    assert outside.read_text() == "not the site's"
    assert json.loads((out / MANIFEST).read_text())["pages"]["index.html"]["files"] == [
        "index.html"
    ]


def test_a_deleted_file_is_put_back(tmp_path: Path) -> None:
    site = corpus_site()
    build_into(site, tmp_path)
    (tmp_path / "studies" / site.studies[0].slug / "citation.bib").unlink()
    report = build_into(site, tmp_path)
    assert report.written == [f"studies/{site.studies[0].slug}/citation.bib"]


def test_a_code_or_template_change_renders_every_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = corpus_site()
    build_into(site, tmp_path)
    monkeypatch.setattr(site_module, "code_version", lambda: "another version")
    report = build_into(site, tmp_path)
    # every rendered page; the static files are their own bytes, hashed as such
    static = len(site_module.STATIC_FILES)
    assert report.rendered == sum(1 for _ in site_pages(site)) - static
    assert report.skipped == static and report.written == []


def test_full_renders_every_page(tmp_path: Path) -> None:
    site = corpus_site()
    build_into(site, tmp_path)
    report = build_into(site, tmp_path, full=True)
    assert report.skipped == 0 and report.written == []


def test_a_write_that_stopped_midway_is_followed_by_a_full_one(tmp_path: Path) -> None:
    def page(path: str, content: bytes, fail: bool = False) -> PageSpec:
        def make(_known: object) -> dict[str, bytes]:
            if fail:
                raise RuntimeError("the process stopped here")
            return {path: content}

        return PageSpec(path, content.decode(), frozenset(), make)

    write_site([page("a.html", b"v1"), page("b.html", b"v1")], tmp_path)
    # the data changes, a.html is written, the write dies before its manifest
    with pytest.raises(RuntimeError):
        write_site([page("a.html", b"v2"), page("b.html", b"v2", fail=True)], tmp_path)
    assert (tmp_path / "a.html").read_bytes() == b"v2" and (tmp_path / BUILDING).exists()
    # the data goes back: the old manifest's entry for a.html matches again, but its file
    # holds the dead write's page, so every page is rendered
    report = write_site([page("a.html", b"v1"), page("b.html", b"v1")], tmp_path)
    assert (tmp_path / "a.html").read_bytes() == b"v1" and report.skipped == 0
    assert not (tmp_path / BUILDING).exists()
    assert write_site([page("a.html", b"v1"), page("b.html", b"v1")], tmp_path).skipped == 2


def test_two_pages_cannot_claim_one_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="two pages"):
        write_site(
            (p for site in (corpus_site(), corpus_site()) for p in site_pages(site)), tmp_path
        )


# --------------------------------------------------------------------------- from the database


def test_incremental_site_after_a_new_week_equals_a_fresh_build(
    db_engine: Engine, tmp_path: Path
) -> None:
    """Both databases: week 46 (two genuine registrations and a HAND-MADE report), then
    week 47 (another genuine registration; the report retracted)."""
    settings = make_settings(db_engine.url.render_as_string(hide_password=False), "  []")
    import_files(
        settings,
        db_engine,
        [LEGACY / "NCT01570127.xml", LEGACY / "NCT02583334.xml"],
        now=W46,
        announce=True,
    )
    store_as_fetched(settings, db_engine, [handmade_trial_report(retracted=False)], now=W46)
    assemble_week(settings, db_engine, "2026-W46", now=W46)
    incremental, fresh = tmp_path / "incremental", tmp_path / "fresh"
    render_site(settings, db_engine, out_dir=incremental)
    old = snapshot(incremental)

    import_files(settings, db_engine, [LEGACY / "NCT02399969.xml"], now=W47, announce=True)
    store_as_fetched(
        settings, db_engine, [handmade_trial_report(retracted=True)], fetched_by="import", now=W47
    )
    assemble_week(settings, db_engine, "2026-W47", now=W47)
    written = render_site(settings, db_engine, out_dir=incremental)
    render_site(settings, db_engine, out_dir=fresh, full=True)

    new = snapshot(incremental)
    assert contents(incremental) == contents(fresh)
    assert "digests/2026-W47/index.html" in new
    assert "[Retracted]" in new["studies/pmid-99999901/index.html"][0].decode()
    for name in old.keys() & new.keys():
        if old[name][0] == new[name][0]:
            assert old[name] == new[name], f"{name} was rewritten with the same bytes"
    assert old["static/site.css"] == new["static/site.css"]
    assert {p.relative_to(incremental).as_posix() for p in written} == {
        n for n in new if n not in old or old[n][0] != new[n][0]
    }
