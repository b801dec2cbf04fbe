"""`digest bounces import imap` against a real IMAP server: Debian's dovecot, started
for the test on loopback with its own config, a passwd-file user and a Maildir holding
the hand-made RFC 3464 DSN and RFC 5965 complaint. Skipped when dovecot is missing, except
in CI (CI=true), where `make system-deps` installs it and a missing dovecot is a failure."""

from __future__ import annotations

import mailbox
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from digest.app.cli.staff import cmd_bounces
from digest.desk.bounces import read_bounces
from digest.desk.subscribe import active_emails, is_suppressed
from digest.store.deliveries import add_subscriber
from tests.conftest import FIXTURES
from tests.test_desk_cli import run_handler
from tests.test_desk_support import desk_engine, free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


pytestmark = pytest.mark.skipif(
    os.environ.get("CI") != "true"
    and (not Path(DOVECOT).exists() or os.geteuid() != 0 or not _has_user("dovecot")),
    reason="needs dovecot (apt install dovecot-imapd), started as root",
)
__all__ = ["desk_engine"]
PASSWORD = "imap-test-password"


@pytest.fixture
def imap_server(tmp_path: Path) -> Iterator[int]:
    # the mailbox must be reachable by an unprivileged mail user: outside pytest's 0700 tmp
    homes = Path(tempfile.mkdtemp(prefix="digest-imap-"))
    homes.chmod(0o755)
    home = homes / "bounces"
    home.mkdir()
    mail_user = pwd.getpwnam("dovecot")
    box = mailbox.Maildir(home / "Maildir", create=True)
    box.add((FIXTURES / "handmade" / "handmade_dsn_hard_bounce.eml").read_bytes())
    box.add((FIXTURES / "handmade" / "handmade_arf_complaint.eml").read_bytes())
    box.add(b"From: friend@example.org\nSubject: hello\n\nNot a report.\n")
    box.close()
    for path in [home, *home.rglob("*")]:
        os.chown(path, mail_user.pw_uid, mail_user.pw_gid)
    (tmp_path / "passwd").write_text(f"bounces:{{PLAIN}}{PASSWORD}::::::\n")
    port = free_port()
    for folder in ("run", "state"):
        (tmp_path / folder).mkdir()
    config = tmp_path / "dovecot.conf"
    config.write_text(f"""
base_dir = {tmp_path}/run
state_dir = {tmp_path}/state
log_path = {tmp_path}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service auth {{
  user = root
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {tmp_path}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={homes}/%u
}}
first_valid_uid = 1
first_valid_gid = 1
""")
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    _, err = process.communicate(timeout=5)
                    raise RuntimeError(f"dovecot did not start: {err.decode()[-2000:]}") from exc
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.communicate(timeout=15)
        shutil.rmtree(homes, ignore_errors=True)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_bounces_from_an_imap_folder_are_suppressed(
    desk_engine: Engine, imap_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "DIGEST_BOUNCES_IMAP_URL": f"imap://bounces@127.0.0.1:{imap_server}/INBOX",
        "DIGEST_BOUNCES_IMAP_PASSWORD": PASSWORD,
    }
    report = read_bounces("imap", env)
    assert report.messages == 3 and report.ignored == 1
    assert sorted((b.email, b.kind) for b in report.found) == [
        ("annoyed.reader@example.com", "complaint"),
        ("gone.reader@example.net", "hard-bounce"),
    ]
    with Session(desk_engine) as session:
        for address in (
            "gone.reader@example.net",
            "annoyed.reader@example.com",
            "loyal@example.org",
        ):
            add_subscriber(session, address)
        session.commit()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = run_handler(cmd_bounces, desk_engine, action="import", path="imap")
    assert "3 message(s) read" in out and "2 newly suppressed" in out
    with Session(desk_engine) as session:
        assert is_suppressed(session, "gone.reader@example.net")
        assert active_emails(session) == ["loyal@example.org"]
    # read only: the messages are still there, unflagged
    again = read_bounces("imap", env)
    assert again.messages == 3
