"""`digest demo`: the whole offline path over loopback, as the README's first command runs it."""

from __future__ import annotations

import email
import email.policy
import io
from pathlib import Path

import feedparser
from sqlmodel import Session

from digest.app.cli import main
from digest.desk.auth import RateLimits, authenticate
from digest.store.db import make_engine
from tests.conftest import ROOT


def test_demo_writes_digest_site_emails_and_database(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(
        ["--config", str(ROOT / "sources.yaml"), "demo", "--out", str(out)], out=stdout, err=stderr
    )
    assert code == 0, stdout.getvalue() + stderr.getvalue()

    weeks = sorted(p.name for p in (out / "digests").iterdir())
    assert len(weeks) == 1
    markdown = (out / "digests" / weeks[0] / "digest.md").read_text()
    # the five genuine acupuncture registrations, labelled as registrations, no results
    for nct in ("nct01570127", "nct01722253", "nct02399969", "nct02510066", "nct02583334"):
        assert f"studies/nct-{nct}/" in markdown
        assert (out / "site" / "studies" / f"nct-{nct}" / "index.html").is_file()
    # the genuine acupuncture records the demo imports: NCT00065585 completed, results cited
    assert "studies/nct-nct00065585/" in markdown
    assert "Trial status: Completed" in markdown
    assert "studies/pmid-22315807/" in markdown  # a genuine RCT of the 40 PubMed records
    assert "**Trial registration**" in markdown and "Registered " in markdown
    assert "Trial status: " in markdown
    assert "were not about acupuncture for pain and are not listed" in markdown
    # the phthalate/cancer recordings are stored but kept out of the digest
    assert "phthalate" not in markdown.lower()

    feed = feedparser.parse((out / "site" / "feed.xml").read_bytes())
    assert feed.bozo == 0 and feed.entries
    for page in ("index.html", "search/index.html", "evidence-map/index.html"):
        assert (out / "site" / page).is_file()

    emls = list((out / "emails").rglob("*.eml"))
    assert len(emls) == 1
    message = email.message_from_bytes(emls[0].read_bytes(), policy=email.policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (out / "digest.db").is_file()
    assert "requests answered by the replay server" in stdout.getvalue()

    # the desk: how to open it, with a demo staff account whose password is printed once
    printed = stdout.getvalue()
    [line] = [x for x in printed.splitlines() if "sign in as 'demo' with the password" in x]
    password = line.split("with the password ")[1].split()[0]
    assert len(password) >= 12 and printed.count(password) == 1
    assert " desk --port 8081 --public-url http://127.0.0.1:8081" in printed
    assert f"/desk/weeks/{weeks[0]}" in printed
    engine = make_engine(f"sqlite:///{out / 'digest.db'}")
    with Session(engine) as session:
        outcome, account = authenticate(session, "demo", password, "127.0.0.1", RateLimits())
        assert outcome == "ok" and account is not None
        assert password not in (account.password_hash or "")
    engine.dispose()
