"""Screenshots of a built site (and optionally one email) so a person can look at them.

    python -m digest.app.screenshots SITE_DIR OUT_DIR [--eml FILE.eml]

Serves SITE_DIR on a loopback port, opens the home page, the newest digest, a study
page, the evidence map and the search page in headless Chromium at 360 px and 1280 px,
and writes full-page PNGs. Needs the `playwright` package (dev extra) and a Chromium
(default /usr/bin/chromium; override with --chromium or DIGEST_CHROMIUM).
"""

from __future__ import annotations

import argparse
import contextlib
import email
import functools
import os
import threading
from collections.abc import Iterator, Sequence
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = (360, 1280)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # a browser that navigates on drops its in-flight requests: not worth a traceback
        pass


@contextlib.contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """Serve a folder on 127.0.0.1 (a free port) for the duration; yields the base url."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def email_html(eml: Path) -> str:
    """The text/html part of a saved message."""
    message = email.message_from_bytes(eml.read_bytes(), policy=default_policy)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("html",))
    if part is None:
        raise ValueError(f"{eml} has no HTML part")
    content: str = part.get_content()
    return content


def pages_of(site_dir: Path) -> dict[str, str]:
    """name -> site-relative url of the pages worth looking at."""
    pages = {"home": "", "evidence-map": "evidence-map/", "search": "search/?q=acupuncture"}
    digests = sorted(p.parent.name for p in site_dir.glob("digests/*/index.html"))
    if digests:
        pages["digest"] = f"digests/{digests[-1]}/"
    studies = sorted(
        p for p in site_dir.glob("studies/*/index.html") if (p.parent / "citation.ris").exists()
    )  # a study, not a redirect
    if studies:
        pages["study"] = f"studies/{studies[0].parent.name}/"
    return pages


def launch_chromium(playwright: Any, executable: str) -> Any:
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


def take_screenshots(
    site_dir: Path,
    out_dir: Path,
    eml: Path | None = None,
    chromium: str = DEFAULT_CHROMIUM,
    widths: Sequence[int] = WIDTHS,
) -> list[Path]:
    """Write `<page>-<width>.png` for each page and width; returns the files."""
    from playwright.sync_api import sync_playwright  # dev dependency, imported on use

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with serve_directory(site_dir) as base, sync_playwright() as playwright:
        browser = launch_chromium(playwright, chromium)
        try:
            for width in widths:
                page = browser.new_page(viewport={"width": width, "height": 900})
                for name, url in pages_of(site_dir).items():
                    page.goto(base + url, wait_until="load")
                    written.append(out_dir / f"{name}-{width}.png")
                    page.screenshot(path=str(written[-1]), full_page=True)
                page.close()
                if eml is not None:
                    # a fresh page: the site's CSP would otherwise stay and block inline styles
                    page = browser.new_page(viewport={"width": width, "height": 900})
                    page.set_content(email_html(eml), wait_until="load")
                    written.append(out_dir / f"email-{width}.png")
                    page.screenshot(path=str(written[-1]), full_page=True)
                    page.close()
        finally:
            browser.close()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m digest.app.screenshots",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("site_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--eml", type=Path, help="also screenshot this email's HTML part")
    parser.add_argument("--chromium", default=os.environ.get("DIGEST_CHROMIUM", DEFAULT_CHROMIUM))
    args = parser.parse_args(argv)
    if not (args.site_dir / "index.html").is_file():
        parser.error(f"{args.site_dir} has no index.html: build the site first (`digest site`)")
    for path in take_screenshots(args.site_dir, args.out_dir, args.eml, args.chromium):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
