"""What a newcomer met in a first hour (issue 19): offline from the environment, blank snapshot
entries, `render` reading the site, suggestions for misspelt options and languages,
half-YAML blocks, and counts and warnings that read well. Real builds against the fakes.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import markdown
import pytest
import yaml

from mkdocs_arxiv_digest.extension import ArxivDigestExtension, close_pipelines
from mkdocs_arxiv_digest.ids import parse_id
from mkdocs_arxiv_digest.models import Digest, Paper
from mkdocs_arxiv_digest.render import plain_line
from mkdocs_arxiv_digest.snapshot import BLANK_MODEL, load_snapshot, save_snapshot
from tests.fakes import FakeArxiv, FakeLLM
from tests.helpers import API_KEY, Site, SphinxSite, block, clean_env, environment
from tests.test_cli import run

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "mkdocs_arxiv_digest"


# -- 1. ARXIV_DIGEST_OFFLINE, for every host ----------------------------------------------


def test_the_offline_variable_keeps_a_plain_site_off_the_network(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.page("index.md", block("2403.16584"))
    site.env["ARXIV_DIGEST_OFFLINE"] = "true"  # as publish-offline.yml sets it; mkdocs.yml says nothing

    build = site.build()

    assert build.returncode == 0, build.log
    assert arxiv_api.history == [] and llm_api.history == []
    assert "`offline` is on" in build.log

    site.options["offline"] = False  # an explicit option wins over the variable

    online = site.build("--strict")

    assert online.returncode == 0, online.log
    assert len(arxiv_api.history) == 1 and len(llm_api.history) == 1


def test_an_unreadable_offline_variable_warns_and_stays_offline(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.page("index.md", block("2403.16584"))
    site.env["ARXIV_DIGEST_OFFLINE"] = "ture"

    build = site.build()

    assert "ARXIV_DIGEST_OFFLINE='ture' is neither true nor false" in build.log
    assert arxiv_api.history == []


def test_the_offline_variable_reaches_the_markdown_extension(
    tmp_path: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    options: dict[str, Any] = {
        "arxiv_api_url": arxiv_api.url + "/api/query",
        "arxiv_delay": 0,
        "base_url": llm_api.base_url,
        "cache_dir": str(tmp_path / "cache"),
    }

    def convert(**more: Any) -> str:
        html = markdown.markdown(block("2403.16584"), extensions=[ArxivDigestExtension(**options, **more)])
        close_pipelines()
        return html

    with environment(clean_env(OPENAI_API_KEY=API_KEY, ARXIV_DIGEST_OFFLINE="1")):
        offline = convert()
        assert arxiv_api.history == []
        online = convert(offline="false")  # as Python-Markdown passes a string: still a boolean, and it wins

    assert "Distilling text" not in offline and "2403.16584" in offline
    assert len(arxiv_api.history) == 1 and "Distilling text" in online


def test_the_offline_variable_reaches_the_sphinx_extension(sphinx: SphinxSite, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    sphinx.page("index.rst", "Week\n====\n\n.. arxiv-digest::\n\n   2403.16584\n")
    sphinx.env["ARXIV_DIGEST_OFFLINE"] = "yes"

    build = sphinx.build()

    assert arxiv_api.history == []
    assert "`offline` is on" in build.log


def environment_variables_read() -> set[str]:
    """Every name the package reads from the environment: its `*_VARIABLE` constants."""
    names: set[str] = set()
    for module in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
                if any(name.endswith("_VARIABLE") for name in targets):
                    names.add(node.value.value)
    return names


def test_the_readme_lists_every_environment_variable_in_one_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- environment-variables")[1].split("<!-- /environment-variables -->")[0]
    listed = set(re.findall(r"^\| `([A-Z_]+)` \|", table, re.MULTILINE))

    read = environment_variables_read()

    assert {"OPENAI_API_KEY", "ARXIV_API_KEY", "ARXIV_DIGEST_OFFLINE"} <= read
    assert read | {"OPENAI_BASE_URL"} <= listed  # OPENAI_BASE_URL: read by the OpenAI SDK for `base_url`
    for source in PACKAGE.rglob("*.py"):  # every read goes through a named constant
        assert not re.search(r"environ(?:\.get)?\(\s*[\"']|environ\[[\"']|getenv\(", source.read_text("utf-8")), source


# -- 3. The snapshot keeps papers without a digest, as blanks to fill in -------------------


@pytest.mark.parametrize(
    "digests",
    [
        pytest.param("zh:\n", id="nothing"),
        pytest.param("zh: {summary: ''}\n", id="empty-summary"),
        pytest.param(f"zh:\n  model: {BLANK_MODEL}\n  title: 'half done'\n  summary: '  '\n", id="summary-spaces"),
    ],
)
def test_a_blank_digest_pins_the_metadata_and_no_text(tmp_path: Path, digests: str) -> None:
    path = tmp_path / "pinned.yml"
    entry = "papers:\n- id: '2403.16584'\n  version: 1\n  title: Distilling text\n  abstract: We distill.\n"
    path.write_text(entry + "  digests:\n" + "\n".join("    " + line for line in digests.splitlines()) + "\n")

    snapshot = load_snapshot(path)

    paper = snapshot.paper(parse_id("2403.16584"))
    assert paper is not None and paper.title == "Distilling text"
    assert snapshot.digest(paper, "zh") is None
    assert snapshot.entries["2403.16584"].blanks == ["zh"]


def test_a_blank_is_written_for_a_person_and_filled_by_a_later_digest(tmp_path: Path) -> None:
    path = tmp_path / "pinned.yml"
    paper = Paper("2403.16584", 1, "Distilling text", "We distill.")
    snapshot = load_snapshot(path)

    assert snapshot.add(paper, None, blank="zh") and snapshot.add(paper, None, blank="en")
    save_snapshot(snapshot, path)

    written = yaml.safe_load(path.read_text(encoding="utf-8"))["papers"][0]["digests"]
    assert written == {
        "zh": {"model": BLANK_MODEL, "title": "", "summary": "", "abstract": ""},
        "en": {"model": BLANK_MODEL, "summary": ""},  # nothing to translate
    }
    again = load_snapshot(path)
    assert again.entries == snapshot.entries

    assert again.add(paper, Digest("zh", "gpt-4.1-mini", "一句话。", "标题", "摘要。"))
    assert not again.add(paper, None, blank="zh")  # a digest is never made a blank again
    save_snapshot(again, path)

    filled = load_snapshot(path).entries["2403.16584"]
    assert filled.blanks == ["en"] and filled.digests["zh"].summary == "一句话。"


def test_the_readme_example_entry_reads_as_documented(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = readme.split("### The snapshot file")[1].split("```yaml\n")[1].split("```")[0]
    (tmp_path / "pinned.yml").write_text(example, encoding="utf-8")

    entry = load_snapshot(tmp_path / "pinned.yml").entries["1412.6980"]

    assert (entry.paper.version, entry.paper.authors) == (9, ("Diederik P. Kingma", "Jimmy Ba"))
    assert entry.digests["zh"].title == "Adam：一种随机优化方法" and entry.digests["zh"].reviewed
    assert entry.blanks == []


def test_snapshot_keeps_papers_without_a_digest_for_a_person_to_fill_in(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2403.16584", "Distilling text", "We distill.")
    site.options.update(language="zh", snapshot="papers.yml")
    site.page("index.md", block("2403.16584", "2403.99999"))
    site.write_config()

    snapshot = run(site.root, "snapshot", key=False)  # no key: metadata, and no digest

    assert snapshot.returncode == 1
    assert "Wrote 1 paper to " in snapshot.stdout
    assert "(1 without a summary: fill in its blank `summary:`; 1 without metadata, left out)" in snapshot.stdout
    [entry] = yaml.safe_load((site.root / "papers.yml").read_text(encoding="utf-8"))["papers"]
    assert entry["title"] == "Distilling text" and entry["abstract"] == "We distill."
    assert entry["digests"] == {"zh": {"model": BLANK_MODEL, "title": "", "summary": "", "abstract": ""}}

    # Offline, with no cache: the paper has its title and link, and says it has no summary yet.
    run(site.root, "cache", "clear")
    arxiv_api.close()
    llm_api.close()
    site.options["offline"] = True
    site.env = {}
    site.page("index.md", block("2403.16584"))

    build = site.build()

    assert build.returncode == 0, build.log
    [row] = build.digest().rows
    assert row.title == "Distilling text" and row.summary == "暂无摘要。"
    assert "index.md:2: 2403.16584: no summary in 'zh' in the snapshot or the cache" in build.log

    # A person fills the blank in: the build is complete, --strict and offline.
    text = (site.root / "papers.yml").read_text(encoding="utf-8")
    (site.root / "papers.yml").write_text(text.replace("summary: ''", "summary: 一句话总结。"), encoding="utf-8")

    filled = site.build("--strict")

    assert filled.returncode == 0, filled.log
    assert [row.summary for row in filled.digest().rows] == ["一句话总结。"]


# -- 4. `render` reads the site, and prints Markdown, text or HTML ------------------------


def test_render_reads_the_site_in_this_folder_and_flags_override_it(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2402.19379", "Careless Whisper: Speech-to-Text Hallucination Harms", "We find harms.")
    site.options["language"] = "zh"
    site.write_config()

    result = run(site.root, "render", "2402.19379")

    assert result.returncode == 0, result.stderr
    assert "本文研究了《Careless Whisper&#58; Speech-to-Text Hallucination Harms》" in result.stdout
    assert (site.cache_dir / "cache.db").exists()  # the site's cache, beside mkdocs.yml

    english = run(site.root, "render", "2402.19379", "-l", "en")

    assert english.returncode == 0, english.stderr
    assert "本文" not in english.stdout and "[^2402.19379]: **Careless Whisper&#58;" in english.stdout


def test_render_text_reads_as_written(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2402.19379", "Careless Whisper: Harms", "We find *harms* <b>.")
    arxiv_api.add("2403.16584", "Distilling | text", "We distill in $O(n)$.")
    site.options["language"] = "zh"
    site.write_config()

    result = run(site.root, "render", "2402.19379", "2403.16584", "--format", "text")

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "[1] 《Careless Whisper: Harms》的中文标题\n"
        "Careless Whisper: Harms\n"
        "https://arxiv.org/abs/2402.19379\n\n"
        "本文研究了《Careless Whisper: Harms》中的问题，并提出了一种新的方法。\n\n"
        "这是摘要的中文译文。\n\n"
        "We find *harms* <b>.\n\n"
        "[2] 《Distilling | text》的中文标题\n"
        "Distilling | text\n"
        "https://arxiv.org/abs/2403.16584\n\n"
        "本文研究了《Distilling | text》中的问题，并提出了一种新的方法。\n\n"
        "这是摘要的中文译文。 $O(n)$\n\n"
        "We distill in $O(n)$.\n"
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("Careless Whisper: *Harms* &amp; <b>", "Careless Whisper: *Harms* &amp; <b>"),  # nothing is escaped
        ("two\nlines\tand  spaces\u2028", "two lines and spaces"),
        ("a \x1b[31mred\x1b[0m word\x07", "a [31mred[0m word"),  # no escape sequence reaches a terminal
        ("\u202eevil\u202c \u05e9\u200f", "evil \u05e9\u200f"),  # overrides go, a right-to-left mark stays
    ],
)
def test_plain_text_is_one_inert_line(text: str, line: str) -> None:
    assert plain_line(text) == line


def test_render_html_is_the_html_a_site_shows(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2402.19379", "Careless Whisper: <b>Harms</b>", "We find harms.")
    site.options["language"] = "zh"
    site.page("index.md", block("2402.19379"))
    built = site.build("--strict")
    assert built.returncode == 0, built.log

    result = run(site.root, "render", "2402.19379", "--format", "html", "--no-math")

    assert result.returncode == 0, result.stderr
    table = result.stdout[: result.stdout.index("</table>") + len("</table>")]
    assert table.startswith("<table data-arxiv-digest") and table in built.html()
    assert "Careless Whisper: &lt;b&gt;Harms&lt;/b&gt;" in result.stdout
    assert '<div class="footnote">' in result.stdout and "这是摘要的中文译文。" in result.stdout


def test_render_outside_a_site_ignores_a_mkdocs_yml_without_the_plugin(
    tmp_path: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2402.19379", "Careless Whisper")
    (tmp_path / "mkdocs.yml").write_text("site_name: Other\n", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    servers = ["--arxiv-api-url", arxiv_api.url + "/api/query", "--arxiv-delay", "0", "--base-url", llm_api.base_url]

    result = run(tmp_path, "render", "2402.19379", *servers)
    named = run(tmp_path, "render", "2402.19379", "-f", "mkdocs.yml", *servers)

    assert result.returncode == 0, result.stderr
    assert "| [^2402.19379] | [Careless Whisper]" in result.stdout
    assert named.returncode == 2 and "does not enable the arxiv-digest plugin" in named.stderr


# -- 6. Misspelt options and unknown languages ----------------------------------------------


def test_a_misspelt_plugin_option_suggests_the_nearest(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.options["ofline"] = True
    site.page("index.md", block("2403.16584"))

    build = site.build()

    assert "option 'ofline': Unrecognised configuration name: ofline; did you mean 'offline'?" in build.log


def test_a_block_in_an_unknown_language_asks_no_model(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.page("index.md", "```arxiv-digest\nlanguage: jp\npapers: [2403.16584]\n```\n")

    build = site.build()

    assert llm_api.history == []
    assert "index.md:2: option 'language': language code 'jp' is not a known language; did you mean 'ja'" in build.log
    assert [row.title for row in build.digest().rows] == ["Distilling text"]  # the metadata is still shown


def test_a_site_in_an_unknown_language_asks_no_model(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.options["language"] = "jp"
    site.page("index.md", block("2403.16584"))

    build = site.build()

    assert llm_api.history == []
    assert "no summary: language code 'jp' is not a known language; did you mean 'ja' (Japanese)?" in build.log


# -- 7. Half-YAML blocks ---------------------------------------------------------------------


def test_options_over_bare_ids_say_where_the_ids_go_and_still_show(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    arxiv_api.add("2403.11894", "Explainable")
    site.page("index.md", "# Week\n\n```arxiv-digest\nlanguage: en\n2403.16584\n2403.11894  # why\n```\n")

    build = site.build()

    assert build.returncode == 0, build.log
    assert (
        "index.md:5: papers outside `papers:`: a block with options lists its papers under `papers:`, "
        "one `- 2403.16584` a line (read as such)"
    ) in build.log
    assert "could not find expected" not in build.log
    assert [row.title for row in build.digest().rows] == ["Distilling text", "Explainable"]


# -- 8. Counts and warnings that read well ----------------------------------------------------


def test_one_paper_and_one_request_are_singular(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.page("index.md", block("2403.16584"))

    build = site.build("--strict")

    assert "1 paper: 0 cached, 1 generated, 0 failed; 1 arXiv request; " in build.log


def test_papers_from_the_snapshot_are_counted_apart_from_the_cache(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    arxiv_api.add("2403.11894", "Explainable")
    site.options["snapshot"] = "papers.yml"
    site.page("index.md", block("2403.16584"))
    site.write_config()
    assert run(site.root, "snapshot").returncode == 0
    site.page("index.md", block("2403.16584", "2403.11894"))

    build = site.build("--strict")
    rebuild = site.build("--strict")

    assert "2 papers: 1 from the snapshot, 0 cached, 1 generated, 0 failed" in build.log
    assert "2 papers: 1 from the snapshot, 1 cached, 0 generated, 0 failed" in rebuild.log


def test_warnings_come_in_page_and_line_order(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    llm_api.answer = lambda paper, language: {}  # every reply rejected: "no summary"
    site.options["retries"] = 0
    site.page("index.md", block("2403.99999", "2403.16584", "2403.99998"))

    build = site.build()

    warned = [line for line in build.log.splitlines() if line.startswith("WARNING") and "index.md:" in line]
    assert [re.search(r"index\.md:(\d+)", line).group(1) for line in warned] == ["2", "3", "4"]  # type: ignore[union-attr]
