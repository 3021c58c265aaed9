"""Resolution: snapshot → cache → network, for paper metadata (`Metadata`) and then for digests.

Metadata comes from arXiv in batches; each paper's digest is asked for as soon as its
batch is in, `concurrency` requests at a time. Workers return what they made — a
`Digest` (already cached, so a build killed half-way keeps it) or a `Failure` — and the
resolver alone records it. Only complete, validated results are cached; failures are
remembered for this build only and retried on the next — except a paper whose replies
the checks rejected (`RejectedReplyError`): asking the same model with the same prompt
and checks again at once would likely pay for another rejection, so the rejection is
kept as a row of the cache and the paper is held back, with a warning at every build,
until a wait that doubles with each rejection (`retry_at`). Errors of the network or the
server, a missing key and `offline` are not held back.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from mkdocs_arxiv_digest.build import Build
from mkdocs_arxiv_digest.cache import Cache
from mkdocs_arxiv_digest.config import RETRY_REJECTED_VARIABLE, Settings
from mkdocs_arxiv_digest.errors import DigestError, MissingApiKeyError, RejectedReplyError, log
from mkdocs_arxiv_digest.ids import ArxivId
from mkdocs_arxiv_digest.keys import CHECKS_VERSION, digest_key
from mkdocs_arxiv_digest.languages import check_code
from mkdocs_arxiv_digest.metadata import Metadata
from mkdocs_arxiv_digest.models import Digest, DigestRequest, Failure, Paper, Rejection, Row, Usage

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

    from mkdocs_arxiv_digest.arxiv_source import ArxivSource
    from mkdocs_arxiv_digest.llm import Summarizer
    from mkdocs_arxiv_digest.snapshot import Snapshot

PROGRESS_SECONDS = 5.0
PROGRESS_PAPERS = 50
"""A long build logs progress every this many seconds or summaries, whichever comes first."""

FIRST_WAIT = 3600.0
MAX_WAIT = 86400.0
"""Seconds a paper is held back after its first rejection, doubling with each one in a row up
to `MAX_WAIT`: the issue's figures (an hour, doubling to a day). In the trial behind it
(issue 18: SmolLM2-135M, 8 papers) each rebuild paid 8 requests and ~4,500 tokens for
rejections that the same model repeated; an hour covers a `mkdocs serve` session of
edits, and a day still retries once a day a paper that a model never gets right."""

Progress = Callable[[int, int], None]

_language_problem = functools.lru_cache(maxsize=64)(check_code)
"""`check_code`, asked once per paper: an unknown code's suggestion is looked up once."""


def retry_at(rejection: Rejection) -> float:
    """When a paper held back after ``rejection`` is asked for again (epoch seconds)."""
    return rejection.at + min(FIRST_WAIT * 2.0 ** min(rejection.in_a_row - 1, 32), MAX_WAIT)


def held_back_reason(rejection: Rejection) -> str:
    """The warning of a paper held back: why, until when, and how to ask now."""
    until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(retry_at(rejection)))
    times = "once" if rejection.in_a_row == 1 else f"{rejection.in_a_row} times in a row"
    return (
        f"{rejection.reason} — rejected {times}, not asked again before {until} (to ask now: "
        f"`arxiv-digest prefetch --retry-rejected`, or build with {RETRY_REJECTED_VARIABLE}=1)"
    )


