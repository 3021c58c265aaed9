"""Real-browser plumbing shared by the browser tests: a directory served on 127.0.0.1, and Debian's Chromium.

Browsers cannot be downloaded at run time here, so the tests drive the system's
Chromium through Playwright and skip, with the reason, where it is missing.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (apt-get install chromium)")
# Flags for a headless Chromium on a machine with no network: without the background
# ones it tries Google's hosts at every start.
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """``directory`` over HTTP on 127.0.0.1; its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def browser_page(**options: Any) -> Iterator[Any]:
    """A page in headless Chromium that can reach 127.0.0.1 only."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(**options)
        page.route("**/*", lambda route: route.abort() if "127.0.0.1" not in route.request.url else route.continue_())
        try:
            yield page
        finally:
            browser.close()


PHONE = {"width": 390, "height": 844}
"""A phone's viewport in CSS px (an iPhone 14's), for what readers see on one."""


def phone_table(page: Any, table: str, ref: str) -> tuple[list[tuple[float, float]], list[float], float]:
    """The digest ``table``'s layout on ``page``: each ``ref`` link's (width, height), each summary cell's width, and the width of the content the table is in."""
    refs = page.eval_on_selector_all(
        f"{table} {ref}",
        "links => links.map(link => { const box = link.getBoundingClientRect(); return [box.width, box.height]; })",
    )
    summaries = page.eval_on_selector_all(
        f"{table} tbody td:nth-child(3)", "cells => cells.map(cell => cell.getBoundingClientRect().width)"
    )
    content = page.evaluate(f"document.querySelector({table!r}).parentElement.getBoundingClientRect().width")
    return [tuple(box) for box in refs], summaries, content
