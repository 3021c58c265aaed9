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
from mkdocs_arxiv_digest.errors import DigestError
from tests.fakes import FakeArxiv, FakeLLM
from tests.helpers import API_KEY, block, clean_env
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
        ("Distilling text", "本文研究了《Distilling text》中的问题，并提出了一种新的方法。"),
        ("Explainable", "本文研究了《Explainable》中的问题，并提出了一种新的方法。"),
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
    assert digest.rows[0].summary == "This work on Distilling text contributes a new method and shows that it works."
    assert digest.footnotes["fn:2403.11894"][:2] == ["Explainable", "https://arxiv.org/abs/2403.11894"]
    assert (tmp_path / ".cache/ad/cache.db").exists()


def zensical_site(root: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM, **options: object) -> list[str]:
    """A Zensical site whose page lists a paper arXiv knows and one it does not (line 5); its build command."""
    zensical = shutil.which("zensical", path=str(Path(sys.executable).parent))
    assert zensical, "zensical is a test dependency"
    arxiv_api.add("2403.16584", "Distilling text", "We distill.")
    (root / "docs").mkdir()
    (root / "docs/index.md").write_text("# Reading\n\n" + block("2403.16584", "2403.99999"), encoding="utf-8")
    extension_options = servers(arxiv_api, llm_api, Path(".cache/ad")) | options
    config = {
        "site_name": "Zensical digest",
        "markdown_extensions": ["footnotes", "tables", {"arxiv_digest": extension_options}],
    }
    (root / "mkdocs.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return [zensical, "build"]


def run(command: list[str], root: Path) -> subprocess.CompletedProcess[str]:
    env = clean_env(OPENAI_API_KEY=API_KEY)
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_zensical_strict_option_fails_every_build_while_a_problem_remains(
    tmp_path: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    command = zensical_site(tmp_path, arxiv_api, llm_api, strict=True)
    problem = "index.md:5: 2403.99999: arXiv has no paper with this identifier (check it;"

    first = run(command, tmp_path)
    # Zensical stores a page only once it converted, so the failed page is converted, and fails, again.
    second = run(command, tmp_path)

    for result in (first, second):
        assert result.returncode != 0, result.stdout + result.stderr
        assert f"DigestError: arxiv-digest: strict: index.md has 1 problem: {problem}" in result.stderr
    assert not (tmp_path / "site/index.html").exists()

    (tmp_path / "docs/index.md").write_text("# Reading\n\n" + block("2403.16584"), encoding="utf-8")
    fixed = run(command, tmp_path)

    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "arxiv-digest" not in fixed.stderr
    digest = read_digest((tmp_path / "site/index.html").read_text(encoding="utf-8"))
    assert [row.summary for row in digest.rows] == [
        "This work on Distilling text contributes a new method and shows that it works."
    ]


def test_zensical_without_the_option_warns_once_naming_the_page(
    tmp_path: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    command = zensical_site(tmp_path, arxiv_api, llm_api)

    first = run([*command, "--strict"], tmp_path)
    second = run([*command, "--strict"], tmp_path)
    clean = run([*command, "--strict", "--clean"], tmp_path)

    # What the README says of Zensical: its --strict does not count Python warnings, and a
    # page that converted is stored and not converted again until its source or the config
    # changes, or the build is --clean.
    assert first.returncode == second.returncode == clean.returncode == 0
    warning = "arxiv-digest: index.md:5: 2403.99999: arXiv has no paper with this identifier"
    assert warning in first.stderr and warning in clean.stderr
    assert "arxiv-digest" not in second.stderr
    assert [row.title for row in read_digest((tmp_path / "site/index.html").read_text(encoding="utf-8")).rows] == [
        "Distilling text",
        "2403.99999",
    ]


def test_strict_option_in_plain_python_markdown(
    tmp_path: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    papers(arxiv_api)
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    options = servers(arxiv_api, llm_api, tmp_path / "cache") | {"strict": True}
    text = "# Reading\n\n" + block("2403.16584", "2403.1658", "2403.11894")

    with pytest.raises(DigestError) as raised:
        markdown.markdown(text, extensions=["arxiv_digest"], extension_configs={"arxiv_digest": options})

    assert str(raised.value) == (
        "arxiv-digest: strict: the page has 1 problem: "
        "line 5: skipped '2403.1658': identifiers from 2403 have 5 digits after the dot"
    )
    good = markdown.markdown(
        "# Reading\n\n" + block("2403.16584", "2403.11894"),
        extensions=["arxiv_digest"],
        extension_configs={"arxiv_digest": options},
    )
    assert len(read_digest(good).rows) == 2


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
        "This work on Distilling text contributes a new method and shows that it works.",
        "This work on Explainable contributes a new method and shows that it works.",
    ]
