"""The desk in headless Chromium (Debian's /usr/bin/chromium via Playwright), served by
uvicorn on loopback: a staff member signs in, triages the genuine W47 registrations,
writes a note (hostile markup included: it must stay text), labels one item, approves
the week; no console errors or CSP violations, no dialogs; readable at 360 px.

Screenshots go to the test's tmp folder, and to $DIGEST_DESK_SCREENSHOTS when set (that
is how docs/screenshots/desk-*.png were made)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.app.screenshots import CHROMIUM_ARGS
from digest.desk.triage import desk_decisions, week_approval
from digest.publish.tokens import make_unsubscribe_token
from tests.test_desk_support import (
    PASSWORD,
    SECRET,
    RunningDesk,
    add_alice,
    desk_config,
    desk_engine,
    desk_settings,
    import_week,
)

CHROMIUM = os.environ.get("DIGEST_CHROMIUM", "/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]
__all__ = ["desk_engine"]
SLUG = "nct-nct02583334"
NOTE = 'We will offer this. <script>alert("x")</script> <b onmouseover=alert(1)>bold</b>'


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class Watch:
    def __init__(self, page: Any) -> None:
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.problems.append(m.text))
        page.on("pageerror", lambda e: self.problems.append(str(e)))

        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)


def shot(page: Any, tmp: Path, name: str, full: bool = True, element: Any = None) -> None:
    path = tmp / f"desk-{name}.png"
    if element is not None:
        element.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=full)
    target = os.environ.get("DIGEST_DESK_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_staff_sign_in_triage_note_label_approve(
    browser: Any, desk_engine: Engine, tmp_path: Path
) -> None:
    settings = desk_settings(desk_engine)
    import_week(desk_engine, settings)
    add_alice(desk_engine)
    config = desk_config(desk_engine, settings)
    with RunningDesk(config) as desk:
        context = browser.new_context(
            viewport={"width": 1100, "height": 900}, java_script_enabled=True
        )
        page = context.new_page()
        watch = Watch(page)
        page.goto(f"{desk.url}/desk/")
        assert page.url.startswith(f"{desk.url}/desk/sign-in?next=")
        page.fill("#username", "alice")
        page.fill("#password", "not the password")
        page.click("button[type=submit]")
        assert "do not match" in page.inner_text("[role=alert]")
        shot(page, tmp_path, "sign-in")
        page.fill("#username", "alice")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        assert page.url == f"{desk.url}/desk/weeks/2026-W47"
        assert page.inner_text("h1") == "Triage: 2026-W47"
        items = page.locator("article.triage-item")
        assert items.count() == 5
        shot(page, tmp_path, "triage", full=False)

        item = page.locator(f"#item-{SLUG}")
        assert "Chronic pain" in item.inner_text() and "158" in item.inner_text()
        item.locator("input[name=status][value=approved]").check()
        item.locator("select[name=relevance]").select_option("6")
        item.locator("select[name=newsworthiness]").select_option("5")
        item.locator("textarea[name=note]").fill(NOTE)
        item.locator("select[name=label]").select_option("chronic-pain")
        item.locator("input[name=label_reason]").fill("First large sham-controlled trial here")
        item.locator("button[type=submit]").click()
        item = page.locator(f"#item-{SLUG}")
        assert item.locator(".status").inner_text() == "approved"
        assert item.locator(".our-take-text").inner_text() == NOTE  # shown as text
        assert page.locator(f"#item-{SLUG} .our-take b").count() == 0
        # leaving out without a reason is refused, and the page says why
        other = page.locator("#item-nct-nct01570127")
        other.locator("input[name=status][value=left-out]").check()
        other.locator("button[type=submit]").click()
        assert "say why" in page.inner_text("#item-nct-nct01570127 [role=alert]")
        other = page.locator("#item-nct-nct01570127")
        other.locator("input[name=reason]").fill("Registration only; results due 2027")
        other.locator("button[type=submit]").click()
        page.click("button[name=approve-week]")
        assert "Approved by alice" in page.inner_text(".sign-off")
        shot(page, tmp_path, "triage-decided", element=page.locator(f"#item-{SLUG}"))
        page.click("text=Audit log")
        assert page.locator("table.audit tbody tr").count() >= 4
        shot(page, tmp_path, "audit")

        mobile = browser.new_context(viewport={"width": 360, "height": 780})
        small = mobile.new_page()
        for cookie in context.cookies():
            mobile.add_cookies([cookie])
        small.goto(f"{desk.url}/desk/weeks/2026-W47#item-{SLUG}")
        width = small.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the triage page scrolls sideways at 360 px ({width})"
        shot(small, tmp_path, "triage-360", full=False)

        public = browser.new_context(viewport={"width": 900, "height": 900})
        visitor = public.new_page()
        Watch(visitor)
        visitor.goto(f"{desk.url}/subscribe")
        shot(visitor, tmp_path, "subscribe")
        token = make_unsubscribe_token(SECRET, "weekly.digest.example.org", "a@example.org")
        visitor.goto(f"{desk.url}/unsubscribe?token={token}")
        assert "Stop sending" in visitor.inner_text("main")
        shot(visitor, tmp_path, "unsubscribe")
        for ctx in (context, mobile, public):
            ctx.close()
        # the refused sign-in (401) and the refused decision (400) are meant to fail
        expected = ("status of 401", "status of 400")
        problems = [
            p
            for p in watch.problems
            if not p.endswith(tuple(e + " (Unauthorized)" for e in expected[:1]))
            and "status of 400 (Bad Request)" not in p
        ]
        assert problems == [] and watch.dialogs == []

    with Session(desk_engine) as session:
        decisions = desk_decisions(session, "2026-W47")
        assert decisions[SLUG].note == NOTE and decisions[SLUG].label == "chronic-pain"
        assert decisions["nct-nct01570127"].status == "left-out"
        approval = week_approval(session, "2026-W47", "required")
        assert approval.ready and approval.approved_slugs == {SLUG}
