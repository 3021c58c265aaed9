"""The Sphinx example site in a real browser: the table is there, footnote links work both ways."""

from __future__ import annotations

import contextlib
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sphinx.cmd.build import build_main

from tests.browser import browser_page, needs_chromium, serve
from tests.helpers import clean_env, environment
from tests.test_browser import COVERING, OUT_OF_PLACE, fetch_mathjax, typeset_page

EXAMPLE = Path(__file__).parent.parent / "example_site"
IDS = ["1706.03762", "1810.04805", "1512.03385", "1412.6980", "2006.11239", "2106.09685", "2201.11903", "2005.14165"]


@pytest.fixture(scope="session")
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


# Issue 16.4: Sphinx loads MathJax without `ui/safe`, so an option MathJax reads as
# attributes (an opaque 80em box) must never reach it; nor the layout attacks of 16.12.
HOSTILE_ABSTRACT = (
    r"A bound of $\cancel[mathbackground=white,mathcolor=white,data-padding=40em]{}$ and "
    r"$\smash{\begin{matrix}" + r"x \\ " * 29 + r"x\end{matrix}}$ and $" + r"\! " * 240 + r"x$, "
    r"next to ordinary $O(n \log n)$ math."
)


@pytest.fixture(scope="session", params=["3", "4"])
def any_mathjax(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MathJax 3's, then MathJax 4's, directory of `tex-mml-chtml.js`."""
    return fetch_mathjax(request.param, request, tmp_path_factory)


@needs_chromium
def test_sphinx_mathjax_draws_no_hostile_box(tmp_path: Path, any_mathjax: Path) -> None:
    """A Sphinx build (MathJax 3 or 4, no `ui/safe`) of a paper whose abstract carries MathJax options."""
    snapshot = yaml.safe_load((EXAMPLE / "arxiv-digest-snapshot.yml").read_text(encoding="utf-8"))
    (paper,) = [entry for entry in snapshot["papers"] if entry["id"] == IDS[0]]
    paper["abstract"] = HOSTILE_ABSTRACT
    source = tmp_path / "source"
    source.mkdir()
    (tmp_path / "snapshot.yml").write_text(yaml.safe_dump({"papers": [paper]}, allow_unicode=True), encoding="utf-8")
    version = "4" if (any_mathjax / "fonts").is_dir() else "3"
    (source / "conf.py").write_text(
        "extensions = ['mkdocs_arxiv_digest.sphinx']\n"
        "arxiv_digest_language = 'zh'\n"
        "arxiv_digest_snapshot = '../snapshot.yml'\n"
        "arxiv_digest_offline = True\n"
        # MathJax from 127.0.0.1 (relative to _static), configured as Sphinx does: no ui/safe.
        "mathjax_path = 'mathjax/tex-mml-chtml.js'\n"
        f"mathjax{version}_config = {{'loader': {{'paths': {{'fonts': '_static/mathjax/fonts'}}}}}}\n",
        encoding="utf-8",
    )
    (source / "index.rst").write_text(
        f"Reading list\n============\n\n.. arxiv-digest::\n\n   {IDS[0]}\n", encoding="utf-8"
    )
    output = io.StringIO()
    arguments = ["-W", "-N", "-q", "-b", "html", str(source), str(tmp_path / "html")]
    with environment(clean_env()), contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        assert build_main(arguments) == 0, output.getvalue()
    (tmp_path / "html/_static/mathjax").symlink_to(any_mathjax, target_is_directory=True)

    dialogs: list[str] = []
    with serve(tmp_path / "html") as url, typeset_page(url, dialogs) as page:
        typeset = page.locator("mjx-container").count()
        colored = page.eval_on_selector_all(
            "mjx-container [mathbackground], mjx-container [style*='background'], mjx-container [data-padding]",
            "l => l.map(e => e.outerHTML.slice(0, 200))",
        )
        out_of_place = page.evaluate(OUT_OF_PLACE)
        covering = page.evaluate(COVERING)
        text = page.locator("body").inner_text()

    assert colored == []
    assert out_of_place == []
    assert covering == []
    assert typeset >= 1  # the ordinary math is typeset
    assert r"$\cancel[mathbackground=white" in text
