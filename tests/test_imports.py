"""What a process imports: a warm build (everything in the cache) loads no network client, and
neither it nor `arxiv-digest render` of cached papers loads what only other work needs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import Site, block, clean_env
from tests.fakes import FakeArxiv, FakeLLM

CLIENTS = ("openai", "arxiv", "requests", "httpx2")
# What serving stored pages never needs: the snapshot (the site has none), the reply
# checks, the worker pool, the network clients' modules.
NOT_FOR_A_WARM_BUILD = (
    "mkdocs_arxiv_digest.snapshot",
    "mkdocs_arxiv_digest.checks",
    "mkdocs_arxiv_digest.arxiv_source",
    "mkdocs_arxiv_digest.llm",
    "concurrent.futures",
)
# `render` prints the digests of papers: no pages, so neither MkDocs' theme and Markdown
# machinery (which `mkdocs.config.config_options` loads) nor the pipeline's page modules.
NOT_FOR_RENDER = (
    "mkdocs.config.config_options",
    "jinja2",
    "markdown",
    "mkdocs_arxiv_digest.pipeline",
    "mkdocs_arxiv_digest.page_renderer",
    "mkdocs_arxiv_digest.directive",
    *CLIENTS,
)

# A MkDocs hook file: at the end of the build, name the watched modules loaded.
HOOK = f"""
import sys

def on_post_build(config):
    loaded = sorted(m for m in {CLIENTS!r} if m in sys.modules)
    print("client packages loaded:", loaded, flush=True)
    loaded = sorted(m for m in {NOT_FOR_A_WARM_BUILD!r} if m in sys.modules)
    print("other modules loaded:", loaded, flush=True)
"""

# The `arxiv-digest` command, naming the watched modules loaded as the process ends.
RENDER = f"""
import atexit, sys
atexit.register(lambda: print("modules loaded:", sorted(m for m in {NOT_FOR_RENDER!r} if m in sys.modules)))
from mkdocs_arxiv_digest.cli import main
main()
"""


def loaded_by_build(site: Site) -> list[str]:
    process = site.start()
    log, _ = process.communicate(timeout=120)
    assert process.returncode == 0, log
    return [line for line in log.splitlines() if line.startswith(("client packages loaded:", "other modules loaded:"))]


def test_a_warm_build_imports_neither_openai_nor_arxiv_nor_requests(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.page("index.md", block("2403.16584"))
    (site.root / "report_modules.py").write_text(HOOK, encoding="utf-8")
    site.config["hooks"] = ["report_modules.py"]

    cold = loaded_by_build(site)
    warm = loaded_by_build(site)

    assert cold[0] == "client packages loaded: ['arxiv', 'httpx2', 'openai', 'requests']"
    assert warm == ["client packages loaded: []", "other modules loaded: []"]


def render(cwd: Path, *args: str, key: bool = False) -> subprocess.CompletedProcess[str]:
    """`arxiv-digest render ARGS` as a process of its own, in ``cwd``."""
    env = clean_env(OPENAI_API_KEY="sk-test") if key else clean_env()
    command = [sys.executable, "-c", RENDER, "render", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_render_of_cached_papers_imports_no_page_or_theme_machinery(
    tmp_path: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    ids = ["2403.16584", "2403.11894"]
    for paper_id in ids:
        arxiv_api.add(paper_id, f"Paper {paper_id}")
    servers = ["--arxiv-api-url", arxiv_api.url + "/api/query", "--arxiv-delay", "0", "--base-url", llm_api.base_url]
    cold = render(tmp_path, *ids, "-l", "zh", *servers, key=True)
    assert cold.returncode == 0, cold.stderr

    warm = render(tmp_path, *ids, "-l", "zh", "--offline")

    assert warm.returncode == 0, warm.stderr
    digest, modules = warm.stdout.rsplit("\n", 2)[:2]
    assert digest == cold.stdout.rsplit("\n", 2)[0]  # the same digests, from the cache
    assert modules == "modules loaded: []"
