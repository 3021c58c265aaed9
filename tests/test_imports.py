"""What a build imports: a warm build (everything in the cache) loads no network client."""

from __future__ import annotations

from tests.conftest import Site, block
from tests.fakes import FakeArxiv

# A MkDocs hook file: at the end of the build, name the heavy client packages loaded.
HOOK = '''
import sys

def on_post_build(config):
    loaded = sorted(m for m in ("openai", "arxiv", "requests", "httpx2") if m in sys.modules)
    print("client packages loaded:", loaded, flush=True)
'''


def loaded_by_build(site: Site) -> str:
    process = site.start()
    log, _ = process.communicate(timeout=120)
    assert process.returncode == 0, log
    return next(line for line in log.splitlines() if line.startswith("client packages loaded:"))


def test_a_warm_build_imports_neither_openai_nor_arxiv_nor_requests(site: Site, arxiv_api: FakeArxiv) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    site.page("index.md", block("2403.16584"))
    (site.root / "report_modules.py").write_text(HOOK, encoding="utf-8")
    site.config["hooks"] = ["report_modules.py"]

    cold = loaded_by_build(site)
    warm = loaded_by_build(site)

    assert cold == "client packages loaded: ['arxiv', 'httpx2', 'openai', 'requests']"
    assert warm == "client packages loaded: []"
