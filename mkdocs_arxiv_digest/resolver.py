"""Resolution: snapshot → cache → network, for paper metadata and then for digests.

Metadata comes from arXiv in batches; each paper's digest is asked for as soon as its
batch is in, `concurrency` requests at a time. Workers return what they made — a
`Digest` (already cached, so a build killed half-way keeps it) or a `Failure` — and the
resolver alone records it. Only complete, validated results are cached; failures are
remembered for this build only and retried on the next.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING

from mkdocs_arxiv_digest.cache import Cache
from mkdocs_arxiv_digest.config import Settings
from mkdocs_arxiv_digest.errors import DigestError, MissingApiKeyError, log
from mkdocs_arxiv_digest.ids import ArxivId
from mkdocs_arxiv_digest.models import Digest, DigestRequest, Failure, Paper, Row
from mkdocs_arxiv_digest.snapshot import Snapshot

if TYPE_CHECKING:
    from mkdocs_arxiv_digest.arxiv_source import ArxivSource
    from mkdocs_arxiv_digest.llm import Summarizer, Usage

PROGRESS_SECONDS = 5.0
PROGRESS_PAPERS = 50
"""A long build logs progress every this many seconds or summaries, whichever comes first."""
OFFLINE = "not in the snapshot or the cache, and `offline` is on"

Progress = Callable[[int, int], None]


class Resolver:
    """Papers and digests for `DigestRequest`s, from wherever they are."""

    def __init__(
        self,
        settings: Settings,
        cache: Cache,
        snapshot: Snapshot,
        *,
        source: ArxivSource | None = None,
        summarizer_factory: Callable[[Settings], Summarizer] | None = None,
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.snapshot = snapshot
        self._source = source
        self._summarizer_factory = summarizer_factory or _default_summarizer
        self._summarizer: Summarizer | None = None
        self.papers: dict[ArxivId, Paper] = {}
        self.digests: dict[str, Digest] = {}
        """By digest key."""
        self.paper_failures: dict[ArxivId, Failure] = {}
        self.digest_failures: dict[DigestRequest, Failure] = {}
        self.generated: set[DigestRequest] = set()
        self.arxiv_requests = 0
        self._keys: dict[DigestRequest, str] = {}
        self._fetched: dict[ArxivId, float] = {}
        """When metadata of an unversioned ID was fetched (snapshot entries never expire)."""
        self._stale: set[ArxivId] = set()
        """IDs served from stale metadata this build, because arXiv could not be asked."""
        self._usage_at_start: tuple[int, int, int] = (0, 0, 0)

    def begin_build(self, snapshot: Snapshot | None = None) -> None:
        """Forget this build's failures and counts; with a new ``snapshot``, what came from the old one."""
        if snapshot is not None:
            self.snapshot = snapshot
            self.papers.clear()
            self.digests.clear()
            self._keys.clear()
        self.paper_failures.clear()
        self.digest_failures.clear()
        self.generated.clear()
        self._stale.clear()
        self.arxiv_requests = 0
        self._usage_at_start = self._usage_now()

    # -- what is known ------------------------------------------------------------

    def row(self, request: DigestRequest) -> Row:
        """What is known of a paper now: metadata and digest, or less."""
        paper = self.papers.get(request.id)
        digest = self.digests.get(self.digest_key(request)) if paper else None
        return Row(request.id, paper, digest)

    def failure(self, request: DigestRequest) -> Failure:
        """Why the paper is incomplete (call only when it is)."""
        if request.id not in self.papers:
            return self.paper_failures.get(request.id, Failure("no metadata"))
        return self.digest_failures.get(request, Failure("no summary"))

    def is_fresh(self, arxiv_id: ArxivId) -> bool:
        """Whether the paper's metadata is not a stale copy served because arXiv was down."""
        return arxiv_id not in self._stale

    def fetched_at(self, arxiv_id: ArxivId) -> float | None:
        """When an unversioned ID's metadata was fetched; None when it never expires."""
        return self._fetched.get(arxiv_id)

    def digest_key(self, request: DigestRequest) -> str:
        """The cache key of a digest; the paper's metadata must be known (and is then fixed)."""
        key = self._keys.get(request)
        if key is None:
            from mkdocs_arxiv_digest.llm import digest_key

            key = self._keys[request] = digest_key(self.papers[request.id], request.language, request.model)
        return key

    def usage(self) -> Usage | None:
        """Model requests and tokens of this build, if a model was asked."""
        if self._summarizer is None:
            return None
        from mkdocs_arxiv_digest.llm import Usage

        now, start = self._usage_now(), self._usage_at_start
        return Usage(*(a - b for a, b in zip(now, start, strict=True)))

    # -- resolving ----------------------------------------------------------------

    def resolve(self, requests: Iterable[DigestRequest], *, progress: Progress | None = None) -> None:
        """Make metadata and digests of ``requests`` available; ``progress(done, total)`` per digest made."""
        pending: dict[ArxivId, list[DigestRequest]] = {}
        for request in requests:
            if self.row(request).digest is None and request not in self.digest_failures:
                pending.setdefault(request.id, []).append(request)
        if not pending:
            return  # the common case when pages render after the site-wide prefetch
        to_fetch, stale = self._papers_at_hand([i for i in pending if i not in self.papers])
        with _Workers(self, progress) as workers:
            workers.submit([r for arxiv_id in pending if arxiv_id in self.papers for r in pending[arxiv_id]])
            for arxiv_id in self._fetch_papers(to_fetch, stale):
                workers.submit(pending[arxiv_id])

    def _papers_at_hand(self, ids: list[ArxivId]) -> tuple[list[ArxivId], dict[ArxivId, Paper]]:
        """Take metadata from the snapshot or the cache; return what must be fetched, and stale copies."""
        ids = [i for i in ids if i not in self.paper_failures]
        pinned = {i: paper for i in ids if (paper := self.snapshot.paper(i)) is not None}
        cached = self.cache.get_papers(i for i in ids if i not in pinned)
        now, to_fetch, stale = time.time(), [], {}
        for arxiv_id in ids:
            paper = pinned.get(arxiv_id)
            if paper is None and arxiv_id in cached:
                paper, age = cached[arxiv_id]
                if arxiv_id.version is None:
                    self._fetched[arxiv_id] = now - age
                    if age > self.settings.refresh_days * 86400:
                        stale[arxiv_id], paper = paper, None
            if paper is None:
                to_fetch.append(arxiv_id)
            else:
                self.papers[arxiv_id] = paper
        return to_fetch, stale

    def _fetch_papers(self, ids: list[ArxivId], stale: dict[ArxivId, Paper]) -> Iterator[ArxivId]:
        """Fetch metadata; yield each ID as soon as it is known (fetched, or a stale copy)."""
        if not ids:
            return
        if self.settings.offline:
            for arxiv_id in ids:
                yield from self._fall_back(arxiv_id, stale, OFFLINE)
            return
        source = self._arxiv()
        before = source.requests
        for batch in source.fetch_batches(ids):
            for arxiv_id, paper in batch.papers.items():
                self.cache.put_paper(arxiv_id, paper)
                self.papers[arxiv_id] = paper
                if arxiv_id.version is None:
                    self._fetched[arxiv_id] = time.time()
                yield arxiv_id
            for arxiv_id in batch.missing:
                self.paper_failures[arxiv_id] = Failure(f"arXiv has no paper {arxiv_id} (check the identifier)")
            if batch.error is not None:
                for arxiv_id in batch.ids:
                    yield from self._fall_back(arxiv_id, stale, str(batch.error))
        self.arxiv_requests += source.requests - before

    def _fall_back(self, arxiv_id: ArxivId, stale: dict[ArxivId, Paper], reason: str) -> Iterator[ArxivId]:
        if arxiv_id in stale:
            log.info(f"{arxiv_id}: {reason}; using cached metadata")
            self.papers[arxiv_id] = stale[arxiv_id]
            self._stale.add(arxiv_id)
            yield arxiv_id
        else:
            self.paper_failures[arxiv_id] = Failure(reason)

    def load_digests(self, requests: list[DigestRequest]) -> None:
        """Digests of ``requests`` (whose papers are known) from the snapshot or the cache — never the network."""
        missing: list[str] = []
        for request in requests:
            key = self.digest_key(request)
            if key not in self.digests:
                pinned = self.snapshot.digest(self.papers[request.id], request.language)
                if pinned is not None:
                    self.digests[key] = pinned
                else:
                    missing.append(key)
        self.digests.update(self.cache.get_digests(missing))

    # -- collaborators, made on first need ----------------------------------------

    def _arxiv(self) -> ArxivSource:
        if self._source is None:
            from mkdocs_arxiv_digest import arxiv_source

            settings = self.settings
            client = arxiv_source.make_client(
                settings.arxiv_api_url, timeout=settings.timeout, delay=settings.arxiv_delay
            )
            self._source = arxiv_source.ArxivSource(client, retries=settings.retries)
        return self._source

    def summarizer(self) -> Summarizer | Failure:
        """The build's summarizer, or why there is none (said once for the whole build)."""
        if self.settings.offline:
            log.warning(
                "Some summaries are in neither the snapshot nor the cache and `offline` is on: "
                "those papers are shown without generated text",
                once=True,
            )
            return Failure(OFFLINE, reported=True)
        if self._summarizer is None:
            try:
                self._summarizer = self._summarizer_factory(self.settings)
            except MissingApiKeyError as error:
                log.warning(str(error), once=True)
                return Failure(str(error), reported=True)
        return self._summarizer

    def _usage_now(self) -> tuple[int, int, int]:
        usage = self._summarizer.usage if self._summarizer is not None else None
        return (usage.requests, usage.prompt_tokens, usage.completion_tokens) if usage else (0, 0, 0)


