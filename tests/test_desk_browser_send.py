"""From the desk to the inbox and the site, in headless Chromium with real parts: a staff
member signs in (uvicorn on loopback), triages the genuine W47 registrations, writes a
note with hostile markup, approves two items and the week; the weekly send (review:
required) mails through aiosmtpd only the approved items and the note; the static site,
served over loopback, shows the note marked as the clinic's words, and nothing in it runs.

Screenshots go to the test's tmp folder, and to $DIGEST_DESK_SCREENSHOTS when set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.app.screenshots import serve_directory
from digest.app.sending import send_week
from digest.app.weekly import render_site
from digest.store import deliveries
from tests.conftest import make_settings
from tests.test_desk_browser import CHROMIUM, Watch, browser, shot
from tests.test_desk_send import _fetched as fetched
from tests.test_desk_support import (
    AFTER_W47,
    PASSWORD,
    W47,
    RunningDesk,
    add_alice,
    desk_config,
    import_week,
)
from tests.test_desk_support import desk_engine as desk_engine
from tests.test_email import Recorder, smtp_server  # noqa: F401  (the aiosmtpd fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]
__all__ = ["browser", "desk_engine"]
WEEK = "2026-W47"
NOTED = "nct-nct02583334"
ALSO = "nct-nct01722253"
PLAIN_NOTE = "Registered only, no results yet: we will look again when the paper is out."
NOTE = (
    f"{PLAIN_NOTE} <script>alert('x')</script> "
    '<img src=x onerror=alert(1)> <a href="javascript:alert(2)">more</a>'
)


def decide(page: Any, slug: str, note: str | None = None) -> None:
    item = page.locator(f"#item-{slug}")
    item.locator("input[name=status][value=approved]").check()
    if note:
        item.locator("textarea[name=note]").fill(note)
    item.locator("button[type=submit]").click()
    assert page.locator(f"#item-{slug} .status").inner_text() == "approved"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_triaged_week_reaches_the_inbox_and_the_site_with_only_what_was_approved(
    browser: Any,
    desk_engine: Engine,
    tmp_path: Path,
    smtp_server: tuple[Recorder, int],  # noqa: F811
) -> None:
    recorder, port = smtp_server
    url = desk_engine.url.render_as_string(hide_password=False)
    settings = make_settings(
        url,
        "  []",
        "digest: {review: required, site_url: 'https://digest.example.org/'}\n"
        "email: {unsubscribe_url: 'https://digest.example.org/unsubscribe'}\n",
    )
    import_week(desk_engine, settings)
    add_alice(desk_engine)
    fetched(desk_engine, W47)
    env = {"DIGEST_SECRET": "x" * 32, "DIGEST_SMTP_URL": f"smtp://127.0.0.1:{port}"}
    with Session(desk_engine) as session:
        deliveries.add_subscriber(session, "reader@clinic.example.org")
        session.commit()
    waiting = send_week(settings, desk_engine, WEEK, env=env, now=AFTER_W47)
    assert (waiting.held or "").startswith("waiting for staff")  # the desk first

    with RunningDesk(desk_config(desk_engine, settings)) as desk:
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        page = context.new_page()
        watch = Watch(page)
        page.goto(f"{desk.url}/desk/sign-in?next=/desk/weeks/{WEEK}")
        page.fill("#username", "alice")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        assert page.url == f"{desk.url}/desk/weeks/{WEEK}"
        assert page.locator("article.triage-item").count() == 5
        decide(page, NOTED, NOTE)
        decide(page, ALSO)
        page.click("button[name=approve-week]")
        assert "Approved by alice" in page.inner_text(".sign-off")
        context.close()
        assert watch.problems == [] and watch.dialogs == []

    report = send_week(settings, desk_engine, WEEK, env=env, now=AFTER_W47)
    assert report.sent == ["reader@clinic.example.org"]
    [message] = recorder.parsed()
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    shown = {slug for slug in (NOTED, ALSO, "nct-nct01570127", "nct-nct02399969",
                               "nct-nct02510066") if f"studies/{slug}/" in text}  # fmt: skip
    assert shown == {NOTED, ALSO}
    assert "OUR TAKE (the clinic's own words, not the study's):" in text
    assert PLAIN_NOTE in " ".join(text.split())

    # the email as a reader's client shows it: the note is text, marked, and nothing runs
    mail = browser.new_context(viewport={"width": 360, "height": 900}, java_script_enabled=True)
    inbox = mail.new_page()
    watch = Watch(inbox)
    inbox.set_content(html, wait_until="load")
    take = inbox.locator("aside.take")
    assert take.count() == 1 and "the clinic's own words" in take.inner_text()
    assert "<script>alert('x')</script>" in take.inner_text()
    assert take.locator("script, img, a").count() == 0
    shot(inbox, tmp_path, "take-email", element=inbox.locator("article", has=take))
    mail.close()
    assert watch.dialogs == []

    site = tmp_path / "site"
    render_site(settings, desk_engine, out_dir=site)
    with serve_directory(site) as base:
        visitor = browser.new_context(viewport={"width": 1100, "height": 900})
        page = visitor.new_page()
        watch = Watch(page)
        for path in (f"studies/{NOTED}/", f"digests/{WEEK}/", "latest/", f"sent/{WEEK}/"):
            page.goto(base + path, wait_until="load")
            take = page.locator("aside.take")
            assert take.count() == 1, path
            assert take.inner_text().startswith("Our take (the clinic's own words"), path
            assert "<img src=x onerror=alert(1)>" in take.inner_text(), path
            assert take.locator("script, img, a").count() == 0, path
            if path.startswith("studies/"):
                shot(page, tmp_path, "take-site", element=take)
        page.goto(base + f"digests/{WEEK}/", wait_until="load")
        assert page.locator("article.item").count() == 2  # only what went out
        visitor.close()
        assert watch.dialogs == [] and not [p for p in watch.problems if "alert" in p]
