"""The Sphinx example site in a real browser: the table is there, footnote links work both ways."""

from __future__ import annotations

import contextlib
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sphinx.cmd.build import build_main

from tests.browser import browser_page, needs_chromium, serve
from tests.helpers import clean_env, environment

EXAMPLE = Path(__file__).parent.parent / "example_site"
IDS = ["1706.03762", "1810.04805", "1512.03385", "1412.6980", "2006.11239", "2106.09685", "2201.11903", "2005.14165"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example built as Read the Docs would build it (no key, no network, -W), then served."""
    root = tmp_path_factory.mktemp("sphinx-example")
    shutil.copytree(EXAMPLE, root / "example_site", ignore=shutil.ignore_patterns(".cache", "_build", "site"))
    output = io.StringIO()
    arguments = ["-W", "-N", "-q", "-b", "html", str(root / "example_site/sphinx"), str(root / "html")]
    with environment(clean_env()), contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        assert build_main(arguments) == 0, output.getvalue()
    with serve(root / "html") as url:
        yield url


@needs_chromium
def test_sphinx_digest_in_a_real_browser(served: str) -> None:
    with browser_page(viewport={"width": 1200, "height": 800}) as page:
        page.goto(served)

        rows = page.locator("table.arxiv-digest tbody tr")
        assert rows.count() == len(IDS)
        assert rows.nth(0).is_visible()
        title = rows.nth(1).locator("td").nth(1).locator("a")
        assert title.inner_text().startswith("BERT")
        assert title.get_attribute("href") == f"https://arxiv.org/abs/{IDS[1]}"

        # Clicking a Ref jumps to the paper's footnote; its back-link returns to the row.
        ref = rows.nth(1).locator("td").nth(0).locator("a")
        ref.click()
        page.wait_for_function(f"location.hash === '#fn:{IDS[1]}'")
        footnote = page.locator(f"aside[id='fn:{IDS[1]}']")
        assert footnote.is_visible()
        assert footnote.evaluate(
            "node => { const r = node.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; }"
        )
        assert f"https://arxiv.org/abs/{IDS[1]}" in footnote.inner_text()
        back = footnote.locator("a[role='doc-backlink']")
        back.click()
        page.wait_for_function(f"location.hash === '#{ref.get_attribute('id')}'")
        assert ref.evaluate(
            "node => { const r = node.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; }"
        )