class Resolver:
    """Papers and digests for `DigestRequest`s, from wherever they are."""

    def __init__(
        self,
        settings: Settings,
        cache: Cache,
        snapshot: Snapshot | Callable[[], Snapshot],
        *,
        source: ArxivSource | None = None,
        summarizer_factory: Callable[[Settings], Summarizer] | None = None,
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.metadata = Metadata(settings, cache, snapshot, source=source)
        self._summarizer_factory = summarizer_factory or _default_summarizer
        self._summarizer: Summarizer | None = None
        self._making: Future[Summarizer] | None = None
        """The summarizer being made in the background, while arXiv answers."""
        self.digests: dict[str, Digest] = {}
        """By digest key, whichever build resolved them (per-build state is in `Build`)."""
        self._keys: dict[DigestRequest, str] = {}
        self._started = cache.now()
        """When this resolver was made: `retry_rejected` asks again for papers rejected before, once."""
        self.rejections: dict[str, Rejection] = {}
        """Rejections read or made, by digest key: the next one doubles the wait, a success forgets it."""

    def use_snapshot(self, snapshot: Snapshot | Callable[[], Snapshot]) -> None:
        """Serve from a new (edited) snapshot: forget what came from the old one."""
        self.metadata.use_snapshot(snapshot)
        self.digests.clear()
        self._keys.clear()

    def row(self, request: DigestRequest, build: Build | None = None) -> Row:
        """What is known of a paper now: metadata and digest, or less (and, with ``build``,
        whether arXiv said this build that it has no such paper)."""
        paper = self.metadata.papers.get(request.id)
        if paper is None:
            failure = self.metadata.failure(build, request.id) if build is not None else None
            return Row(request.id, not_on_arxiv=failure is not None and failure.not_on_arxiv)
        return Row(request.id, paper, self.digests.get(self.digest_key(request)))

    def failure(self, build: Build, request: DigestRequest) -> Failure:
        """Why the paper is incomplete (ask only when it is)."""
        if request.id not in self.metadata.papers:
            return self.metadata.failure(build, request.id)
        return build.failures.get(request, Failure("no summary"))

    def digest_key(self, request: DigestRequest) -> str:
        """The cache key of a digest; the paper's metadata must be known (and is then fixed)."""
        key = self._keys.get(request)
        if key is None:
            paper = self.metadata.papers[request.id]
            key = self._keys[request] = digest_key(paper, request.language, request.model)
        return key

    def usage(self, build: Build) -> Usage | None:
        """Model requests and tokens of ``build``, if a model was asked."""
        if self._summarizer is None:
            return None
        now, start = self.usage_counts(), build.usage_at_start
        return Usage(*(a - b for a, b in zip(now, start, strict=True)))

    def resolve(self, build: Build, requests: Iterable[DigestRequest], *, progress: Progress | None = None) -> None:
        """Make metadata and digests of ``requests`` available; ``progress(done, total)`` per digest made."""
        pending: dict[ArxivId, list[DigestRequest]] = {}
        for request in requests:
            if self.row(request).digest is None and request not in build.failures:
                pending.setdefault(request.id, []).append(request)
        if not pending:
            return  # the common case when pages render after the site-wide prefetch
        papers = self.metadata.papers
        to_fetch, stale = self.metadata.load_local(build, list(pending))
        if to_fetch and self._summarizer is None and self._making is None and not self.settings.offline:
            # Making the model client takes the better part of a second (importing the SDK is
            # most of it): let that happen while arXiv answers, before the first paper needs it.
            # The arXiv client first: made alongside (imports hold the GIL), it would ask later.
            self.metadata.source()
            self._making = _in_background(self._summarizer_factory, self.settings)
        with _Workers(self, build, progress) as workers:
            workers.submit([request for arxiv_id in pending if arxiv_id in papers for request in pending[arxiv_id]])
            for arxiv_id in self.metadata.fetch(build, to_fetch, stale):
                workers.submit(pending[arxiv_id])

    def load_digests(self, requests: list[DigestRequest]) -> None:
        """Digests of ``requests`` (whose papers are known) from the snapshot or the cache — never the network."""
        missing: dict[str, DigestRequest] = {}
        for request in requests:
            key = self.digest_key(request)
            if key not in self.digests:
                pinned = self.metadata.snapshot.digest(self.metadata.papers[request.id], request.language)
                if pinned is not None:
                    self.digests[key] = pinned  # a person's text: not second-guessed
                else:
                    missing[key] = request
        for key, digest in self.cache.get_digests(missing).items():
            checked = self._checked(digest, self.metadata.papers[missing[key].id])
            if checked is not None:
                if checked is not digest:
                    self.cache.put_digest(key, checked)  # checked once, then trusted
                self.digests[key] = checked

    def _checked(self, digest: Digest, paper: Paper) -> Digest | None:
        """A cached digest the current checks accept (stored before them: checked now), else None."""
        if digest.checked >= CHECKS_VERSION:
            return digest
        from mkdocs_arxiv_digest.checks import check_digest  # only for rows older than the checks

        reply = {"title": digest.title, "summary": digest.summary, "abstract": digest.abstract}
        problems = check_digest(paper.title, paper.abstract, {k: v for k, v in reply.items() if v}, digest.language)
        if problems:
            log.info(f"{paper.id}: the cached {digest.language} digest fails the checks ({problems[0]}); asking again")
            return None
        return digest._replace(checked=CHECKS_VERSION)

    def hold_back(self, build: Build, requests: list[DigestRequest]) -> None:
        """Record as failures the ``requests`` whose replies were rejected a short while ago.

        Their rows are read in one go. A row is not obeyed once its wait is over, when it
        comes from other checks, when it is dated in the future (a clock set back, an
        edited row: it would hold the paper forever), or — with `retry_rejected` — when it
        predates this resolver, so that a forced retry asks once, not at every rebuild of
        `mkdocs serve`. A change of model or prompt has another digest key, and so no row.
        """
        if self.settings.offline or not requests:
            return  # offline nothing is asked anyway, and its warning says why
        by_key: dict[str, list[DigestRequest]] = {}
        for request in requests:
            by_key.setdefault(self.digest_key(request), []).append(request)
        now = self.cache.now()
        for key, rejection in self.cache.get_rejections(by_key).items():
            self.rejections[key] = rejection
            if rejection.checks != CHECKS_VERSION or not rejection.at <= now < retry_at(rejection):
                continue
            if self.settings.retry_rejected and rejection.at < self._started:
                continue
            for request in by_key[key]:
                build.failures[request] = Failure(held_back_reason(rejection), kind="rejected")
                build.held_back.add(request)

    def remember_rejection(self, request: DigestRequest, failure: Failure) -> Failure:
        """Keep a fresh rejection in the cache, to hold the paper back; its warning, saying until when."""
        key = self.digest_key(request)
        last = self.rejections.get(key)
        count = last.in_a_row + 1 if last is not None and last.checks == CHECKS_VERSION else 1
        rejection = self.rejections[key] = Rejection(self.cache.now(), count, failure.reason, CHECKS_VERSION)
        self.cache.put_rejection(key, rejection)
        return failure._replace(reason=held_back_reason(rejection))

    def summarizer(self, build: Build, request: DigestRequest) -> Summarizer | Failure:
        """The build's summarizer, made on first need, or why ``request`` cannot have one."""
        if self.settings.offline:
            return self._offline(build, request.language)
        if (problem := _language_problem(request.language)) is not None:
            # Said where the code is set (the block's line, the option); a model asked for
            # "the language with code 'jp'" spends tokens on text the checks then reject.
            return Failure(f"no summary: {problem}", kind="no-summary")
        if self._summarizer is None:
            making, self._making = self._making, None
            try:
                self._summarizer = making.result() if making is not None else self._summarizer_factory(self.settings)
            except MissingApiKeyError as error:
                log.warning(str(error), once=True)
                return Failure(str(error), reported=True, kind="api-key")
        return self._summarizer

    def _offline(self, build: Build, language: str) -> Failure:
        """Why a digest is missing offline, with the languages the snapshot does have (a common mix-up)."""
        if language not in build.offline_failures:
            entries = self.metadata.snapshot.entries.values()
            have = sorted({code for entry in entries for code in entry.digests})
            has = f"the snapshot has summaries in {', '.join(have)}" if have else "the snapshot has no summaries"
            reason = f"no summary in {language!r} in the snapshot or the cache, and `offline` is on ({has})"
            build.offline_failures[language] = Failure(reason, kind="offline")
        return build.offline_failures[language]

    def request_shape(self) -> tuple[str, str]:
        """The response format and token limit's name the model server takes, as learnt this run (a batch's
        lines are shaped so); the strongest, `json_schema` and `max_tokens`, before any was learnt."""
        if self._summarizer is not None:
            return self._summarizer.server.shape
        return ("json_schema", "max_tokens")

    def usage_counts(self) -> tuple[int, ...]:
        """The model client's counts so far (over every build), for `Build.usage_at_start`."""
        usage = self._summarizer.usage if self._summarizer is not None else None
        return dataclasses.astuple(usage) if usage else (0, 0, 0, 0)


class _Workers:
    """Digests for papers whose metadata is known, `concurrency` requests at a time."""

    def __init__(self, resolver: Resolver, build: Build, progress: Progress | None) -> None:
        self.resolver = resolver
        self.build = build
        self.progress = progress
        self.executor: ThreadPoolExecutor | None = None
        self.submitted: dict[Future[Digest | Failure], DigestRequest] = {}
        self.requested: set[DigestRequest] = set()

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.executor is None:
            return
        from concurrent.futures import as_completed  # a warm build has no workers: it imports none of this

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
        requests = [
            request
            for request in requests
            if request not in self.requested
            and request not in self.build.failures
            and resolver.digest_key(request) not in resolver.digests
        ]
        resolver.hold_back(self.build, requests)
        for request in requests:
            if request in self.requested or request in self.build.failures:
                continue
            summarizer = resolver.summarizer(self.build, request)
            if isinstance(summarizer, Failure):
                self.build.failures[request] = summarizer
                continue
            if self.executor is None:
                from concurrent.futures import ThreadPoolExecutor

                self.executor = ThreadPoolExecutor(resolver.settings.concurrency, thread_name_prefix="arxiv-digest")
            paper, key = resolver.metadata.papers[request.id], resolver.digest_key(request)
            self.submitted[self.executor.submit(_generate, summarizer, resolver.cache, request, paper, key)] = request
            self.requested.add(request)

    def _record(self, request: DigestRequest, future: Future[Digest | Failure]) -> None:
        """Keep what a worker returned; an unexpected error becomes this paper's failure, not silence."""
        resolver = self.resolver
        error = future.exception()
        if error is not None:
            log.debug(f"{request.id}: the summary worker failed", exc_info=error)  # the traceback, with -v
            result: Digest | Failure = Failure(
                f"no summary: unexpected {type(error).__name__}: {error}", kind="no-summary"
            )
        else:
            result = future.result()
        if isinstance(result, Failure):
            if result.kind == "rejected":
                result = resolver.remember_rejection(request, result)
            self.build.failures[request] = result
        else:
            key = resolver.digest_key(request)
            resolver.digests[key] = result
            self.build.generated.add(request)
            if resolver.rejections.pop(key, None) is not None:
                resolver.cache.forget_rejection(key)


def _generate(summarizer: Summarizer, cache: Cache, request: DigestRequest, paper: Paper, key: str) -> Digest | Failure:
    """A worker: one paper's digest, cached the moment it is valid, or why there is none."""
    try:
        digest = summarizer.summarize(paper, request.language)
    except RejectedReplyError as error:  # held back by the resolver: asking again soon would cost as much
        return Failure(f"no summary: {error}", kind="rejected")
    except DigestError as error:
        return Failure(f"no summary: {error}", kind="no-summary")
    cache.put_digest(key, digest)
    return digest


def _in_background(factory: Callable[[Settings], Summarizer], settings: Settings) -> Future[Summarizer]:
    """``factory(settings)``, called on a thread of its own: what it returns or raises, when asked for."""
    from concurrent.futures import Future

    made: Future[Summarizer] = Future()

    def make() -> None:
        try:
            made.set_result(factory(settings))
        except BaseException as error:  # not swallowed: `result()` raises it where the summarizer is asked for
            made.set_exception(error)

    threading.Thread(target=make, name="arxiv-digest-client").start()
    return made


def _default_summarizer(settings: Settings) -> Summarizer:
    from mkdocs_arxiv_digest import llm

    client = llm.make_client(base_url=settings.base_url, timeout=settings.timeout, retries=settings.retries)
    return llm.Summarizer(client, model=settings.model, retries=settings.retries)
