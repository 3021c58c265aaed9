"""Real `sphinx-build` runs of temporary Sphinx projects against the fakes: what a reader sees.

Builds run in this process through Sphinx's own command (`build_main`), as
`sphinx-build` runs; `-j 2` runs as a separate process, because parallel reading forks.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

from click.testing import CliRunner
from sphinx.cmd.build import build_main

from mkdocs_arxiv_digest.cli import main
from mkdocs_arxiv_digest.ids import parse_id
from mkdocs_arxiv_digest.languages import language_name
from mkdocs_arxiv_digest.snapshot import load_snapshot
from mkdocs_arxiv_digest.sphinx import read_directive, scan_source, sphinx_site
from tests.fakes import FakeArxiv, FakeLLM, default_answer
from tests.helpers import SphinxBuild, SphinxSite, clean_env, environment

EXAMPLE = Path(__file__).parent.parent / "example_site"


def written(title: str, abstract: str = "An abstract.", language: str = "en") -> dict[str, str]:
    """What the fake model writes about a paper (see `tests.fakes.default_answer`)."""
    name = "English" if language == "en" else language_name(language)
    return default_answer({"title": title, "abstract": abstract}, name)


def directive(*lines: str, options: str = "") -> str:
    return ".. arxiv-digest::\n" + options + "\n" + "".join(f"   {line}\n" for line in lines) + "\n"


def test_rest_directive_becomes_a_table_and_footnotes(
    sphinx: SphinxSite, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2403.16584", "Distilling text", "We distill.")
    arxiv_api.add("2402.19379", "Silicon crowd", "Crowds of models.", version=2)
    arxiv_api.add("hep-th/9901001", "Old style", "Strings.")
    sphinx.conf["arxiv_digest_language"] = "zh"
    sphinx.page(
        "index.rst",
        "Reading list\n============\n\n"
        + directive("2403.16584   # a comment", "https://arxiv.org/abs/2402.19379v2, hep-th/9901001")
        + "Again, and in English:\n\n"
        + directive("2403.16584", options="   :language: en\n"),
    )

    build = sphinx.build("-W")

    assert build.returncode == 0, build.log
    rows = build.rows()
    assert [(row.title, row.title_href) for row in rows] == [
        ("Distilling text", "https://arxiv.org/abs/2403.16584"),
        ("Silicon crowd", "https://arxiv.org/abs/2402.19379v2"),
        ("Old style", "https://arxiv.org/abs/hep-th/9901001"),
        ("Distilling text", "https://arxiv.org/abs/2403.16584"),
    ]
    assert [row.ref_href for row in rows] == [
        "#fn:2403.16584",
        "#fn:2402.19379v2",
        "#fn:hep-th/9901001",
        "#fn:2403.16584-en",  # the same paper in a second language: a footnote of its own
    ]
    assert [row.ref for row in rows] == ["[ 1 ]", "[ 2 ]", "[ 3 ]", "[ 4 ]"]
    chinese, english = written("Distilling text", "We distill.", "zh"), written("Distilling text")
    assert [row.summary for row in rows] == [
        chinese["summary"],
        written("Silicon crowd", "Crowds of models.", "zh")["summary"],
        written("Old style", "Strings.", "zh")["summary"],
        english["summary"],
    ]
    footnotes = build.footnotes()
    assert footnotes["fn:2403.16584"] == [
        chinese["title"],
        "Distilling text",
        "https://arxiv.org/abs/2403.16584",
        chinese["summary"],
        chinese["abstract"],
        "We distill.",
    ]
    assert footnotes["fn:2403.16584-en"] == [
        "Distilling text",
        "https://arxiv.org/abs/2403.16584",
        english["summary"],
        "We distill.",
    ]
    assert len(footnotes) == 4
    assert len(arxiv_api.history) == 1  # every paper of the site in one request, before reading
    assert len(llm_api.history) == 4
    assert "arxiv-digest: 4 papers: 0 cached, 4 generated, 0 failed; 1 arXiv request" in build.log


def test_myst_fence_gives_the_same_digest(sphinx: SphinxSite, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", "Distilling text", "We distill.")
    arxiv_api.add("2309.12284", "MetaMath", "Math.")
    sphinx.conf["myst_enable_extensions"] = ["colon_fence"]
    sphinx.page("index.rst", "Home\n====\n\n.. toctree::\n\n   myst\n\n" + directive("2403.16584", "2309.12284"))
    sphinx.page(
        "myst.md",
        "# MyST\n\n"
        "```{arxiv-digest}\n:language: en\n\n2403.16584   # a comment\n2309.12284\n```\n\n"
        ":::{arxiv-digest}\nlanguage: en\npapers:\n  - 2309.12284\n:::\n\n"
        "````markdown\n```{arxiv-digest}\n2401.00001\n```\n````\n",  # syntax shown, not expanded
    )

    build = sphinx.build("-W")

    assert build.returncode == 0, build.log
    assert build.rows("myst") == build.rows("index") + build.rows("index")[1:]
    assert build.footnotes("myst") == build.footnotes("index")
    assert arxiv_api.queries == [["2403.16584", "2309.12284"]]
    assert len(llm_api.history) == 2


HOSTILE_TITLE = (
    "<script>alert(1)</script> \\input{/etc/passwd} $\\href{javascript:alert(2)}{x}$ "
    "and $\\alpha+\\beta$ *not emphasis* `code`_ |sub| [#]_ \\(\\href{javascript:alert(3)}{y}\\)"
)
HOSTILE_ABSTRACT = "$x^^5cinput{/etc/passwd}$ <img src=x onerror=alert(4)> 100% & {braces} ~tilde #hash"


def test_hostile_titles_and_abstracts_stay_text_in_html(
    sphinx: SphinxSite, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2403.16584", HOSTILE_TITLE, HOSTILE_ABSTRACT)
    sphinx.conf["arxiv_digest_language"] = "zh"
    sphinx.page("index.rst", "Hostile\n=======\n\n" + directive("2403.16584"))

    build = sphinx.build("-W")

    assert build.returncode == 0, build.log
    page = build.page()
    [row] = build.rows()
    assert row.title == HOSTILE_TITLE.replace("$\\alpha+\\beta$", "\\(\\alpha+\\beta\\)")
    assert row.summary == written(row.title, language="zh")["summary"]
    assert build.footnotes()["fn:2403.16584"][-1] == HOSTILE_ABSTRACT
    # Only the allowed span is math; `\href` and the `^^` trick are text.
    math = [span.text for span in page.iter("span") if "math" in (span.attrs.get("class") or "").split()]
    # The title and summary in the table; translated title, title and summary in the footnote.
    assert math == ["\\(\\alpha+\\beta\\)"] * 5
    assert not [script for script in page.iter("script") if "alert" in script.text]
    assert not [img for img in page.iter("img") if "onerror" in img.attrs]
    assert not [a for a in page.iter("a") if (a.attrs.get("href") or "").startswith("javascript")]
    # MathJax would typeset `\(...\)` in text: the digest tells it not to look, except in its math.
    footnotes = [aside for aside in page.iter("aside") if "footnote" in (aside.attrs["class"] or "").split()]
    for node in [*page.iter("table"), *footnotes]:
        assert "mathjax_ignore" in (node.attrs.get("class") or "").split(), node.attrs


def test_hostile_text_is_escaped_in_latex_with_footnotes(sphinx: SphinxSite, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", HOSTILE_TITLE, HOSTILE_ABSTRACT)
    arxiv_api.add("2309.12284", "MetaMath", "Math.")
    sphinx.page("index.rst", "Hostile\n=======\n\n" + directive("2403.16584", "2309.12284"))

    build = sphinx.build("-W", builder="latex")

    assert build.returncode == 0, build.log
    tex = build.tex()
    assert "\\input{/etc/passwd}" not in tex
    assert "\\textbackslash{}input\\{/etc/passwd\\}" in tex
    assert "^^5c" not in tex  # TeX would read it as a backslash
    assert "\\textasciicircum{}\\textasciicircum{}5cinput" in tex
    assert "\\href{javascript" not in tex
    assert "\\(\\alpha+\\beta\\)" in tex
    assert "100\\%" in tex and "\\#hash" in tex and "\\{braces\\}" in tex
    assert tex.count("\\begin{footnote}[") == 2
    assert "\\sphinxhref{https://arxiv.org/abs/2309.12284}{MetaMath}" in tex
    assert "\\sphinxurl{https://arxiv.org/abs/2309.12284}" in tex


def test_problems_fail_with_W_and_a_plain_build_goes_on(
    sphinx: SphinxSite, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    arxiv_api.add("2309.12284", "MetaMath")
    sphinx.conf["arxiv_digest_retries"] = 0
    llm_api.script = [500]  # one digest fails
    sphinx.page(
        "index.rst", "Problems\n========\n\n.. toctree::\n\n   myst\n\n" + directive("abc", "2403.16584", "2403.99999")
    )
    sphinx.page("myst.md", "# MyST\n\n```{arxiv-digest}\n2309.12284\n2403.1658\n```\n")

    build = sphinx.build()

    assert build.returncode == 0, build.log
    assert "index.rst:10: WARNING: skipped 'abc': not an arXiv identifier" in build.log
    assert "index.rst:12: WARNING: 2403.99999: arXiv has no paper with this identifier" in build.log
    assert "myst.md:5: WARNING: skipped '2403.1658': identifiers from 2403 have 5 digits" in build.log
    assert "WARNING: 2403.16584: no summary" in build.log or "WARNING: 2309.12284: no summary" in build.log
    summaries = [row.summary for row in build.rows() + build.rows("myst")]
    assert summaries.count("arXiv has no paper with this identifier.") == 1  # no link to a page that does not exist
    assert summaries.count("No summary yet.") == 1
    assert len({written("Distilling text")["summary"], written("MetaMath")["summary"]} & set(summaries)) == 1

    strict = sphinx.build("-W", "-E")

    assert strict.returncode == 1
    assert "index.rst:10: WARNING: skipped 'abc'" in strict.log


def test_warnings_have_subtypes_that_suppress_warnings_can_select(sphinx: SphinxSite, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    sphinx.page("index.rst", "Subtypes\n========\n\n" + directive("abc", "2403.16584", "2403.99999"))

    build = sphinx.build()

    assert "index.rst:8: WARNING: 2403.99999: arXiv has no paper with this identifier" in build.log
    assert "[arxiv-digest.unknown-id]" in build.log and "[arxiv-digest.directive]" in build.log

    sphinx.conf["suppress_warnings"] = ["arxiv-digest.unknown-id"]
    quiet = sphinx.build("-W", "-E")

    assert quiet.returncode == 1  # the unreadable `abc` still fails it
    assert "WARNING: skipped 'abc'" in quiet.log and "2403.99999" not in quiet.log

    sphinx.conf["suppress_warnings"] = ["arxiv-digest.unknown-id", "arxiv-digest.directive"]

    assert sphinx.build("-W", "-E").returncode == 0


def test_missing_api_key_fails_with_W(sphinx: SphinxSite, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    sphinx.env = {}
    sphinx.page("index.rst", "No key\n======\n\n" + directive("2403.16584"))

    build = sphinx.build("-W")

    # Said once by the core, through MkDocs' logger: Sphinx must hear it too.
    assert build.returncode == 1
    assert build.log.count("OPENAI_API_KEY is not set") == 1
    assert "WARNING: arxiv-digest: OPENAI_API_KEY" in build.log
    assert [row.summary for row in build.rows()] == ["No summary yet."]
    assert llm_api.history == []


def test_rebuilds_read_only_changed_documents_and_a_warm_one_asks_nothing(
    sphinx: SphinxSite, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    for number in range(4):
        arxiv_api.add(f"2403.1658{number}", f"Paper {number}")
    sphinx.page("index.rst", "Home\n====\n\n.. toctree::\n\n   a\n   b\n")
    sphinx.page("a.rst", "A\n=\n\n" + directive("2403.16580", "2403.16581"))
    sphinx.page("b.rst", "B\n=\n\n" + directive("2403.16582"))

    cold = sphinx.build("-W")
    warm = sphinx.build("-W")

    assert cold.returncode == warm.returncode == 0, cold.log + warm.log
    assert "3 added, 0 changed, 0 removed" in cold.log
    assert "0 added, 0 changed, 0 removed" in warm.log
    assert (len(arxiv_api.history), len(llm_api.history)) == (1, 3)
    assert [row.title for row in warm.rows("a")] == ["Paper 0", "Paper 1"]

    sphinx.page("b.rst", "B\n=\n\n" + directive("2403.16582", "2403.16583"))
    edited = sphinx.build("-W")

    assert edited.returncode == 0, edited.log
    assert "0 added, 1 changed, 0 removed" in edited.log
    assert arxiv_api.queries[1:] == [["2403.16583"]]  # only the new paper
    assert len(llm_api.history) == 4
    assert [row.title for row in edited.rows("b")] == ["Paper 2", "Paper 3"]
    assert "2 papers: 1 cached, 1 generated, 0 failed; 1 arXiv request" in edited.log


def test_an_incomplete_digest_is_read_again_by_the_next_build(
    sphinx: SphinxSite, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    sphinx.conf["arxiv_digest_retries"] = 0
    llm_api.script = [503]
    sphinx.page("index.rst", "Retry\n=====\n\n" + directive("2403.16584"))

    failed = sphinx.build()

    assert failed.returncode == 0, failed.log
    assert [row.summary for row in failed.rows()] == ["No summary yet."]

    retried = sphinx.build("-W")

    assert retried.returncode == 0, retried.log
    assert "0 added, 1 changed, 0 removed" in retried.log  # unchanged, yet read again
    assert [row.summary for row in retried.rows()] == [written("Distilling text")["summary"]]

    warm = sphinx.build("-W")

    assert "0 added, 0 changed, 0 removed" in warm.log
    assert (len(arxiv_api.history), len(llm_api.history)) == (1, 2)


def test_parallel_reading_renders_from_the_prefetch(sphinx: SphinxSite, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    ids = [f"2403.{16584 + number}" for number in range(12)]
    for number, paper_id in enumerate(ids):
        arxiv_api.add(paper_id, f"Paper number {number}")
    sphinx.page("index.rst", "Home\n====\n\n.. toctree::\n   :glob:\n\n   page*\n")
    for page in range(6):
        sphinx.page(f"page{page}.rst", f"Page {page}\n======\n\n" + directive(*ids[2 * page : 2 * page + 2]))

    build = sphinx.run("-W", "-j", "2")

    assert build.returncode == 0, build.log
    assert "reading sources... [ 33%] index .. page1" in build.log  # read by forked readers, in chunks
    for page in range(6):
        assert [row.title for row in build.rows(f"page{page}")] == [
            f"Paper number {n}" for n in (2 * page, 2 * page + 1)
        ]
    # Everything was resolved before the readers forked: they asked nothing themselves.
    assert len(arxiv_api.history) == 1
    assert len(llm_api.history) == 12
    assert "12 papers: 0 cached, 12 generated, 0 failed; 1 arXiv request" in build.log


def test_offline_build_from_the_snapshot_needs_no_key_and_no_network(
    sphinx: SphinxSite, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    shutil.copy(EXAMPLE / "arxiv-digest-snapshot.yml", sphinx.root / "pinned.yml")
    sphinx.env = {}
    sphinx.conf.update(arxiv_digest_offline=True, arxiv_digest_snapshot="../pinned.yml", language="zh_CN")
    sphinx.conf["arxiv_digest_language"] = "zh"
    sphinx.page("index.rst", "Offline\n=======\n\n" + directive("1706.03762", "1512.03385"))
    snapshot = load_snapshot(sphinx.root / "pinned.yml")

    build = sphinx.build("-W")

    assert build.returncode == 0, build.log
    assert [row.summary for row in build.rows()] == [
        snapshot.entries[paper_id].digests["zh"].summary for paper_id in ("1706.03762", "1512.03385")
    ]
    assert arxiv_api.history == llm_api.history == []

    # A corrected translation in the snapshot is shown by the next build.
    pinned = sphinx.root / "pinned.yml"
    old = snapshot.entries["1706.03762"].digests["zh"].summary
    pinned.write_text(pinned.read_text(encoding="utf-8").replace(old, "人工改过的总结。"), encoding="utf-8")
    os.utime(pinned, (pinned.stat().st_atime, pinned.stat().st_mtime + 5))
    corrected = sphinx.build("-W")

    assert corrected.returncode == 0, corrected.log
    assert corrected.rows()[0].summary == "人工改过的总结。"


def test_conf_values_are_validated_by_name(sphinx: SphinxSite) -> None:
    sphinx.conf.update(arxiv_digest_timeout="soon", arxiv_digest_ofline=True)
    sphinx.page("index.rst", "Home\n====\n")

    build = sphinx.build()

    assert build.returncode == 2, build.log
    assert "arxiv_digest_timeout: Expected type" in build.log
    assert "arxiv_digest_ofline: not an option" in build.log


def test_directive_bodies_read_as_markdown_blocks_are() -> None:
    rst = (
        "Title\n=====\n\n.. note::\n\n   .. arxiv-digest::\n      :language: ja\n\n"
        "      2403.16584   # comment\n      arXiv:2309.12284, bogus\n\n"
        ".. arxiv-digest:: 2402.19379\n\n"
        ".. arxiv-digest::\n\n   language: de\n   papers:\n     - hep-th/9901001\n"
    )

    found = [read_directive(block) for block in scan_source(rst, "restructuredtext")]

    assert [[(str(i), line) for i, line in d.ids] for d in found] == [
        [("2403.16584", 9), ("2309.12284", 10)],
        [("2402.19379", 12)],
        [("hep-th/9901001", 18)],
    ]
    assert [d.options for d in found] == [{"language": "ja"}, {}, {"language": "de"}]
    assert found[0].problems == [(10, "skipped 'bogus': " + found[0].problems[0][1].split(": ", 1)[1])]
    assert parse_id("hep-th/9901001") == found[2].ids[0][0]


def test_sphinx_site_lists_what_each_document_asks_for(tmp_path: Path) -> None:
    (tmp_path / "drafts").mkdir()
    (tmp_path / "conf.py").write_text(
        'extensions = ["mkdocs_arxiv_digest.sphinx", "myst_parser"]\nlanguage = "pt_BR"\n'
        'exclude_patterns = ["drafts"]\narxiv_digest_model = "small-model"\narxiv_digest_cache_dir = "../cache"\n',
        encoding="utf-8",
    )
    (tmp_path / "index.rst").write_text("Home\n====\n\n" + directive("2403.16584", options="   :model: other\n"))
    (tmp_path / "notes.md").write_text(
        "# Notes\n\n- item\n\n  ```{arxiv-digest}\n  2309.12284\n  ```\n\n"
        "````{note}\n```{arxiv-digest}\n---\nlanguage: ja\n---\n2402.19379\n```\n````\n\n"
        "```{eval-rst}\n.. arxiv-digest::\n\n   hep-th/9901001\n```\n",
        encoding="utf-8",
    )
    (tmp_path / "drafts/skip.rst").write_text(directive("2401.00001"), encoding="utf-8")

    settings, pages = sphinx_site(tmp_path / "conf.py")

    assert (settings.language, settings.model, settings.cache_dir) == ("pt-BR", "small-model", tmp_path / "../cache")
    assert [(page.page, page.markdown) for page in pages] == [("index", None), ("notes", None)]
    assert [(str(r.id), r.language, r.model) for r in pages[0].requests] == [("2403.16584", "pt-BR", "other")]
    assert [(str(r.id), r.language) for r in pages[1].requests] == [
        ("2309.12284", "pt-BR"),
        ("2402.19379", "ja"),
        ("hep-th/9901001", "pt-BR"),
    ]


def test_example_site_builds_offline_from_its_snapshot(tmp_path: Path) -> None:
    site = tmp_path / "example_site"
    shutil.copytree(EXAMPLE, site, ignore=shutil.ignore_patterns(".cache", "_build", "site"))
    snapshot = load_snapshot(EXAMPLE / "arxiv-digest-snapshot.yml")
    output = io.StringIO()
    arguments = ["-W", "-N", "-b", "html", str(site / "sphinx"), str(tmp_path / "html")]

    with environment(clean_env()), contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        returncode = build_main(arguments)

    assert returncode == 0, output.getvalue()
    assert "0 failed; 0 arXiv requests" in output.getvalue()
    build = SphinxBuild(returncode, output.getvalue(), tmp_path / "html")
    ids = [
        "1706.03762",
        "1810.04805",
        "1512.03385",
        "1412.6980",
        "2006.11239",
        "2106.09685",
        "2201.11903",
        "2005.14165",
    ]
    rows = build.rows()
    assert [row.title_href for row in rows] == [f"https://arxiv.org/abs/{i}" for i in ids]
    for row, paper_id in zip(rows, ids, strict=True):
        entry = snapshot.entries[paper_id]
        assert (row.title, row.summary) == (entry.paper.title, entry.digests["zh"].summary)
        assert build.footnotes()[f"fn:{paper_id}"][:2] == [entry.digests["zh"].title, entry.paper.title]
    assert [row.title_href for row in build.rows("myst")] == [
        f"https://arxiv.org/abs/{i}" for i in ("1706.03762", "2006.11239", "2106.09685")
    ]
    assert "written by hand" in build.page().text


def test_the_command_line_prefetches_and_snapshots_a_sphinx_project(
    sphinx: SphinxSite, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2403.16584", "Distilling text", "We distill.")
    arxiv_api.add("2403.11894", "Explainable", "We explain.")
    sphinx.conf.update(arxiv_digest_language="zh", arxiv_digest_snapshot="pinned.yml")
    sphinx.page("index.rst", "Week\n====\n\n" + directive("2403.16584", "2403.11894", "2403.99999"))
    sphinx.write_conf()

    with environment(clean_env(**sphinx.env)):
        here = Path.cwd()
        os.chdir(sphinx.root)  # found as docs/conf.py, without -C
        try:
            prefetch = CliRunner().invoke(main, ["prefetch"])
            snapshot = CliRunner().invoke(main, ["snapshot", "-C", "docs/conf.py"])
        finally:
            os.chdir(here)

    assert prefetch.exit_code == 1  # 2403.99999 is not on arXiv
    assert "index: 2403.99999: arXiv has no paper with this identifier" in prefetch.stderr
    assert "2/3 papers complete" in prefetch.stdout
    assert snapshot.exit_code == 1 and "Wrote 2 papers to" in snapshot.stdout
    pinned = load_snapshot(sphinx.docs / "pinned.yml")
    assert list(pinned.entries) == ["2403.16584", "2403.11894"]
    assert pinned.entries["2403.11894"].digests["zh"].summary == written("Explainable", "We explain.", "zh")["summary"]

    sphinx.env, sphinx.conf["arxiv_digest_offline"] = {}, True
    sphinx.page("index.rst", "Week\n====\n\n" + directive("2403.16584", "2403.11894"))
    build = sphinx.build("-W")

    assert build.returncode == 0, build.log
    assert len(llm_api.history) == 2  # the build asked nothing: prefetch did
