"""What a process imports, and when: a warm build (everything in the cache) loads no network
client, neither it nor `arxiv-digest render` of cached papers loads what only other work
needs, and a cold build makes the model client (mostly the SDK's import) while arXiv answers."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

from mkdocs_arxiv_digest import llm
from mkdocs_arxiv_digest.build import Build
from mkdocs_arxiv_digest.cache import Cache
from mkdocs_arxiv_digest.config import Settings, validated_options
from mkdocs_arxiv_digest.ids import parse_id
from mkdocs_arxiv_digest.models import DigestRequest
from mkdocs_arxiv_digest.resolver import Resolver
from mkdocs_arxiv_digest.snapshot import Snapshot
from tests.fakes import FakeArxiv, FakeLLM
from tests.helpers import API_KEY, Site, block, clean_env, environment

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
# machinery (which `mkdocs.config.config_options` loads) nor the pipeline's page modules
# (it goes through the pipeline, the only door, which makes those only for pages).
NOT_FOR_RENDER = (
    "mkdocs.config.config_options",
    "jinja2",
    "markdown",
    "mkdocs_arxiv_digest.page_cache",
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


def test_a_cold_build_makes_the_model_client_while_arxiv_answers(
    tmp_path: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    # Real arXiv takes seconds; importing the SDK, about one. arXiv's reply waits until the
    # model client is being made (at most `HOLD_LIMIT` s): made after the reply, it fails.
    arxiv_api.hold = making = threading.Event()
    options = {"arxiv_api_url": arxiv_api.url + "/api/query", "arxiv_delay": 0, "base_url": llm_api.base_url}
    settings = Settings.from_config(validated_options(options), base_dir=tmp_path, default_language="zh")
    made_at: list[float] = []

    def summarizer(settings: Settings) -> llm.Summarizer:
        made_at.append(time.monotonic())
        making.set()
        return llm.Summarizer(llm.make_client(base_url=settings.base_url, timeout=5, retries=0), model=settings.model)

    with environment(clean_env(OPENAI_API_KEY=API_KEY)), closing(Cache(settings.cache_dir)) as cache:
        resolver = Resolver(settings, cache, Snapshot(), summarizer_factory=summarizer)
        request = DigestRequest(parse_id("2403.16584"), "zh", settings.model)
        resolver.resolve(Build(), [request])

        assert resolver.row(request).digest is not None
    [asked] = arxiv_api.history
    assert made_at and made_at[0] < asked["replied_at"]  # before arXiv's answer was sent