class _Workers:
    """Digests for papers whose metadata is known, `concurrency` requests at a time."""

    def __init__(self, resolver: Resolver, progress: Progress | None) -> None:
        self.resolver = resolver
        self.progress = progress
        self.executor: ThreadPoolExecutor | None = None
        self.submitted: dict[Future[Digest | Failure], DigestRequest] = {}
        self.requested: set[DigestRequest] = set()

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.executor is None:
            return
        total, last = len(self.submitted), time.monotonic()
        try:
            for done, future in enumerate(as_completed(self.submitted), start=1):
                self._record(self.submitted[future], future)
                if self.progress is not None:
                    self.progress(done, total)
                elif done % PROGRESS_PAPERS == 0 or time.monotonic() - last > PROGRESS_SECONDS:
                    last = time.monotonic()
                    log.info(f"Summarized {done}/{total} papers")
        finally:
            self.executor.shutdown(cancel_futures=True)

    def submit(self, requests: list[DigestRequest]) -> None:
        resolver = self.resolver
        resolver.load_digests(requests)
        for request in requests:
            if request in self.requested or request in resolver.digest_failures:
                continue
            if resolver.digest_key(request) in resolver.digests:
                continue
            summarizer = resolver.summarizer()
            if isinstance(summarizer, Failure):
                resolver.digest_failures[request] = summarizer
                continue
            if self.executor is None:
                self.executor = ThreadPoolExecutor(resolver.settings.concurrency, thread_name_prefix="arxiv-digest")
            paper, key = resolver.papers[request.id], resolver.digest_key(request)
            self.submitted[self.executor.submit(_generate, summarizer, resolver.cache, request, paper, key)] = request
            self.requested.add(request)

    def _record(self, request: DigestRequest, future: Future[Digest | Failure]) -> None:
        """Keep what a worker returned; an unexpected error becomes this paper's failure, not silence."""
        resolver = self.resolver
        error = future.exception()
        if error is not None:
            log.debug(f"{request.id}: the summary worker failed", exc_info=error)  # the traceback, with -v
            result: Digest | Failure = Failure(f"no summary: unexpected {type(error).__name__}: {error}")
        else:
            result = future.result()
        if isinstance(result, Failure):
            resolver.digest_failures[request] = result
        else:
            resolver.digests[resolver.digest_key(request)] = result
            resolver.generated.add(request)


def _generate(summarizer: Summarizer, cache: Cache, request: DigestRequest, paper: Paper, key: str) -> Digest | Failure:
    """A worker: one paper's digest, cached the moment it is valid, or why there is none."""
    try:
        digest = summarizer.summarize(paper, request.language)
    except DigestError as error:
        return Failure(f"no summary: {error}")
    cache.put_digest(key, digest)
    return digest


def _default_summarizer(settings: Settings) -> Summarizer:
    from mkdocs_arxiv_digest import llm

    client = llm.make_client(base_url=settings.base_url, timeout=settings.timeout, retries=settings.retries)
    return llm.Summarizer(client, model=settings.model, retries=settings.retries)
