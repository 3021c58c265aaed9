"""What readers of a Sphinx site get from the digest's stylesheet (issue 19, item 9, as on MkDocs).

A real `sphinx-build` of a page holding a digest and an author's own table of footnotes,
measured in Chromium at 390 px: each Ref a 24x24 tap target, the summary as wide as
the content. The stylesheet is the MkDocs plugin's file, copied into ``_static`` for
HTML builders only, and touches no table but the digest's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mkdocs_arxiv_digest.stylesheet import stylesheet
from tests.browser import PHONE, browser_page, needs_chromium, phone_table, serve
from tests.fakes import FakeArxiv, FakeLLM
from tests.helpers import SphinxBuild, SphinxSite
from tests.html import parse

TITLE_EN = "Can Large Language Models (or Humans) Distill Text?"
ABSTRACT_EN = "We investigate the potential of large language models (LLMs) to distill text."
# The seed digest's longest title: the title cell wraps on a phone, the summary must not shrink.
LONG_TITLE = (
    "InceptionXML: A Lightweight Framework with Synchronized Negative Sampling for Short Text Extreme Classification"
)
STATIC = "_static/arxiv-digest.css"

# An author's own table whose first cells are footnote references, as a digest's are.
AUTHOR_TABLE = """\
.. list-table::
   :header-rows: 1

   * - Note
     - Text
     - More
   * - [#mine]_
     - An author's own table of footnotes.
     - Its cells keep the theme's table layout.

.. [#mine] Mine.
"""


def page(sphinx: SphinxSite, arxiv_api: FakeArxiv, llm_api: FakeLLM, theme: str = "alabaster") -> None:
    """Two papers of the seed digest in Chinese (the fake model's), then an author's table, on one page."""
    arxiv_api.add("2403.16584", TITLE_EN, ABSTRACT_EN)
    arxiv_api.add("2109.07319", LONG_TITLE, ABSTRACT_EN)
    sphinx.conf["arxiv_digest_language"] = "zh"
    sphinx.conf["html_theme"] = theme
    sphinx.page(
        "index.rst",
        "Papers\n======\n\n.. arxiv-digest::\n\n   2403.16584\n   2109.07319\n\n" + AUTHOR_TABLE,
    )


def html_build(sphinx: SphinxSite, arxiv_api: FakeArxiv, llm_api: FakeLLM, theme: str = "alabaster") -> SphinxBuild:
    page(sphinx, arxiv_api, llm_api, theme)
    build = sphinx.build("-W")
    assert build.returncode == 0, build.log
    return build


def test_only_the_digest_table_is_marked_and_the_stylesheet_is_linked(
    sphinx: SphinxSite, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    build = html_build(sphinx, arxiv_api, llm_api)

    tables = parse(build.html()).iter("table")
    marked = {table.iter("th")[0].text: "arxiv-digest" in (table.attrs["class"] or "").split() for table in tables}
    assert marked == {"Ref": True, "Note": False}
    # The theme's own table class stays: alabaster, furo and sphinx_rtd_theme style `table.docutils`.
    (digest,) = [table for table in tables if table.iter("th")[0].text == "Ref"]
    assert "docutils" in (digest.attrs["class"] or "").split()
    links = [link.attrs.get("href") or "" for link in parse(build.html()).iter("link")]
    assert [href.split("?")[0] for href in links if "arxiv-digest" in href] == [STATIC]
    assert (build.site / STATIC).read_text(encoding="utf-8") == stylesheet()


def test_a_project_file_of_the_stylesheet_name_wins(sphinx: SphinxSite, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    sphinx.page("_static/arxiv-digest.css", "/* the project's own */\n")
    sphinx.conf["html_static_path"] = ["_static"]

    build = html_build(sphinx, arxiv_api, llm_api)

    assert (build.site / STATIC).read_text(encoding="utf-8") == "/* the project's own */\n"


def test_a_latex_build_gets_the_digest_and_no_stylesheet(
    sphinx: SphinxSite, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    page(sphinx, arxiv_api, llm_api)

    build = sphinx.build("-W", builder="latex")

    assert build.returncode == 0, build.log
    tex = build.tex()
    assert "\\sphinxhref{https://arxiv.org/abs/2403.16584}" in tex
    assert tex.count("\\begin{footnote}[") == 3  # two papers, and the author's own
    assert not list(build.site.rglob("*.css"))


@needs_chromium
@pytest.mark.parametrize("theme", ["alabaster", "classic"])
def test_each_ref_is_a_24px_tap_target_and_the_summary_has_the_width_at_390px(
    sphinx: SphinxSite, arxiv_api: FakeArxiv, llm_api: FakeLLM, theme: str
) -> None:
    built: Path = html_build(sphinx, arxiv_api, llm_api, theme).site

    with serve(built) as url, browser_page(viewport=PHONE) as browser:
        browser.goto(url)
        refs, summaries, content = phone_table(browser, "table.arxiv-digest", "a.footnote-reference")
        # The author's table, on the same page, keeps the theme's layout and superscripts.
        author_rows = browser.eval_on_selector_all(
            "table:not(.arxiv-digest) tbody tr", "rows => rows.map(row => getComputedStyle(row).display)"
        )
        author_ref = browser.eval_on_selector(
            "table:not(.arxiv-digest) a.footnote-reference", "link => link.getBoundingClientRect().height"
        )

    assert len(refs) == 2
    # WCAG 2.2, success criterion 2.5.8 (Target Size, Minimum): 24 × 24 CSS px.
    assert all(width >= 24 and height >= 24 for width, height in refs), refs
    # Readable on a phone: the summary takes most of the content's width, not a narrow
    # third (alabaster's three columns gave it 143 of 330 px).
    assert all(width >= 0.75 * content for width in summaries), (summaries, content)
    assert author_rows == ["table-row"]
    assert author_ref < 24
