"""Benchmark: `arxiv-digest batch ingest` of 10,000 results — replies checked and cached per second, peak memory.

    python bench/batch_ingest.py                 # 10,000 results in Chinese (about a minute, no network)
    python bench/batch_ingest.py --papers 2000 --language en

The papers are the example site's eight (real titles and abstracts, from its snapshot),
each repeated with a number in its title, so every one is a distinct paper with a real
abstract's length, figures and names. Their metadata is put in a fresh cache first (no
arXiv), the requests are those `batch export` writes, and the results file is made by the
tests' fake model (`tests/fakes.py`: `FakeLLM.batch_results`). A quarter of its replies are
refused by the checks (its word-for-word stand-in translation writes the kept figures and
names with nothing between them: ``93.21.5``), so rejections are measured too.

The ingest itself runs in a child process, timed from the call to `Pipeline.ingest_batch`
to its return (metadata and digest look-ups, reading the file, every reply's checks — in a
process per core for a file this large, `batch_workers` — the cache writes). It reports its
own peak resident set and its checking processes' largest (a child's `ru_maxrss` starts
from its parent's on Linux, so a child of its own is measured), and its CPU time with
theirs. A second child that loads the same pipeline and papers without ingesting gives
the floor.

Targets (issue 23): >= 1,000 replies/s checked and cached; memory bounded (the results
are streamed a line at a time, so the peak should not grow with the file).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LANGUAGE_NAMES = {"zh": "Chinese (Simplified)", "en": "English", "ja": "Japanese", "de": "German"}


def papers(count: int) -> list[dict[str, str]]:
    """``count`` distinct papers made from the example site's eight."""
    snapshot = yaml.safe_load((ROOT / "example_site/arxiv-digest-snapshot.yml").read_text(encoding="utf-8"))
    seeds = snapshot["papers"]
    made = []
    for n in range(count):
        seed = seeds[n % len(seeds)]
        # A sentence with the paper's number makes every abstract distinct too: no check
        # can gain from having judged the same abstract before (a real batch has one
        # reply per paper and language).
        abstract = f"{seed['abstract']} We release the {n} examples of our evaluation."
        made.append({"id": f"2401.{n:05d}", "title": f"{seed['title']} ({n})", "abstract": abstract})
    return made


def prepare(directory: Path, count: int, language: str) -> tuple[Path, Path]:
    """A cache holding the papers' metadata, and the results file for their requests."""
    from mkdocs_arxiv_digest.batch_lines import request_line
    from mkdocs_arxiv_digest.cache import Cache
    from mkdocs_arxiv_digest.ids import parse_id
    from mkdocs_arxiv_digest.keys import digest_key
    from mkdocs_arxiv_digest.llm import make_prompt
    from mkdocs_arxiv_digest.models import Paper
    from tests.fakes import FakeLLM

    cache_dir = directory / "cache"
    cache = Cache(cache_dir)
    lines = []
    for item in papers(count):
        paper = Paper(item["id"], 1, item["title"], item["abstract"])
        cache.put_paper(parse_id(item["id"]), paper)
        from mkdocs_arxiv_digest.batch_lines import Pending

        key = digest_key(paper, language, MODEL)
        lines.append(request_line(Pending(key, [], make_prompt(paper, language, MODEL)), SHAPE).decode())
    cache.close()
    fake = FakeLLM()
    try:
        output, errors = fake.batch_results("".join(lines))
    finally:
        fake.close()
    assert not errors, errors[:500]
    results = directory / "results.jsonl"
    results.write_text(output, encoding="utf-8")
    return cache_dir, results


MODEL = "gpt-4.1-mini"
SHAPE = ("json_schema", "max_tokens")


def child(cache_dir: Path, results: Path, count: int, language: str, ingest: bool) -> None:
    """Ingest (or, for the floor, only load the papers), and print the figures as JSON."""
    from mkdocs_arxiv_digest.config import settings_from_options
    from mkdocs_arxiv_digest.ids import parse_id
    from mkdocs_arxiv_digest.models import DigestRequest
    from mkdocs_arxiv_digest.pipeline import Pipeline

    options = {"cache_dir": str(cache_dir), "language": language, "model": MODEL, "offline": False}
    settings = settings_from_options(options, base_dir=cache_dir.parent, default_language=language)
    requests = [DigestRequest(parse_id(item["id"]), language, MODEL) for item in papers(count)]
    with Pipeline(settings) as pipeline:
        start, cpu = time.perf_counter(), _cpu()
        if ingest:
            report = pipeline.ingest_batch(requests, [results])
            accepted = report.tally.accepted
            checked = accepted + len(report.tally.rejected) + len(report.tally.failed)
        else:
            from mkdocs_arxiv_digest.batch_lines import resolve_papers

            resolve_papers(pipeline.resolver, pipeline.build, requests)
            accepted = checked = 0
        seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    # Peaks in MB: this process's, and the largest of its checking processes' (`batch_workers`).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    figures = {"seconds": seconds, "cpu": cpu, "accepted": accepted, "checked": checked}
    print(json.dumps(figures | {"peak": peak, "worker_peak": workers}))


def _cpu() -> float:
    """CPU seconds of this process and of the checking processes it has waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_child(cache_dir: Path, results: Path, count: int, language: str, ingest: bool) -> dict[str, float]:
    """The child's figures (its peak resident set and its checking processes' in MB among them)."""
    command = [sys.executable, __file__, "--child", str(cache_dir), str(results), str(count), language]
    command += [] if ingest else ["--floor"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=10_000)
    parser.add_argument("--language", default="zh", choices=sorted(LANGUAGE_NAMES))
    parser.add_argument("--child", nargs=4, metavar=("CACHE", "RESULTS", "COUNT", "LANGUAGE"), help=argparse.SUPPRESS)
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        cache_dir, results, count, language = args.child
        child(Path(cache_dir), Path(results), int(count), language, ingest=not args.floor)
        return
    with tempfile.TemporaryDirectory(prefix="arxiv-digest-bench-") as directory:
        start = time.perf_counter()
        cache_dir, results = prepare(Path(directory), args.papers, args.language)
        size = results.stat().st_size
        print(f"prepared {args.papers} results ({size / 1e6:.1f} MB) in {time.perf_counter() - start:.1f} s")
        figures = run_child(cache_dir, results, args.papers, args.language, ingest=True)
        floor = run_child(cache_dir, results, args.papers, args.language, ingest=False)
    rate = figures["checked"] / figures["seconds"]
    print(
        f"ingest: {int(figures['checked'])} replies checked ({int(figures['accepted'])} accepted and cached, the rest"
        f" rejected by the checks and recorded) in {figures['seconds']:.2f} s = {rate:,.0f} replies/s"
        f" (target >= 1,000); loading the papers alone: {floor['seconds']:.2f} s"
    )
    # On a shared machine the wall clock counts other processes' turns too: the CPU time
    # (checking processes included) says what the ingest itself costs.
    load = os.getloadavg()[0]
    print(
        f"CPU time of the ingest: {figures['cpu']:.2f} s = {figures['checked'] / figures['cpu']:,.0f} replies per"
        f" CPU second (load average {load:.1f} at the end)"
    )
    workers = f" + checking processes of {figures['worker_peak']:.0f} MB each" if figures["worker_peak"] else ""
    print(
        f"peak memory: the ingest process {figures['peak']:.0f} MB{workers}"
        f" ({os.cpu_count()} cores, Python {sys.version.split()[0]})"
    )


if __name__ == "__main__":
    main()
