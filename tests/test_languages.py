"""Several languages on one site (issue 21): each language version of a page gets its digest in that language.

Real builds with the real mkdocs-static-i18n (both of its structures, fallback on and
off) and real Sphinx builds of one project in two languages.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import pytest
import yaml
from sphinx.cmd.build import build_main

from mkdocs_arxiv_digest.i18n import page_languages
from tests.fakes import FakeArxiv, FakeLLM
from tests.helpers import Site, SphinxBuild, SphinxSite, block, clean_env, environment

ID = "2403.16584"
TITLE = "Can Large Language Models (or Humans) Distill Text?"
ABSTRACT = (
    "We investigate the potential of large language models (LLMs) to distill text: to erase the textual "
    "traces of an undesired forbidden variable. We employ a range of LLMs with varying architectures."
)


def i18n(structure: str, fallback: bool) -> dict[str, Any]:
    return {
        "i18n": {
            "docs_structure": structure,
            "fallback_to_default": fallback,
            "languages": [
                {"locale": "zh", "default": True, "name": "中文", "build": True},
                {"locale": "en", "name": "English", "build": True},
            ],
        }
    }


def is_chinese(text: str) -> bool:
    return sum("\u4e00" <= char <= "\u9fff" for char in text) > len(text) / 4


@pytest.mark.parametrize("structure", ["suffix", "folder"])
@pytest.mark.parametrize("fallback", [True, False], ids=["fallback", "no-fallback"])
def test_each_language_version_gets_its_digest_in_that_language(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM, structure: str, fallback: bool
) -> None:
    arxiv_api.add(ID, TITLE, ABSTRACT)
    site.config["theme"] = {"name": "material"}
    site.plugins = [i18n(structure, fallback), "arxiv-digest"]
    zh, en, only_zh = (
        ("zh/index.md", "en/index.md", "zh/more.md")
        if structure == "folder"
        else ("index.md", "index.en.md", "more.md")
    )
    site.page(zh, "# 阅读清单\n\n" + block(ID))
    site.page(en, "# Reading list\n\n" + block(ID))
    site.page(only_zh, "# 更多\n\n" + block(ID))  # no English version: the English site falls back to it

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    (zh_row,) = build.digest("index.html").rows
    (en_row,) = build.digest("en/index.html").rows
    assert is_chinese(zh_row.summary), zh_row
    assert not is_chinese(en_row.summary) and en_row.summary, en_row
    if fallback:  # read in English, shown in English
        (fallen,) = build.digest("en/more/index.html").rows
        assert fallen.summary == en_row.summary
    # One arXiv request for both languages; one model request per language.
    assert len(arxiv_api.queries) == 1
    assert len(llm_api.history) == 2
    assert "cached" in build.log

    again = site.build("--strict")

    assert again.returncode == 0, again.log
    assert len(arxiv_api.queries) == 1 and len(llm_api.history) == 2  # nothing asked on a rebuild
    assert again.digest("en/index.html").rows == build.digest("en/index.html").rows


def test_a_blocks_own_language_still_wins(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add(ID, TITLE, ABSTRACT)
    site.config["theme"] = {"name": "material"}
    site.plugins = [i18n("suffix", True), "arxiv-digest"]
    site.page("index.md", "# 阅读清单\n\n" + block(ID))
    site.page("index.en.md", f"# Reading list\n\n```arxiv-digest\nlanguage: zh\npapers: [{ID}]\n```\n")

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    assert is_chinese(build.digest("en/index.html").rows[0].summary)
    assert len(llm_api.history) == 1


def test_one_sphinx_project_built_in_two_languages(sphinx: SphinxSite, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    # As Read the Docs and sphinx-intl do: one build per language (`-D language=...`), each to its own folder.
    arxiv_api.add(ID, TITLE, ABSTRACT)
    sphinx.page("index.rst", f"Reading list\n============\n\n.. arxiv-digest::\n\n   {ID}\n")
    sphinx.write_conf()
    rows = {}
    for language in ("zh", "en"):
        out = sphinx.root / "_build" / language
        arguments = ["-b", "html", "-N", "-W", "-D", f"language={language}", "-d", str(out / ".doctrees")]
        output = io.StringIO()
        with (
            environment(clean_env(**sphinx.env)),
            contextlib.redirect_stdout(output),
            contextlib.redirect_stderr(output),
        ):
            assert build_main([*arguments, str(sphinx.docs), str(out)]) == 0, output.getvalue()
        (rows[language],) = SphinxBuild(0, output.getvalue(), out).rows()

    assert is_chinese(rows["zh"].summary) and not is_chinese(rows["en"].summary)
    assert len(arxiv_api.queries) == 1  # the second language's build reads the cache
    assert len(llm_api.history) == 2


@pytest.mark.parametrize("structure", ["suffix", "folder"])
def test_prefetch_and_snapshot_cover_every_language_the_site_builds(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM, structure: str
) -> None:
    from tests.test_cli import run

    arxiv_api.add(ID, TITLE, ABSTRACT)
    arxiv_api.add("2403.11894", "Can Small Language Models (or Humans) Explain Text?", ABSTRACT)
    site.config["theme"] = {"name": "material", "language": "zh"}
    site.plugins = [i18n(structure, True), "arxiv-digest"]
    site.options["snapshot"] = "snapshot.yml"
    zh, en, only_zh = (
        ("zh/index.md", "en/index.md", "zh/more.md")
        if structure == "folder"
        else ("index.md", "index.en.md", "more.md")
    )
    site.page(zh, block(ID))
    site.page(en, block(ID))
    site.page(only_zh, block("2403.11894"))  # shown in English through the fallback
    site.write_config()

    prefetch = run(site.root, "prefetch")
    snapshot = run(site.root, "snapshot")

    assert prefetch.returncode == 0 and snapshot.returncode == 0, prefetch.stderr + snapshot.stderr
    assert len(llm_api.history) == 4  # two papers, two languages, each asked once
    written = yaml.safe_load((site.root / "snapshot.yml").read_text(encoding="utf-8"))
    assert {paper["id"]: sorted(paper["digests"]) for paper in written["papers"]} == {
        ID: ["en", "zh"],
        "2403.11894": ["en", "zh"],
    }
    site.options["offline"] = True  # every language builds from the snapshot
    build = site.build("--strict")
    assert build.returncode == 0, build.log
    assert len(llm_api.history) == 4


LANGUAGES = {"languages": [{"locale": "zh", "default": True}, {"locale": "en"}, {"locale": "ja", "build": False}]}


@pytest.mark.parametrize(
    ("options", "pages", "expected"),
    [
        (
            {"docs_structure": "suffix"},
            ["index.md", "index.en.md", "more.md", "a/b.ja.md"],
            {"index.md": ["zh"], "index.en.md": ["en"], "more.md": ["zh", "en"], "a/b.ja.md": []},
        ),
        (
            {"docs_structure": "suffix", "fallback_to_default": False},
            ["index.md", "index.en.md", "more.md"],
            {"index.md": ["zh"], "index.en.md": ["en"], "more.md": ["zh"]},
        ),
        (
            {"docs_structure": "folder"},
            ["zh/index.md", "en/index.md", "zh/more.md", "en/only.md"],
            {"zh/index.md": ["zh"], "en/index.md": ["en"], "zh/more.md": ["zh", "en"], "en/only.md": ["en"]},
        ),
    ],
)
def test_page_languages(options: dict[str, Any], pages: list[str], expected: dict[str, list[str]]) -> None:
    assert page_languages(pages, LANGUAGES | options) == expected
