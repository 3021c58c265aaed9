"""Benchmark: cold builds against the concurrency limit, warm builds against plain Markdown.

    python bench/run.py            # a few minutes, no network (fakes on 127.0.0.1)
    python bench/run.py --quick    # smaller N, for a smoke run

Every figure is a ratio to its limit, measured side by side in this run:

- cold/limit: nothing cached; N papers over P pages; fake latencies L_arxiv, L_llm;
  limit = plain_build + L_arxiv * arxiv_requests + ceil(N / C) * L_llm, where plain_build
  builds the same pages with the digest Markdown written in (no plugin). Target <= 1.15.
- speed-up: the same cold build at concurrency 1 over the build at concurrency C. Target >= 7.
- warm/floor: everything cached, N papers over P pages, against the plain-Markdown floor
  (the digest Markdown pasted into the pages, plugin off). Target <= 1.05, zero requests.
- per-paper 10k/1k: warm time per paper at 10,000 papers over that at 1,000 (linearity,
  target <= 1.2), with the peak memory of the 10,000-paper build (a fresh process).
- requests per paper (target 1.0) and whether every request shares one system prompt.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import math
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mkdocs.commands.build import build  # noqa: E402
from mkdocs.config import load_config  # noqa: E402

from mkdocs_arxiv_digest import llm  # noqa: E402
from mkdocs_arxiv_digest.cache import Cache  # noqa: E402
from mkdocs_arxiv_digest.config import DEFAULT_MODEL, Settings, validated_options  # noqa: E402
from mkdocs_arxiv_digest.ids import parse_id  # noqa: E402
from mkdocs_arxiv_digest.models import Digest, Paper  # noqa: E402
from mkdocs_arxiv_digest.pipeline import Pipeline  # noqa: E402
from tests.fakes import FakeArxiv, FakeLLM  # noqa: E402

LANGUAGE = "zh"
ABSTRACT = "We study a problem and propose a method. " * 25  # ~1,000 characters, like arXiv's


def paper_ids(count: int) -> list[str]:
    return [f"24{month:02d}.{number:05d}" for month in range(1, 13) for number in range(10000, 20000)][:count]


def write_site(root: Path, pages: list[str], options: dict[str, object] | None) -> Path:
    """A site of the given page sources; with the plugin when ``options`` is given."""
    docs = root / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for number, markdown in enumerate(pages):
        (docs / f"page{number}.md").write_text(markdown, encoding="utf-8")
    # The same plugins on both sides but ours: MkDocs' default `search` would otherwise
    # run only where `plugins:` is left out.
    plugins: list[object] = ["search"] + ([{"arxiv-digest": options}] if options is not None else [])
    config = {
        "site_name": "Bench",
        "theme": {"name": "mkdocs"},
        "markdown_extensions": ["footnotes", "tables"],
        "plugins": plugins,
    }
    path = root / "mkdocs.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def directive_pages(ids: list[str], pages: int) -> list[str]:
    per_page = math.ceil(len(ids) / pages)
    chunks = [ids[start : start + per_page] for start in range(0, len(ids), per_page)]
    return [f"# Page {n}\n\n```arxiv-digest\n" + "\n".join(chunk) + "\n```\n" for n, chunk in enumerate(chunks)]


def timed_build(config_file: Path) -> float:
    """One in-process `mkdocs build` (as the CLI runs it, minus process start-up)."""
    config = load_config(str(config_file))
    config.plugins.on_startup(command="build", dirty=False)
    # A full collection left over from the last build lands in this one at random
    # (30-40 ms at 1,000 papers): start every build, plugin or plain, from a clean heap.
    gc.collect()
    start = time.perf_counter()
    build(config)
    elapsed = time.perf_counter() - start
    config.plugins.on_shutdown()
    return elapsed


def plain_pages(config_file: Path, pages: list[str]) -> list[str]:
    """The pages as the plugin renders them from a warm cache: the hand-written equivalent."""
    options = yaml.safe_load(config_file.read_text())["plugins"][-1]["arxiv-digest"]
    settings = Settings.from_config(
        validated_options({**options, "offline": True}), base_dir=config_file.parent, default_language=LANGUAGE
    )
    pipeline = Pipeline(settings)
    rendered = [pipeline.render_page(markdown, f"page{n}.md") for n, markdown in enumerate(pages)]
    pipeline.close()
    return rendered


def servers(arxiv_latency: float, llm_latency: float) -> tuple[FakeArxiv, FakeLLM]:
    arxiv_api, llm_api = FakeArxiv(), FakeLLM()
    arxiv_api.latency, llm_api.latency = arxiv_latency, llm_latency
    return arxiv_api, llm_api


def plugin_options(arxiv_api: FakeArxiv, llm_api: FakeLLM, concurrency: int) -> dict[str, object]:
    return {
        "language": LANGUAGE,
        "arxiv_api_url": arxiv_api.url + "/api/query",
        "arxiv_delay": 0,
        "base_url": llm_api.base_url,
        "concurrency": concurrency,
    }


def cold(n: int, pages: int, concurrency: int, arxiv_latency: float, llm_latency: float) -> dict[str, float]:
    """Cold build at `concurrency` and at 1, and the plain floor of the same pages."""
    ids = paper_ids(n)
    results: dict[str, float] = {}
    for label, c in (("cold", concurrency), ("sequential", 1)):
        arxiv_api, llm_api = servers(arxiv_latency, llm_latency)
        for paper_id in ids:
            arxiv_api.add(paper_id, f"Paper {paper_id}", ABSTRACT)
        with tempfile.TemporaryDirectory() as tmp:
            sources = directive_pages(ids, pages)
            config_file = write_site(Path(tmp), sources, plugin_options(arxiv_api, llm_api, c))
            results[label] = timed_build(config_file)
            if label == "cold":
                plain_config = write_site(Path(tmp) / "plain", plain_pages(config_file, sources), None)
                results["plain"] = min(timed_build(plain_config) for _ in range(3))
                results["arxiv_requests"] = len(arxiv_api.history)
                results["llm_requests"] = len(llm_api.history)
                results["max_in_flight"] = llm_api.max_in_flight
                prompts = {request["messages"][0]["content"] for request in llm_api.requests}
                results["shared_prompt"] = float(len(prompts) == 1)
        arxiv_api.close()
        llm_api.close()
    results["limit"] = (
        results["plain"] + arxiv_latency * results["arxiv_requests"] + math.ceil(n / concurrency) * llm_latency
    )
    return results


def fill_cache(cache_dir: Path, ids: list[str], model: str) -> None:
    """A warm cache, written directly: how it was filled does not matter to a warm build."""
    cache = Cache(cache_dir)
    for paper_id in ids:
        arxiv_id = parse_id(paper_id)
        paper = Paper(arxiv_id.base, 1, f"Paper {paper_id}", ABSTRACT, ("A. Author",), "2024-01-01")
        cache.put_paper(arxiv_id, paper)
        digest = Digest(LANGUAGE, model, f"一句话总结 {paper_id}。", f"标题 {paper_id}", "摘要。" * 100)
        cache.put_digest(llm.digest_key(paper, LANGUAGE, model), digest)
    cache.close()


def warm(n: int, pages: int, repeats: int) -> dict[str, float]:
    """Warm plugin build against the plain floor, alternating, best of ``repeats`` each."""
    arxiv_api, llm_api = servers(0, 0)
    ids = paper_ids(n)
    with tempfile.TemporaryDirectory() as tmp:
        sources = directive_pages(ids, pages)
        config_file = write_site(Path(tmp), sources, plugin_options(arxiv_api, llm_api, 8))
        fill_cache(Path(tmp) / ".cache/plugin/arxiv-digest", ids, DEFAULT_MODEL)
        plain_config = write_site(Path(tmp) / "plain", plain_pages(config_file, sources), None)
        plugin_times, plain_times = [], []
        for _ in range(repeats):
            plugin_times.append(timed_build(config_file))
            plain_times.append(timed_build(plain_config))
        peak = _peak_memory_of_build(config_file)
    requests = len(arxiv_api.history) + len(llm_api.history)
    arxiv_api.close()
    llm_api.close()
    return {
        "warm": min(plugin_times),
        "plain": min(plain_times),
        "warm_median": statistics.median(plugin_times),
        "plain_median": statistics.median(plain_times),
        "requests": requests,
        "peak_mb": peak,
    }


def _child_build(config_file: Path) -> float:
    logging.getLogger("mkdocs").setLevel(logging.ERROR)
    timed_build(config_file)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_memory_of_build(config_file: Path) -> float:
    """Peak resident memory (MB) of a fresh process that runs one warm build."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return float(pool.apply(_child_build, (config_file,)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small N: a smoke run, not the figures")
    args = parser.parse_args()
    logging.getLogger("mkdocs").setLevel(logging.ERROR)
    os.environ["OPENAI_API_KEY"] = "sk-bench"
    # (papers, LLM latency) cold; papers warm small and large.
    n_cold, l_llm, n_warm, n_large = (16, 0.2, 100, 1000) if args.quick else (64, 1.0, 1000, 10000)

    started = time.perf_counter()
    c = cold(n_cold, 8, 8, arxiv_latency=0.3, llm_latency=l_llm)
    w1 = warm(n_warm, 20, repeats=5)
    w10 = warm(n_large, 100, repeats=3)

    rows = [
        (f"cold, {n_cold} papers / 8 pages, C=8: build / limit", c["cold"] / c["limit"], "<= 1.15"),
        ("cold: one-at-a-time / concurrent (speed-up)", c["sequential"] / c["cold"], ">= 7"),
        (f"warm, {n_warm} papers / 20 pages: build / plain Markdown", w1["warm"] / w1["plain"], "<= 1.05"),
        (
            f"warm, {n_large} / {n_warm} papers: time per paper",
            (w10["warm"] / n_large) / (w1["warm"] / n_warm),
            "<= 1.2",
        ),
        ("requests per paper (cold)", c["llm_requests"] / n_cold, "1.0"),
    ]
    print(f"{'figure':58} {'ratio':>7}  target")
    for name, ratio, target in rows:
        print(f"{name:58} {ratio:7.3f}  {target}")
    print()
    print(
        f"cold: {c['cold']:.2f} s, limit {c['limit']:.2f} s (plain {c['plain']:.2f} s + {c['arxiv_requests']:.0f} arXiv "
        f"request(s) x 0.3 s + ceil(N/8) x {l_llm} s), sequential {c['sequential']:.2f} s; "
        f"{c['llm_requests']:.0f} model requests, at most {c['max_in_flight']:.0f} in flight; "
        f"one shared system prompt: {bool(c['shared_prompt'])}"
    )
    for label, w in ((n_warm, w1), (n_large, w10)):
        print(
            f"warm {label}: {w['warm']:.3f} s (median {w['warm_median']:.3f}) vs plain {w['plain']:.3f} s "
            f"(median {w['plain_median']:.3f}); {w['requests']:.0f} network requests; peak memory {w['peak_mb']:.0f} MB"
        )
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
