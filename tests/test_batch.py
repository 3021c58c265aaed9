"""Batch generation against the fake Batch API (`/v1/files`, `/v1/batches`), through the real `openai` client.

`prefetch --batch` runs through click's runner in the site's directory, or as a real
process where it is killed; builds are real MkDocs builds in this process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mkdocs_arxiv_digest import batch_workers
from mkdocs_arxiv_digest.batch_lines import (
    Pending,
    Results,
    Tally,
    export_paths,
    pending_digests,
    request_line,
    write_parts,
)
from mkdocs_arxiv_digest.cache import Cache
from mkdocs_arxiv_digest.config import settings_from_options
from mkdocs_arxiv_digest.ids import parse_id
from mkdocs_arxiv_digest.keys import digest_key
from mkdocs_arxiv_digest.llm import make_prompt
from mkdocs_arxiv_digest.models import DigestRequest, Paper
from mkdocs_arxiv_digest.pipeline import Pipeline
from tests.fakes import FakeArxiv, FakeLLM, request_format
from tests.helpers import API_KEY, Site, block, clean_env
from tests.test_cli import run

PAPERS = {  # abstracts long enough for the fidelity checks to judge (real ones, shortened)
    "2403.16584": (
        "Can Large Language Models (or Humans) Distill Text?",
        "We investigate the potential of large language models (LLMs) such as GPT-4 and LLaMA to distill text: "
        "to erase the textual traces of an undesired forbidden variable. We employ a range of LLMs with varying "
        "architectures and training approaches to distill text by identifying and removing information about "
        "the target variable while preserving other relevant signals, across 12 protected attributes.",
    ),
    "1412.6980": (
        "Adam: A Method for Stochastic Optimization",
        "We introduce Adam, an algorithm for first-order gradient-based optimization of stochastic objective "
        "functions, based on adaptive estimates of lower-order moments. The method is straightforward to "
        "implement, is computationally efficient, has little memory requirements, and is well suited for "
        "problems that are large in terms of data and parameters, as experiments on MNIST and ImageNet show.",
    ),
    "2212.04356": (
        "Robust Speech Recognition via Large-Scale Weak Supervision",
        "We study the capabilities of speech processing systems trained simply to predict large amounts of "
        "transcripts of audio on the internet. When scaled to 680,000 hours of multilingual and multitask "
        "supervision, the resulting models generalize well to standard benchmarks such as LibriSpeech and are "
        "often competitive with prior fully supervised results, approaching human accuracy and robustness.",
    ),
}


MODEL = "gpt-4.1-mini"


def batch_site(site: Site, arxiv_api: FakeArxiv, *, language: str = "zh") -> list[str]:
    for arxiv_id, (title, abstract) in PAPERS.items():
        arxiv_api.add(arxiv_id, title, abstract)
    site.options["language"] = language
    site.page("index.md", "# Reading\n\n" + block(*PAPERS))
    site.write_config()
    return list(PAPERS)


def chat_requests(llm_api: FakeLLM) -> int:
    return len(llm_api.requests)


def test_prefetch_batch_makes_one_batch_and_the_next_build_asks_no_model(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM, tmp_path: Path
) -> None:
    ids = batch_site(site, arxiv_api)

    result = run(site.root, "prefetch", "--batch", "--poll", "0")

    assert result.returncode == 0, result.stderr
    [create] = llm_api.batch_creates
    assert create["endpoint"] == "/v1/chat/completions" and create["completion_window"] == "24h"
    [batch_id] = llm_api.batches
    lines = llm_api.batch_input(batch_id)
    assert len(lines) == len(ids) and chat_requests(llm_api) == 0
    assert (
        "3 accepted" in result.stdout
        and "3 requests, 300 prompt + 60 completion tokens at batch pricing" in result.stdout
    )
    assert "3 by batch" in result.stdout
    # Each line is the interactive request for its paper, under its digest key.
    [(paper, _age)] = Cache(site.cache_dir).get_papers([parse_id("1412.6980")]).values()
    line = next(line for line in lines if "Adam" in json.dumps(line))
    assert line["custom_id"] == digest_key(paper, "zh", line["body"]["model"])
    assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    assert chat_requests(llm_api) == 0
    assert [row.summary for row in build.digest().rows] == [
        f"本文研究了《{PAPERS[arxiv_id][0]}》中的问题，并提出了一种新的方法。" for arxiv_id in ids
    ]


def test_a_batch_line_is_the_interactive_request(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    batch_site(site, arxiv_api)
    run(site.root, "prefetch", "--batch", "--poll", "0")
    [batch_id] = llm_api.batches
    batched = {line["body"]["messages"][1]["content"]: line["body"] for line in llm_api.batch_input(batch_id)}
    Cache(site.cache_dir).clear()

    site.build()

    interactive = {body["messages"][1]["content"]: body for body in llm_api.requests}
    assert interactive == batched


def test_a_rejected_batch_reply_is_not_published(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    batch_site(site, arxiv_api)
    english = "This work on Adam contributes a new method and shows that it works."

    def answer(paper: dict[str, str], language: str) -> dict[str, str]:
        from tests.fakes import default_answer

        written = default_answer(paper, language)
        return written | {"summary": english} if paper["title"].startswith("Adam") else written

    llm_api.answer = answer

    result = run(site.root, "prefetch", "--batch", "--poll", "0")

    assert result.returncode == 1
    assert "2 accepted, 1 rejected" in result.stdout
    # Asked again interactively (bounded), rejected again, and held back as the interactive path holds it.
    assert chat_requests(llm_api) == 4  # one interactive summary: the first try and the site's `retries: 3`
    assert "rejected once, not asked again before" in result.stderr
    build = site.build()
    assert english not in build.html()
    assert chat_requests(llm_api) == 4  # held back: not asked again
    rows = build.digest().rows
    assert rows[1].summary != english and rows[0].summary.startswith("本文研究了")


def test_a_prefetch_killed_during_the_batch_picks_it_up_again(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    batch_site(site, arxiv_api)
    llm_api.batch_polls = 10**6  # in progress until the test says
    env = clean_env(OPENAI_API_KEY=API_KEY)
    command = [sys.executable, "-m", "mkdocs_arxiv_digest", "prefetch", "--batch", "--poll", "0.05"]
    process = subprocess.Popen(command, cwd=site.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not any(batch["polls"] >= 2 for batch in llm_api.batches.values()):
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the batch was never polled"
            time.sleep(0.05)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
    assert len(llm_api.batch_creates) == 1
    llm_api.batch_polls = 0

    result = run(site.root, "prefetch", "--batch", "--poll", "0")

    assert result.returncode == 0, result.stderr
    assert len(llm_api.batch_creates) == 1 and len(llm_api.files) == 2  # the input and one output file
    assert "3/3 papers complete" in result.stdout and chat_requests(llm_api) == 0


def test_a_prefetch_killed_between_upload_and_batch_finds_its_batch(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    batch_site(site, arxiv_api)
    llm_api.batch_polls = 10**6
    run(site.root, "prefetch", "--batch", "--no-wait")
    [job] = Cache(site.cache_dir).get_records("batch", ["jobs"], lambda data: data)["jobs"]["jobs"]
    # As if killed after `batches.create` and before its id was recorded.
    Cache(site.cache_dir).put_record("batch", "jobs", {"jobs": [job | {"batch": ""}]})
    llm_api.batch_polls = 0

    result = run(site.root, "prefetch", "--batch", "--poll", "0")

    assert result.returncode == 0, result.stderr
    assert len(llm_api.batch_creates) == 1
    assert "3/3 papers complete" in result.stdout


def test_no_wait_submits_and_a_later_prefetch_collects(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    batch_site(site, arxiv_api)

    submitted = run(site.root, "prefetch", "--batch", "--no-wait")

    assert submitted.returncode == 0, submitted.stderr
    assert "3 waiting in batch batch_1" in submitted.stdout
    assert chat_requests(llm_api) == 0 and all(batch["polls"] == 0 for batch in llm_api.batches.values())
    collected = run(site.root, "prefetch", "--batch", "--poll", "0")
    assert collected.returncode == 0, collected.stderr
    assert len(llm_api.batch_creates) == 1 and "3 accepted" in collected.stdout


def test_no_wait_collects_a_batch_that_has_ended_and_leaves_one_still_running(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    batch_site(site, arxiv_api)
    llm_api.batch_polls = 10**6  # running until told otherwise
    run(site.root, "prefetch", "--batch", "--no-wait")

    running = run(site.root, "prefetch", "--batch", "--no-wait")

    assert running.returncode == 0, running.stderr
    assert "3 waiting in batch batch_1" in running.stdout and "0/3 papers complete" in running.stdout
    assert llm_api.batches["batch_1"]["polls"] == 1  # asked once, not waited for
    llm_api.batch_polls = 0  # it ends

    ended = run(site.root, "prefetch", "--batch", "--no-wait")

    assert ended.returncode == 0, ended.stderr
    assert "3 accepted" in ended.stdout and "waiting" not in ended.stdout
    assert "3/3 papers complete" in ended.stdout
    assert len(llm_api.batch_creates) == 1 and chat_requests(llm_api) == 0
    assert Cache(site.cache_dir).get_records("batch", ["jobs"], lambda data: data)["jobs"]["jobs"] == []


def test_an_expired_batch_is_resubmitted_for_what_it_did_not_return(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    batch_site(site, arxiv_api)
    llm_api.batch_expire_after = 1

    result = run(site.root, "prefetch", "--batch", "--poll", "0")

    assert result.returncode == 0, result.stderr
    assert "Batch batch_1 expired: 1 of 3 requests returned; submitting the other 2 again" in result.stderr
    first, second = (llm_api.batch_input(batch_id) for batch_id in llm_api.batches)
    assert [line["custom_id"] for line in second] == [line["custom_id"] for line in first[1:]]
    assert "3/3 papers complete" in result.stdout and chat_requests(llm_api) == 0


def test_a_batch_server_refusing_json_schema_gets_the_lines_again_in_a_weaker_format(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    batch_site(site, arxiv_api)
    llm_api.kind = "deepseek"  # refuses json_schema, line by line, in the batch's error file

    result = run(site.root, "prefetch", "--batch", "--poll", "0")

    assert result.returncode == 0, result.stderr
    assert (
        "The batch's server refused 3 requests in json_schema and max_tokens (This response_format type is "
        "unavailable now); submitting them again with json_object+schema and max_tokens"
    ) in result.stderr
    first, second = (llm_api.batch_input(batch_id) for batch_id in llm_api.batches)
    assert {request_format(line["body"]) for line in first} == {"json_schema"}
    assert {request_format(line["body"]) for line in second} == {"json_object+schema"}
    assert "3 accepted" in result.stdout and "3/3 papers complete" in result.stdout
    assert chat_requests(llm_api) == 0  # nothing left to ask at full price

    # What the server takes is remembered: the next batch (the papers in English) is not
    # sent in json_schema again, which would cost another batch's round trip.
    site.options["language"] = "en"
    site.write_config()
    again = run(site.root, "prefetch", "--batch", "--poll", "0")

    assert again.returncode == 0, again.stderr
    assert "refused" not in again.stderr
    *_, third = (llm_api.batch_input(batch_id) for batch_id in llm_api.batches)
    assert len(llm_api.batches) == 3 and {request_format(line["body"]) for line in third} == {"json_object+schema"}


def test_an_engine_refusing_json_schema_is_reported_by_ingest(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    batch_site(site, arxiv_api)
    run(site.root, "batch", "export", "requests.jsonl")
    llm_api.kind = "llama-cpp-python"
    output, errors = llm_api.batch_results((site.root / "requests.jsonl").read_text(encoding="utf-8"))
    assert not output
    (site.root / "errors.jsonl").write_text(errors, encoding="utf-8")

    ingested = run(site.root, "batch", "ingest", "errors.jsonl")

    assert ingested.returncode == 1 and "3 failed" in ingested.stdout
    assert "the server refused the request's response format json_schema or token limit max_tokens" in ingested.stderr
    assert "'loc': ('body', 'response_format', 'type')" in ingested.stderr  # what the engine said
    assert "it takes json_object+schema and max_tokens, in which `batch export` now writes them" in ingested.stderr

    run(site.root, "batch", "export", "again.jsonl")
    output, errors = llm_api.batch_results((site.root / "again.jsonl").read_text(encoding="utf-8"))
    (site.root / "results.jsonl").write_text(output, encoding="utf-8")
    completed = run(site.root, "batch", "ingest", "results.jsonl")

    assert not errors and completed.returncode == 0, completed.stderr
    assert "3 accepted" in completed.stdout


def test_export_then_results_then_ingest_completes_the_page(site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> None:
    batch_site(site, arxiv_api)

    exported = run(site.root, "batch", "export", "requests.jsonl")

    assert exported.returncode == 0, exported.stderr
    assert "Wrote 3 requests to requests.jsonl" in exported.stdout
    output, errors = llm_api.batch_results((site.root / "requests.jsonl").read_text(encoding="utf-8"))
    assert not errors
    (site.root / "results.jsonl").write_text(output, encoding="utf-8")
    ingested = run(site.root, "batch", "ingest", "results.jsonl")
    assert ingested.returncode == 0, ingested.stderr
    assert "3 accepted" in ingested.stdout
    assert chat_requests(llm_api) == 0 and not llm_api.batches

    build = site.build("--strict")

    assert build.returncode == 0, build.log
    assert chat_requests(llm_api) == 0
    assert all(row.summary.startswith("本文研究了") for row in build.digest().rows)


def test_swapped_custom_ids_publish_nothing_under_the_wrong_paper(
    site: Site, arxiv_api: FakeArxiv, llm_api: FakeLLM
) -> None:
    batch_site(site, arxiv_api)
    run(site.root, "batch", "export", "requests.jsonl")
    output, _errors = llm_api.batch_results((site.root / "requests.jsonl").read_text(encoding="utf-8"))
    lines = [json.loads(line) for line in output.splitlines()]
    lines[0]["custom_id"], lines[1]["custom_id"] = lines[1]["custom_id"], lines[0]["custom_id"]
    lines[2]["custom_id"] = "0" * 64  # no request of the site
    (site.root / "results.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")

    ingested = run(site.root, "batch", "ingest", "results.jsonl")

    assert ingested.returncode == 1
    assert "0 accepted, 2 rejected" in ingested.stdout and "1 lines refused" in ingested.stdout
    assert "matches no request of the site" in ingested.stderr
    site.options["offline"] = True
    build = site.build()
    assert not any(row.summary.startswith("本文研究了") for row in build.digest().rows)
    for title, _abstract in PAPERS.values():
        assert build.html().count(title) <= 2  # its row and footnote only: in no other paper's text


def test_requests_are_split_at_the_limits(tmp_path: Path) -> None:
    papers = [Paper(f"2401.{n:05d}", 1, f"Title number {n}", "An abstract.") for n in range(5)]
    pending = [
        Pending(f"key{n}", [DigestRequest(paper.id, "en", "m")], make_prompt(paper, "en", "m"))
        for n, paper in enumerate(papers)
    ]
    shape = ("json_schema", "max_tokens")

    by_count = write_parts(pending, export_paths(tmp_path / "a.jsonl"), shape, max_requests=2)
    line = len(pending[0].prompt.body(shape).__repr__())  # a line is about this long
    by_size = write_parts(pending, export_paths(tmp_path / "b.jsonl"), shape, max_bytes=int(line * 1.9))

    assert [part.keys for part in by_count] == [["key0", "key1"], ["key2", "key3"], ["key4"]]
    assert [part.path.name for part in by_count] == ["a.jsonl", "a-2.jsonl", "a-3.jsonl"]
    assert all(len(part.keys) == 1 for part in by_size) and len(by_size) == 5
    assert all(part.path.stat().st_size <= int(line * 1.9) for part in by_size)
    [first] = [json.loads(text) for text in (tmp_path / "a.jsonl").read_text().splitlines()[:1]]
    assert first["body"] == pending[0].prompt.body(shape)


def _ingested(directory: Path, results: Path, *, pool_from: int) -> Tally:
    """What reading ``results`` into a fresh cache of ``PAPERS`` comes to, checked in processes from ``pool_from`` bytes."""
    cache = Cache(directory / "cache")
    for arxiv_id, (title, abstract) in PAPERS.items():
        cache.put_paper(parse_id(arxiv_id), Paper(arxiv_id, 1, title, abstract))
    cache.close()
    options = {"cache_dir": str(directory / "cache"), "language": "zh", "model": MODEL, "offline": False}
    settings = settings_from_options(options, base_dir=directory, default_language="zh")
    requests = [DigestRequest(parse_id(arxiv_id), "zh", MODEL) for arxiv_id in PAPERS]
    with Pipeline(settings) as pipeline:
        pending, settled = pending_digests(pipeline.resolver, pipeline.build, requests)
        read = Results(pipeline.resolver, pipeline.build, pending, settled)
        with results.open("rb") as stream:
            read.read(stream, pool_from=pool_from)
        assert len(pipeline.resolver.digests) == read.tally.accepted  # cached as read
        return read.tally


def test_replies_checked_in_a_process_per_core_get_the_same_verdicts(tmp_path: Path, llm_api: FakeLLM) -> None:
    if batch_workers.usable_cores() < 2:
        pytest.skip("one usable core: replies are checked in the reading process, never in others")
    lines = []
    for arxiv_id, (title, abstract) in PAPERS.items():
        paper = Paper(arxiv_id, 1, title, abstract)
        pending = Pending(digest_key(paper, "zh", MODEL), [], make_prompt(paper, "zh", MODEL))
        lines.append(json.loads(request_line(pending, ("json_schema", "max_tokens"))))
    # The second paper's reply is the first's (swapped ids: rejected), the third has no message (failed).
    lines[1]["body"]["messages"] = lines[0]["body"]["messages"]
    llm_api.batch_script = [None, None, "no-message"]
    output, _errors = llm_api.batch_results("".join(json.dumps(line) + "\n" for line in lines))
    results = tmp_path / "results.jsonl"
    results.write_text(output, encoding="utf-8")

    here = _ingested(tmp_path / "here", results, pool_from=10**12)
    in_processes = _ingested(tmp_path / "processes", results, pool_from=0)

    assert (here.accepted, len(here.rejected), len(here.failed)) == (1, 1, 1)
    assert in_processes == here
