"""Query blocks: an arXiv search, pinned on the first online build, refreshed on purpose.

Against the fake arXiv (which answers `search_query` in arXiv's Atom format), real MkDocs
and Sphinx builds, the real `arxiv` client, and the command line through click's runner.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mkdocs_arxiv_digest.arxiv_source import ArxivSource, make_client
from mkdocs_arxiv_digest.cli import main
from mkdocs_arxiv_digest.directive import find_directives
from mkdocs_arxiv_digest.queries import MAX_RESULTS, Pin
from tests.fakes import FakeArxiv, FakeLLM
from tests.helpers import API_KEY, Site, SphinxSite, clean_env, environment

QUERY = 'cat:cs.CL AND abs:"machine translation"'


def query_block(query: str = QUERY, **options: str) -> str:
    lines = [f"query: {query}", *(f"{name}: {value}" for name, value in options.items())]
    return "```arxiv-digest\n" + "\n".join(lines) + "\n```\n"


def add_papers(arxiv_api: FakeArxiv) -> None:
    """Five matching papers (one a day in March 2024) and two that do not match."""
    for day in range(1, 6):
        arxiv_api.add(
            f"2403.0000{day}",
            f"Translation paper {day}",
            "We study machine translation of low-resource languages.",
            published=f"2024-03-0{day}T10:00:00Z",
        )
    arxiv_api.add("2403.00010", "A vision paper", "We study machine translation.", categories=["cs.CV"])
    arxiv_api.add("2403.00011", "Another CL paper", "We study parsing.", published="2024-03-09T10:00:00Z")


def titles(build_digest_rows: list[object]) -> list[str]:
    return [row.title for row in build_digest_rows]  # type: ignore[attr-defined]


def refresh(site: Site, *args: str) -> tuple[int, str]:
    config = site.write_config()
    here = Path.cwd()
    os.chdir(site.root)
    try:
        with environment(clean_env(OPENAI_API_KEY=API_KEY)):
            result = CliRunner().invoke(main, ["refresh", "-f", str(config), *args], catch_exceptions=False)
    finally:
        os.chdir(here)
    return result.exit_code, result.stdout + result.stderr


def test_a_query_block_is_pinned_and_refreshed_on_purpose(site: Site, arxiv_api: FakeArxiv) -> None:
    add_papers(arxiv_api)
    site.options["snapshot"] = "arxiv-digest-snapshot.yml"
    site.page("index.md", "# This week\n\n" + query_block(max="3"))

    first = site.build("--strict")

    assert first.returncode == 0, first.log
    # The 3 newest matching papers, newest first; their metadata came with the search.
    assert titles(first.digest().rows) == ["Translation paper 5", "Translation paper 4", "Translation paper 3"]
    [search] = arxiv_api.searches
    assert search["search_query"] == QUERY
    assert (search["sortBy"], search["sortOrder"]) == ("submittedDate", "descending")
    assert len(arxiv_api.history) == 1, "the search's entries are the papers' metadata: no id_list request"
    pinned = yaml.safe_load((site.root / "arxiv-digest-snapshot.yml").read_text(encoding="utf-8"))
    assert pinned["queries"][0]["query"] == QUERY
    assert pinned["queries"][0]["ids"] == ["2403.00005", "2403.00004", "2403.00003"]

    # A newer matching paper is announced: a plain rebuild does not ask, and shows the pin.
    arxiv_api.add("2403.00006", "Translation paper 6", "Machine translation again.", published="2024-03-06T10:00:00Z")
    again = site.build("--strict")
    assert titles(again.digest().rows) == titles(first.digest().rows)
    assert len(arxiv_api.history) == 1, "a pinned query asks arXiv nothing"

    code, output = refresh(site)

    assert code == 0, output
    assert "index.md: " + QUERY in output and "1 added, 1 dropped" in output
    assert "+ 2403.00006  Translation paper 6" in output
    assert "- 2403.00003  Translation paper 3" in output
    refreshed = site.build("--strict")
    assert titles(refreshed.digest().rows) == ["Translation paper 6", "Translation paper 5", "Translation paper 4"]
    assert len(arxiv_api.searches) == 2

    # Offline, from the snapshot alone (no cache): the same pinned list, no request.
    code, output = snapshot(site)
    assert code == 0, output
    requests = len(arxiv_api.history)
    site.options["offline"] = True
    site.options["cache_dir"] = "elsewhere"
    offline = site.build("--strict")
    assert offline.returncode == 0, offline.log
    assert titles(offline.digest().rows) == titles(refreshed.digest().rows)
    assert len(arxiv_api.history) == requests


def snapshot(site: Site) -> tuple[int, str]:
    config = site.write_config()
    here = Path.cwd()
    os.chdir(site.root)
    try:
        with environment(clean_env(OPENAI_API_KEY=API_KEY)):
            result = CliRunner().invoke(main, ["snapshot", "-f", str(config)], catch_exceptions=False)
    finally:
        os.chdir(here)
    return result.exit_code, result.stdout + result.stderr


def test_without_a_snapshot_the_pin_is_in_the_cache(site: Site, arxiv_api: FakeArxiv) -> None:
    add_papers(arxiv_api)
    site.page("index.md", query_block(max="2"))

    first = site.build("--strict")
    arxiv_api.add("2403.00006", "Translation paper 6", "Machine translation.", published="2024-03-06T10:00:00Z")
    second = site.build("--strict")

    assert titles(first.digest().rows) == titles(second.digest().rows) == ["Translation paper 5", "Translation paper 4"]
    assert len(arxiv_api.searches) == 1
    code, output = refresh(site, "--query", QUERY)
    assert code == 0 and "+ 2403.00006  Translation paper 6" in output, output
    assert "Pinned in " + str(site.cache_dir) in output
    assert titles(site.build("--strict").digest().rows)[0] == "Translation paper 6"


def test_a_block_refresh_age_runs_the_query_again_when_the_pin_is_older(site: Site, arxiv_api: FakeArxiv) -> None:
    add_papers(arxiv_api)
    site.options["snapshot"] = "snapshot.yml"
    site.page("index.md", query_block(max="2", refresh="1d"))
    site.build("--strict")
    arxiv_api.add("2403.00006", "Translation paper 6", "Machine translation.", published="2024-03-06T10:00:00Z")

    fresh = site.build("--strict")  # the pin is minutes old
    assert titles(fresh.digest().rows)[0] == "Translation paper 5"
    assert len(arxiv_api.searches) == 1

    path = site.root / "snapshot.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["queries"][0]["ran"] = "2024-01-01T00:00:00Z"  # two years ago
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    due = site.build("--strict")

    assert titles(due.digest().rows) == ["Translation paper 6", "Translation paper 5"]
    assert len(arxiv_api.searches) == 2


def test_a_malformed_query_is_a_warning_with_arxivs_message(site: Site, arxiv_api: FakeArxiv) -> None:
    add_papers(arxiv_api)
    site.page("index.md", "# Page\n\n" + query_block("cat:cs.CL AND (abs:translation") + "\nThe rest.\n")

    result = site.build()

    assert result.returncode == 0, result.log
    assert "WARNING -  arxiv-digest: index.md:4: arXiv rejected the query" in result.log
    assert "(HTTP 400): malformed query: unbalanced parentheses" in result.log
    assert "The rest." in result.html()
    assert site.build("--strict").returncode == 1


def test_options_of_a_query_block_are_checked() -> None:
    [good, too_many, both, stray] = find_directives(
        query_block(max="5", sort="updated", refresh="7d")
        + query_block(max=str(MAX_RESULTS + 1), sort="oldest", refresh="soon")
        + "```arxiv-digest\nquery: cat:cs.CL\npapers:\n  - 2403.16584\n```\n"
        + "```arxiv-digest\nmax: 5\npapers:\n  - 2403.16584\n```\n"
    )

    assert good.query is not None and not good.problems
    assert (good.query.max, good.query.sort, good.query.refresh) == (5, "updated", 7 * 86400)
    assert good.options == {}
    messages = " ".join(message for _line, message in too_many.problems)
    assert f"must be from 1 to {MAX_RESULTS}" in messages
    assert "expected one of submitted, updated, relevance" in messages and "expected an age" in messages
    assert both.query is None and [str(i) for i, _ in both.ids] == ["2403.16584"]
    assert "not both" in both.problems[0][1]
    assert "belongs to a `query:`" in stray.problems[0][1]


def test_a_search_pages_past_the_page_size(arxiv_api: FakeArxiv) -> None:
    for number in range(1, 8):
        arxiv_api.add(
            f"2403.0000{number}", f"Paper {number}", "Machine translation.", published=f"2024-03-0{number}T10:00:00Z"
        )
    client = make_client(arxiv_api.url + "/api/query", timeout=5, delay=0)
    client.page_size = 3  # arXiv's is 100: a small one makes the paging visible

    result = ArxivSource(client, retries=0).search("cat:cs.CL", max_results=5, sort_by="submittedDate")

    assert [paper.id for paper in result.papers] == [f"2403.0000{n}" for n in (7, 6, 5, 4, 3)]
    assert [(s["start"], s["max_results"]) for s in arxiv_api.searches] == [("0", "3"), ("3", "3")]


def test_a_pin_read_from_disk_is_validated() -> None:
    good = {"query": QUERY, "max": 2, "sort": "submitted", "ran": "2026-05-01T06:00:00Z", "ids": ["2403.00005"]}
    assert Pin.from_json(good).ids == ("2403.00005",)
    for bad in ({"ids": ["abc"]}, {"ids": ["2403.00005v2"]}, {"ran": "soon"}, {"max": 0}, {"sort": "oldest"}):
        with pytest.raises(ValueError):
            Pin.from_json(good | bad)


def test_sphinx_and_the_extension_show_a_query_block(
    tmp_path: Path, sphinx: SphinxSite, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    add_papers(arxiv_api)
    sphinx.page(
        "index.rst",
        f"Reading\n=======\n\n.. arxiv-digest::\n   :query: {QUERY}\n   :max: 2\n\n.. toctree::\n\n   week\n",
    )
    sphinx.page("week.md", "# Week\n\n```{arxiv-digest}\nquery: cat:cs.CL\nmax: 1\n```\n")

    built = sphinx.build("-W")

    assert built.returncode == 0, built.log
    assert [row.title for row in built.rows("index")] == ["Translation paper 5", "Translation paper 4"]
    assert [row.title for row in built.rows("week")] == ["Another CL paper"]
    assert len(arxiv_api.searches) == 2

    import markdown

    from tests.html import read_digest

    options = {k: v for k, v in sphinx.options.items()} | {"cache_dir": str(tmp_path / "ext-cache")}
    with environment(clean_env(OPENAI_API_KEY=API_KEY)):
        html = markdown.markdown(
            query_block(max="2"), extensions=["arxiv_digest"], extension_configs={"arxiv_digest": options}
        )
    assert [row.title for row in read_digest(html).rows] == ["Translation paper 5", "Translation paper 4"]
