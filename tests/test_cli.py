"""The `arxiv-digest` command, run through click's runner in a site's directory, against the fakes."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from click.testing import CliRunner

from mkdocs_arxiv_digest.cli import main
from tests.fakes import FakeArxiv, FakeLLM
from tests.helpers import API_KEY, Site, block, clean_env, environment


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run(cwd: Path, *args: str, key: bool = True) -> Result:
    """`arxiv-digest ARGS` in ``cwd``, with or without the API key."""
    env = clean_env(OPENAI_API_KEY=API_KEY) if key else clean_env()
    here = Path.cwd()
    os.chdir(cwd)
    try:
        with environment(env):
            result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(here)
    return Result(result.exit_code, result.stdout, result.stderr)


def test_the_command_runs_as_installed(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs_arxiv_digest", "render", "--help"], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert "Print the digest of IDS as Markdown" in result.stdout


def test_render_prints_the_digest_markdown(tmp_path: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", "Distilling | text", "We distill.")
    arxiv_api.add("2403.11894", "Explainable", "We explain.")
    servers = ["--arxiv-api-url", arxiv_api.url + "/api/query", "--arxiv-delay", "0", "--base-url", llm_api.base_url]

    result = run(tmp_path, "render", "2403.16584", "arXiv:2403.11894", "-l", "zh", *servers)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:4] == [
        "| Ref | Title | Summary |",
        "| --- | --- | --- |",
        "| [^2403.16584] | [Distilling &#124; text](https://arxiv.org/abs/2403.16584) "
        "| 本文研究了《Distilling &#124; text》中的问题，并提出了一种新的方法。 |",
        "| [^2403.11894] | [Explainable](https://arxiv.org/abs/2403.11894) "
        "| 本文研究了《Explainable》中的问题，并提出了一种新的方法。 |",
    ]
    assert "[^2403.11894]: **《Explainable》的中文标题**\n\n    *Explainable*\n" in result.stdout
    assert (tmp_path / ".cache/plugin/arxiv-digest/cache.db").exists()

    again = run(tmp_path, "render", "2403.16584", "arXiv:2403.11894", "-l", "zh", "--offline", key=False)

    assert again.returncode == 0, again.stderr
    assert again.stdout == result.stdout


def test_render_rejects_a_malformed_id(tmp_path: Path) -> None:
    result = run(tmp_path, "render", "2403.1658")

    assert result.returncode == 2
    assert "'2403.1658': identifiers from 2403 have 5 digits after the dot" in result.stderr


def test_snapshot_lets_a_site_build_offline_without_a_key(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    arxiv_api.add("2403.16584", "Distilling text", "We distill.")
    arxiv_api.add("2403.11894", "Explainable", "We explain.")
    site.options.update(language="zh", snapshot="papers.yml")
    site.page("index.md", block("2403.16584", "2403.11894"))
    site.write_config()

    prefetch = run(site.root, "prefetch")
    snapshot = run(site.root, "snapshot")

    assert prefetch.returncode == 0, prefetch.stderr
    assert "2/2 papers complete" in prefetch.stdout
    assert snapshot.returncode == 0, snapshot.stderr
    assert len(llm_api.history) == 2
    data = yaml.safe_load((site.root / "papers.yml").read_text(encoding="utf-8"))
    assert [paper["id"] for paper in data["papers"]] == ["2403.16584", "2403.11894"]  # the site's order
    assert data["papers"][1]["digests"]["zh"]["title"] == "《Explainable》的中文标题"

    # A person corrects a translation; the cache is gone; there is no network and no key.
    text = (site.root / "papers.yml").read_text(encoding="utf-8")
    (site.root / "papers.yml").write_text(text.replace("《Explainable》的中文标题", "可解释性"), encoding="utf-8")
    cleared = run(site.root, "cache", "clear")
    # 2 papers, 2 digests, and the page as `prefetch` rendered it (so the next build is warm).
    assert cleared.returncode == 0 and "Removed 5 entries" in cleared.stdout
    site.options["offline"] = True
    site.env = {}
    arxiv_api.close()
    llm_api.close()

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    digest = build.digest()
    assert digest.footnotes["fn:2403.11894"][0] == "可解释性"
    assert [row.summary for row in digest.rows] == [
        "本文研究了《Distilling text》中的问题，并提出了一种新的方法。",
        "本文研究了《Explainable》中的问题，并提出了一种新的方法。",
    ]


def test_cache_info_counts_entries_by_kind(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.page("index.md", block("2403.16584"))
    assert site.build().returncode == 0

    info = run(site.root, "cache", "info")

    assert info.returncode == 0, info.stderr
    assert "  digest: 1\n  page: 1\n  paper: 1\n" in info.stdout
