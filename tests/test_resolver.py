"""The resolver in-process: real `arxiv` and `openai` clients against the fakes, injected at its seams.

Each seam (`source=`, `summarizer_factory=`, the cache's `clock=`, the arXiv source's
`sleep=`) is used here the way a test or another front end would use it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from mkdocs_arxiv_digest import arxiv_source, llm
from mkdocs_arxiv_digest.build import Build
from mkdocs_arxiv_digest.cache import Cache
from mkdocs_arxiv_digest.config import Settings, validated_options
from mkdocs_arxiv_digest.ids import parse_id
from mkdocs_arxiv_digest.models import Digest, DigestRequest, Failure, Paper
from mkdocs_arxiv_digest.resolver import Resolver
from mkdocs_arxiv_digest.snapshot import Snapshot
from tests.fakes import FakeArxiv, FakeLLM
from tests.helpers import API_KEY, clean_env, environment

DAY = 86400.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def settings(tmp_path: Path, arxiv_api: FakeArxiv, llm_api: FakeLLM) -> Settings:
    options = {
        "language": "zh", "arxiv_api_url": arxiv_api.url + "/api/query", "arxiv_delay": 0,
        "base_url": llm_api.base_url, "timeout": 5, "retries": 1, "concurrency": 4,
    }  # fmt: skip
    return Settings.from_config(validated_options(options), base_dir=tmp_path, default_language=None)


@pytest.fixture
def keyed() -> Iterator[None]:
    with environment(clean_env(OPENAI_API_KEY=API_KEY)):
        yield


def arxiv(settings: Settings, waits: list[float] | None = None) -> arxiv_source.ArxivSource:
    client = arxiv_source.make_client(settings.arxiv_api_url, timeout=settings.timeout, delay=0)
    return arxiv_source.ArxivSource(client, retries=settings.retries, sleep=(waits if waits is not None else []).append)


def requests(*ids: str, language: str = "zh") -> list[DigestRequest]:
    return [DigestRequest(parse_id(i), language, "gpt-4.1-mini") for i in ids]


def test_resolve_fetches_one_batch_and_returns_digests_and_failure_records(
    settings: Settings, arxiv_api: FakeArxiv, llm_api: FakeLLM, keyed: None
) -> None:
    for n in range(6):
        arxiv_api.add(f"2403.1658{n}", f"Paper {n}", f"Abstract {n}.")
    llm_api.script = [500, 500]  # the first paper asked for fails twice (retries: 1), then gives up
    wanted = requests(*[f"2403.1658{n}" for n in range(6)], "2403.99999")
    settings = settings._replace(concurrency=1)
    with closing(Cache(settings.cache_dir)) as cache:
        resolver = Resolver(settings, cache, Snapshot(), source=arxiv(settings))

        build = Build()
        resolver.resolve(build, wanted)

        assert arxiv_api.queries == [[str(r.id) for r in wanted]]
        assert build.arxiv_requests == 1
        rows = [resolver.row(r) for r in wanted]
        assert sum(row.digest is not None for row in rows) == 5
        failed = [r for r, row in zip(wanted, rows, strict=True) if row.paper and not row.digest]
        assert len(failed) == 1
        assert resolver.failure(build, failed[0]).reason.startswith("no summary: InternalServerError")
        unknown = resolver.failure(build, wanted[-1])
        assert unknown.not_on_arxiv and unknown.kind == "unknown-id"
        assert build.generated == set(wanted[:6]) - set(failed)
        usage = resolver.usage(build)
        assert usage is not None and usage.requests == 5  # the SDK's retried 500s count as one failed request


def test_an_unexpected_error_in_a_worker_becomes_that_papers_failure(
    settings: Settings, arxiv_api: FakeArxiv, keyed: None
) -> None:
    arxiv_api.add("2403.16584", "Fine", "We are fine.")
    arxiv_api.add("2403.11894", "Breaks", "We break the summarizer.")

    class Flaky(llm.Summarizer):
        def summarize(self, paper: Paper, language: str) -> Digest:
            if paper.title == "Breaks":
                raise RuntimeError("a bug, not a model failure")
            return super().summarize(paper, language)

    def factory(settings: Settings) -> llm.Summarizer:
        client = llm.make_client(base_url=settings.base_url, timeout=5, retries=0)
        return Flaky(client, model=settings.model)

    with closing(Cache(settings.cache_dir)) as cache:
        resolver = Resolver(settings, cache, Snapshot(), source=arxiv(settings), summarizer_factory=factory)
        fine, breaks = requests("2403.16584", "2403.11894")

        build = Build()
        resolver.resolve(build, [fine, breaks])

        assert resolver.row(fine).digest is not None
        assert resolver.row(breaks).digest is None
        failure = resolver.failure(build, breaks)
        assert failure == Failure("no summary: unexpected RuntimeError: a bug, not a model failure", kind="no-summary")
        assert not failure.reported  # so the page warns with its page and line


def test_without_a_key_every_paper_fails_with_one_reported_warning(
    settings: Settings, arxiv_api: FakeArxiv, llm_api: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    arxiv_api.add("2403.16584", "One")
    arxiv_api.add("2403.11894", "Two")
    with environment(clean_env()), closing(Cache(settings.cache_dir)) as cache, caplog.at_level(logging.WARNING):
        resolver = Resolver(settings, cache, Snapshot(), source=arxiv(settings))
        wanted = requests("2403.16584", "2403.11894")

        build = Build()
        resolver.resolve(build, wanted)

        assert [resolver.failure(build, r).reported for r in wanted] == [True, True]
        assert [r.getMessage() for r in caplog.records].count(
            "arxiv-digest: OPENAI_API_KEY is not set, so no summaries or translations were generated; "
            "set OPENAI_API_KEY (any value for a local server that needs none, such as Ollama)"
        ) == 1
        assert llm_api.history == []


def test_throttled_arxiv_is_retried_with_growing_waits(settings: Settings, arxiv_api: FakeArxiv, keyed: None) -> None:
    arxiv_api.add("2403.16584", "Distilling text")
    arxiv_api.script = [429]
    waits: list[float] = []
    with closing(Cache(settings.cache_dir)) as cache:
        resolver = Resolver(settings, cache, Snapshot(), source=arxiv(settings, waits))

        resolver.resolve(Build(), requests("2403.16584"))

        assert len(arxiv_api.history) == 2 and waits == [1.0]
        assert resolver.row(requests("2403.16584")[0]).digest is not None


@pytest.mark.parametrize("arxiv_up", [True, False])
def test_metadata_due_a_refresh_is_fetched_again_or_served_stale(
    settings: Settings, arxiv_api: FakeArxiv, keyed: None, arxiv_up: bool
) -> None:
    arxiv_api.add("2403.16584", "Old title")
    clock = Clock()
    wanted = requests("2403.16584")
    with closing(Cache(settings.cache_dir, clock=clock)) as cache:
        Resolver(settings, cache, Snapshot(), source=arxiv(settings)).resolve(Build(), wanted)
        arxiv_api.add("2403.16584", "New title", version=2)
        if not arxiv_up:
            arxiv_api.script = [503, 503]
        clock.now += settings.refresh_days * DAY + 1

        resolver = Resolver(settings, cache, Snapshot(), source=arxiv(settings))
        build = Build()
        resolver.resolve(build, wanted)

        paper = resolver.row(wanted[0]).paper
        assert paper is not None
        assert paper.title == ("New title" if arxiv_up else "Old title")
        assert resolver.metadata.is_fresh(build, wanted[0].id) is arxiv_up
        assert len(arxiv_api.history) == (2 if arxiv_up else 3)


def test_the_snapshot_wins_and_is_never_sent_to_the_network(
    settings: Settings, arxiv_api: FakeArxiv, llm_api: FakeLLM, keyed: None
) -> None:
    pinned = Paper("2403.16584", 1, "Pinned", "A pinned abstract.")
    snapshot = Snapshot()
    snapshot.add(pinned, Digest("zh", "written-by-hand", "手写的总结。", "标题", "摘要。"))
    with closing(Cache(settings.cache_dir)) as cache:
        resolver = Resolver(settings, cache, snapshot, source=arxiv(settings))

        resolver.resolve(Build(), requests("2403.16584"))

        row = resolver.row(requests("2403.16584")[0])
        assert row.paper == pinned and row.digest is not None and row.digest.summary == "手写的总结。"
        assert arxiv_api.history == [] and llm_api.history == []


def test_progress_is_reported_per_digest(settings: Settings, arxiv_api: FakeArxiv, keyed: None) -> None:
    ids = [f"2403.1658{n}" for n in range(5)]
    for paper_id in ids:
        arxiv_api.add(paper_id, f"Paper {paper_id}")
    seen: list[tuple[int, int]] = []
    progress: Callable[[int, int], None] = lambda done, total: seen.append((done, total))  # noqa: E731
    with closing(Cache(settings.cache_dir)) as cache:
        Resolver(settings, cache, Snapshot(), source=arxiv(settings)).resolve(
            Build(), requests(*ids), progress=progress
        )

    assert seen == [(n, 5) for n in range(1, 6)]
