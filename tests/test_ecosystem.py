"""Beyond MkDocs: plain Python-Markdown, Zensical and ProperDocs, against the fakes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import markdown
import pytest
import yaml

from mkdocs_arxiv_digest import extension
from tests.conftest import API_KEY, block, clean_env
from tests.fakes import FakeArxiv, FakeLLM
from tests.html import read_digest


@pytest.fixture(autouse=True)
def fresh_pipelines() -> Iterator[None]:
    yield
    extension.close_pipelines()


def servers(arxiv_api: FakeArxiv, llm_api: FakeLLM, cache_dir: Path) -> dict[str, object]:
    return {
        "arxiv_api_url": arxiv_api.url + "/api/query",
        "arxiv_delay": 0,
        "base_url": llm_api.base_url,
        "cache_dir": str(cache_dir),
        "timeout": 5,
    }


def papers(arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text", "We distill $x_1$.")
    arxiv_api.add("2403.11894", "Explainable", "We explain.")


def test_plain_python_markdown(
    tmp_path: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    papers(arxiv_api)
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    options = servers(arxiv_api, llm_api, tmp_path / "cache") | {"language": "zh"}
    text = "# Reading\n\n" + block("2403.16584", "arXiv:2403.11894") + "\nSee also[^own].\n\n[^own]: My note.\n"

    html = markdown.markdown(text, extensions=["arxiv_digest"], extension_configs={"arxiv_digest": options})

    digest = read_digest(html)
    assert [(row.title, row.summary) for row in digest.rows] == [
        ("Distilling text", "[Simplified Chinese] one-sentence summary of Distilling text."),
        ("Explainable", "[Simplified Chinese] one-sentence summary of Explainable."),
    ]
    assert list(digest.footnotes) == ["fn:2403.16584", "fn:2403.11894", "fn:own"]
    assert digest.footnotes["fn:2403.11894"][1:3] == ["Explainable", "https://arxiv.org/abs/2403.11894"]

    again = markdown.markdown(
        text, extensions=["mkdocs_arxiv_digest.extension"], extension_configs={"mkdocs_arxiv_digest.extension": options}
    )
    assert again == html
    assert len(llm_api.history) == 2 and len(arxiv_api.history) == 1


def test_zensical_build(tmp_path: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    zensical = shutil.which("zensical", path=str(Path(sys.executable).parent))
    assert zensical, "zensical is a test dependency"
    papers(arxiv_api)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/index.md").write_text("# Reading\n\n" + block("2403.16584", "2403.11894"), encoding="utf-8")
    config = {
        "site_name": "Zensical digest",
        "markdown_extensions": [
            "footnotes",
            "tables",
            {"arxiv_digest": servers(arxiv_api, llm_api, Path(".cache/ad"))},
        ],
    }
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    env = clean_env(OPENAI_API_KEY=API_KEY)

    result = subprocess.run([zensical, "build"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr
    digest = read_digest((tmp_path / "site/index.html").read_text(encoding="utf-8"))
    assert [row.title_href for row in digest.rows] == [
        "https://arxiv.org/abs/2403.16584",
        "https://arxiv.org/abs/2403.11894",
    ]
    assert digest.rows[0].summary == "In one sentence: Distilling text."
    assert digest.footnotes["fn:2403.11894"][:2] == ["Explainable", "https://arxiv.org/abs/2403.11894"]
    assert (tmp_path / ".cache/ad/cache.db").exists()


def test_properdocs_runs_the_plugin(tmp_path: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    papers(arxiv_api)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/index.md").write_text(block("2403.16584", "2403.11894"), encoding="utf-8")
    config = {
        "site_name": "ProperDocs digest",
        "theme": {"name": "material"},
        "plugins": [{"arxiv-digest": servers(arxiv_api, llm_api, Path(".cache/ad"))}],
    }
    (tmp_path / "properdocs.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    env = clean_env(OPENAI_API_KEY=API_KEY)

    result = subprocess.run(
        [sys.executable, "-m", "properdocs", "build", "--strict"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 papers: 0 cached, 2 generated, 0 failed" in result.stderr
    digest = read_digest((tmp_path / "site/index.html").read_text(encoding="utf-8"))
    assert [row.summary for row in digest.rows] == [
        "In one sentence: Distilling text.",
        "In one sentence: Explainable.",
    ]
