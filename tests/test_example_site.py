"""The example site: builds offline with no key from its snapshot, and works in a real browser."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mkdocs_arxiv_digest.directive import find_directives
from mkdocs_arxiv_digest.snapshot import load_snapshot
from tests.browser import browser_page, needs_chromium, serve
from tests.helpers import clean_env, made_once
from tests.html import read_digest

EXAMPLE = Path(__file__).parent.parent / "example_site"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example site built as CI and GitHub Pages build it: no key, no network, --strict."""
    return made_once(tmp_path_factory, "example-site", build_example) / "site"


def build_example(directory: Path) -> None:
    shutil.copytree(EXAMPLE, directory / "example_site")  # an empty cache: nothing but the snapshot
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(directory / "site")],
        cwd=directory / "example_site",
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 failed; 0 arXiv requests" in result.stderr


def expected_ids() -> list[str]:
    [directive] = find_directives((EXAMPLE / "docs/index.md").read_text(encoding="utf-8"))
    return [str(arxiv_id) for arxiv_id, _line in directive.ids]


def test_example_site_builds_offline_from_its_snapshot(built: Path) -> None:
    snapshot = load_snapshot(EXAMPLE / "arxiv-digest-snapshot.yml")
    digest = read_digest((built / "index.html").read_text(encoding="utf-8"))
    ids = expected_ids()

    assert len(ids) == 8
    assert [row.title_href for row in digest.rows] == [f"https://arxiv.org/abs/{i}" for i in ids]
    for row, paper_id in zip(digest.rows, ids, strict=True):
        entry = snapshot.entries[paper_id]
        assert row.title == entry.paper.title
        assert row.summary == entry.digests["zh"].summary
        paragraphs = digest.footnotes[f"fn:{paper_id}"]
        assert paragraphs[:2] == [entry.digests["zh"].title, entry.paper.title]
    page_text = digest.page.text
    assert "written by hand" in page_text  # the hand-written Chinese is labelled as such on the page


def test_example_snapshot_says_who_wrote_it() -> None:
    snapshot = load_snapshot(EXAMPLE / "arxiv-digest-snapshot.yml")
    assert "written by hand" in snapshot.header
    assert {digest.model for entry in snapshot.entries.values() for digest in entry.digests.values()} == {
        "written-by-hand"
    }


@pytest.fixture(scope="session")
def served(built: Path) -> Iterator[str]:
    with serve(built) as url:
        yield url


@needs_chromium
def test_digest_in_a_real_browser(served: str) -> None:
    ids = expected_ids()
    with browser_page() as page:
        page.goto(served)

        rows = page.locator("article table tbody tr")
        assert rows.count() == len(ids)
        assert rows.nth(0).locator("td").nth(1).inner_text().strip() != ""

        # Hovering a Ref shows the paper's details in a tooltip (content.footnote.tooltips).
        ref = rows.nth(1).locator("td").nth(0).locator("a")
        ref.hover()
        tooltip = page.locator(".md-tooltip2--active, .md-tooltip2").filter(has_text=ids[1]).first
        tooltip.wait_for(state="visible", timeout=5000)

        # Clicking it jumps to the details; the back-link returns to the row.
        page.mouse.move(0, 0)
        ref.click()
        page.wait_for_function(f"location.hash === '#fn:{ids[1]}'")
        footnote = page.locator(f"li[id='fn:{ids[1]}']")
        assert footnote.is_visible()
        assert f"https://arxiv.org/abs/{ids[1]}" in footnote.inner_text()
        footnote.locator("a.footnote-backref").click()
        page.wait_for_function(f"location.hash === '#fnref:{ids[1]}'")


def test_example_site_has_an_english_version_from_the_same_snapshot(built: Path) -> None:
    # Issue 21: zh + en with mkdocs-static-i18n; the English page's digests are English.
    english = read_digest((built / "en/index.html").read_text(encoding="utf-8"))
    chinese = read_digest((built / "index.html").read_text(encoding="utf-8"))
    assert [row.title for row in english.rows] == [row.title for row in chinese.rows]
    assert len(english.rows) == 8
    for row in english.rows:
        assert row.summary.isascii() and len(row.summary) > 60, row
