"""Batch generation through a provider's Batch API (OpenAI's: half the price, its own
rate-limit pool, results within 24 h): every digest a build would ask for, submitted at
once (`prefetch --batch`), waited for, collected and checked (`batch_lines`).

Resumable, never paid twice: a submitted batch is recorded in the cache (`JOBS` rows)
before it is waited for, and its input file before the batch is made, so a prefetch
killed at any point and started again picks up the same batch (found by its input file
if the kill came between making it and recording it). A batch that expired, failed or was
cancelled is reported, and what it did not return is submitted once more.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mkdocs_arxiv_digest.batch_lines import (
    ENDPOINT,
    MAX_BYTES,
    MAX_REQUESTS,
    PRICING_NOTE,
    BatchError,
    Pending,
    Report,
    Results,
    pending_digests,
    report_refused,
    write_parts,
)
from mkdocs_arxiv_digest.batch_shape import learn_shape, learnt_shape
from mkdocs_arxiv_digest.build import Build
from mkdocs_arxiv_digest.errors import DigestError, log
from mkdocs_arxiv_digest.model_server import FORMATS, TOKEN_LIMITS, weakest
from mkdocs_arxiv_digest.models import DigestRequest, Failure

if TYPE_CHECKING:
    import openai

    from mkdocs_arxiv_digest.resolver import Resolver

MAX_FILE_BYTES = 2**30
"""Cap on a batch's output or error file as downloaded. A reply is at most ~9 KB of text
(`llm.MAX_LENGTH`, escaped as JSON ~60 KB at worst); 50,000 typical ones (~3 KB each with
their envelope, measured on the fake's lines for the seed digest's papers) are ~150 MB."""
FILE_TIMEOUT = 1800.0
"""Deadline in seconds for one file upload or download: 200 MB at a slow 1 Mbit/s uplink
takes ~27 minutes. (A completion's deadline is the site's `timeout`.)"""
INTERACTIVE_RETRIES = 50
"""Papers whose batch reply failed or was rejected that one `prefetch --batch` asks again
interactively, at most; the rest wait for the next build. 50 at the site's concurrency 8
and ~3 s a reply (docs/performance.md: L_llm) is ~20 s at full price — a tail, next to a
batch of thousands at half price."""
JOBS = "batch"
"""Kind of the cache row (`batch:jobs`) recording batches submitted and not yet collected."""
ENDED = {"completed", "failed", "expired", "cancelled"}
"""A batch's statuses once it has stopped running (the Batch API's own words)."""


@dataclass
class Job:
    """A submitted batch, as recorded in the cache: enough to find it again after a kill."""

    keys: list[str]
    file: str = ""
    """The uploaded input file's id."""
    batch: str = ""
    """The batch's id, once made."""
    at: float = 0.0
    resubmitted: bool = False
    """It holds what an expired or failed batch did not return (it is not resubmitted again in the same run)."""
    shape: tuple[str, str] = (FORMATS[0], TOKEN_LIMITS[0])
    """The response format and token limit's name its lines were sent with."""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Job:
        if not isinstance(data, dict):
            raise ValueError("a batch job must be a mapping")
        keys, file, batch = data.get("keys"), data.get("file"), data.get("batch")
        if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
            raise ValueError("a batch job's `keys` must be a list of digest keys")
        if not isinstance(file, str) or not isinstance(batch, str):
            raise ValueError("a batch job's `file` and `batch` must be ids")
        at = data.get("at", 0.0)
        at = float(at) if isinstance(at, (int, float)) and not isinstance(at, bool) else 0.0
        shape = data.get("shape")
        if not (isinstance(shape, list) and len(shape) == 2 and shape[0] in FORMATS and shape[1] in TOKEN_LIMITS):
            shape = [FORMATS[0], TOKEN_LIMITS[0]]  # recorded before shapes were: the strongest, as sent then
        return cls(keys, file, batch, at, data.get("resubmitted") is True, (shape[0], shape[1]))


# -- the provider's Batch API ----------------------------------------------------------


class Jobs:
    """The batches submitted from a cache and not yet collected (its `batch:jobs` row)."""

    def __init__(self, resolver: Resolver) -> None:
        self.cache = resolver.cache
        rows = self.cache.get_records(JOBS, ["jobs"], lambda data: [Job.from_json(job) for job in data["jobs"]])
        self.jobs: list[Job] = rows.get("jobs", [])

    def save(self) -> None:
        """Record the jobs now (one transaction): before a batch is waited for, or after it is collected."""
        self.cache.put_record(JOBS, "jobs", {"jobs": [job.to_json() for job in self.jobs]})

    def keys(self) -> set[str]:
        return {key for job in self.jobs for key in job.keys}


class Batches:
    """Submit, wait for and collect batches of the missing digests through the Batch API."""

    def __init__(
        self,
        resolver: Resolver,
        build: Build,
        client: openai.OpenAI,
        *,
        shape: tuple[str, str],
        poll: float,
        sleep: Callable[[float], None] = time.sleep,
        max_requests: int = MAX_REQUESTS,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.resolver = resolver
        self.build = build
        self.client = client
        self.shape = learnt_shape(resolver, shape)
        self.poll = poll
        self.sleep = sleep
        self.max_requests = max_requests
        self.max_bytes = max_bytes
        self.jobs = Jobs(resolver)
        self.submitted: list[str] = []
        """Batches this run made."""

    def submit(self, pending: dict[str, Pending], keys: list[str], *, resubmitted: bool = False) -> None:
        """Upload the requests of ``keys`` and make a batch of each file, recording each step first."""
        if not keys:
            return
        with tempfile.TemporaryDirectory(prefix="arxiv-digest-batch-") as directory:
            parts = write_parts(
                (pending[key] for key in keys),
                lambda n: Path(directory) / f"requests-{n}.jsonl",
                self.shape,
                max_requests=self.max_requests,
                max_bytes=self.max_bytes,
            )
            for part in parts:
                with part.path.open("rb") as stream:
                    uploaded = self._call("upload the requests", self.client.files.create, file=stream, purpose="batch")
                job = Job(
                    part.keys, file=uploaded.id, at=self.resolver.cache.now(), resubmitted=resubmitted, shape=self.shape
                )
                self.jobs.jobs.append(job)
                self.jobs.save()  # the file first: a kill now finds the batch by its input file
                self._create(job)

    def _create(self, job: Job) -> None:
        batch = self._call(
            "create the batch",
            self.client.batches.create,
            input_file_id=job.file,
            endpoint=ENDPOINT,
            completion_window="24h",
            metadata={"made_by": "arxiv-digest"},
        )
        job.batch = batch.id
        self.jobs.save()
        self.submitted.append(batch.id)
        log.info(f"Submitted batch {batch.id}: {len(job.keys)} requests {PRICING_NOTE}")

    def adopt(self) -> None:
        """Jobs recorded with an input file but no batch (killed in between): find their batch, or make it."""
        for job in self.jobs.jobs:
            if job.batch:
                continue
            found = self._call("list batches", self.client.batches.list, limit=100)
            match = next((batch for batch in found.data if batch.input_file_id == job.file), None)
            if match is not None:
                job.batch = match.id
                self.jobs.save()
            else:
                self._create(job)

    def wait(
        self,
        progress: Callable[[int, int, int], None] | None = None,
        *,
        jobs: list[Job] | None = None,
        once: bool = False,
    ) -> dict[str, Any]:
        """Poll every job's batch (or those of ``jobs``) every `poll` seconds until each has ended, or
        (``once``) just once; their last states by batch id."""
        states: dict[str, Any] = {}
        while True:
            done = failed = total = 0
            for job in self.jobs.jobs if jobs is None else jobs:
                batch = states.get(job.batch)
                if batch is None or batch.status not in ENDED:
                    batch = states[job.batch] = self._call("ask for the batch", self.client.batches.retrieve, job.batch)
                counts = batch.request_counts
                done += counts.completed if counts is not None else 0
                failed += counts.failed if counts is not None else 0
                total += counts.total if counts is not None and counts.total else len(job.keys)
            if progress is not None:
                progress(done + failed, total, failed)
            running = [batch_id for batch_id, batch in states.items() if batch.status not in ENDED]
            if not running or once:
                return states
            log.info(f"Batch {', '.join(running)}: {done + failed}/{total} done, {failed} failed")
            self.sleep(self.poll)

    def collect(self, results: Results, states: dict[str, Any]) -> list[str]:
        """Read every ended job's output and error files into ``results``; the keys to submit again.

        What a batch that expired, failed or was cancelled did not return is submitted once
        more; what a resubmitted batch did not return either is a failure of this run. A job
        is forgotten once its results are cached: a kill before that reads them again.
        """
        again: list[str] = []
        for job in list(self.jobs.jobs):
            batch = states.get(job.batch)
            if batch is None or batch.status not in ENDED:
                continue  # still running (`--no-wait`), or submitted after ``states`` were asked for
            results.shape = job.shape
            with tempfile.TemporaryDirectory(prefix="arxiv-digest-results-") as directory:
                for file_id in (batch.output_file_id, batch.error_file_id):
                    if file_id:
                        path = Path(directory) / "results.jsonl"
                        self._download(file_id, path)
                        with path.open("rb") as stream:
                            results.read(stream)
            tally = results.tally
            missing = [
                key
                for key in job.keys
                if key in results.pending
                and key not in tally.reshaped  # asked again in another shape (`reshape`)
                and (key not in results.seen or key in tally.unreturned)
            ]
            tally.unreturned.update(missing)
            if batch.status != "completed" or missing:
                errors = getattr(getattr(batch, "errors", None), "data", None) or []
                said = "; ".join(str(getattr(error, "message", "")) for error in errors[:3] if error)
                log.warning(
                    f"Batch {job.batch} {batch.status}"
                    + (f" ({said})" if said else "")
                    + f": {len(job.keys) - len(missing)} of {len(job.keys)} requests returned"
                    + (f"; submitting the other {len(missing)} again" if missing and not job.resubmitted else "")
                )
            for key in missing:
                if job.resubmitted:
                    tally.failed[key] = f"batch {job.batch} {batch.status} without returning it, after a resubmission"
                else:
                    again.append(key)
            self.jobs.jobs.remove(job)
            self.jobs.save()
        return again

    def _download(self, file_id: str, path: Path) -> None:
        def download() -> None:
            with self.client.files.with_streaming_response.content(file_id) as response:
                response.stream_to_file(path)

        self._call("download the results", download)

    def reshape(self, results: Results, pending: dict[str, Pending]) -> None:
        """Ask again, in the weaker shape they point to, for the lines whose server refused their shape."""
        reshaped, weaker = results.tally.reshaped, results.weaker
        if not reshaped or weaker is None:
            return
        said = next(iter(reshaped.values()))
        log.warning(
            f"The batch's server refused {len(reshaped)} requests in {' and '.join(results.shape)} ({said}); "
            f"submitting them again with {' and '.join(weaker)}"
        )
        self.shape = weakest(self.shape, weaker)
        learn_shape(self.resolver, self.shape)
        keys = list(reshaped)
        reshaped.clear()
        self.submit(pending, keys)

    def _call(self, what: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        import openai

        from mkdocs_arxiv_digest.llm import redact

        try:
            return call(*args, **kwargs)
        except openai.APIError as error:
            raise BatchError(redact(f"could not {what}: {type(error).__name__}: {error}")) from None
        except DigestError as error:  # a file over the size cap (`RefusedReplyError`)
            raise BatchError(f"could not {what}: {error}") from None


# -- the commands ------------------------------------------------------------------------


def prefetch_batch(
    resolver: Resolver,
    build: Build,
    requests: Iterable[DigestRequest],
    client: openai.OpenAI,
    *,
    shape: tuple[str, str],
    poll: float,
    wait: bool,
    retry: Callable[[list[DigestRequest]], None] | None,
    retries: int = INTERACTIVE_RETRIES,
    progress: Callable[[int, int, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_requests: int = MAX_REQUESTS,
    max_bytes: int = MAX_BYTES,
) -> Report:
    """Every missing digest of ``requests`` through the Batch API: submit (or pick up), wait, collect.

    One process at a time per cache (`BatchError` for a second), so two prefetches cannot
    both submit. With ``wait`` false, the batches recorded by an earlier run are asked
    about once, and those that have ended are collected as a waiting run collects them;
    the new requests are submitted and not waited for, nor are batches still running:
    their requests are this build's failures ("waiting in batch ...").
    """
    from filelock import FileLock, Timeout

    lock = FileLock(str(resolver.cache.directory / "batch.lock"), timeout=0, mode=0o600)
    try:
        lock.acquire()
    except Timeout:
        raise BatchError(
            f"another `arxiv-digest prefetch --batch` is running on {resolver.cache.directory}; wait for it"
        ) from None
    try:
        pending, settled = pending_digests(resolver, build, requests)
        batches = Batches(
            resolver, build, client, shape=shape, poll=poll, sleep=sleep, max_requests=max_requests, max_bytes=max_bytes
        )
        batches.adopt()
        earlier = list(batches.jobs.jobs)
        in_jobs = batches.jobs.keys()
        batches.submit(pending, [key for key in pending if key not in in_jobs])
        results = Results(resolver, build, pending, settled)
        report = Report(requests=len(pending), tally=results.tally)
        if wait:
            while batches.jobs.jobs:
                again = batches.collect(results, batches.wait(progress))
                batches.submit(pending, again, resubmitted=True)
                batches.reshape(results, pending)
        elif earlier:  # what ended since the last run is collected now; nothing is waited for
            again = batches.collect(results, batches.wait(progress, jobs=earlier, once=True))
            batches.submit(pending, again, resubmitted=True)
            batches.reshape(results, pending)
        waiting = pending.keys() & batches.jobs.keys()
        if waiting:
            report.running = [job.batch for job in batches.jobs.jobs]
            for key in waiting:
                for request in pending[key].requests:
                    build.failures[request] = Failure(
                        f"no summary yet: waiting in batch {', '.join(report.running)}"
                        " (`arxiv-digest prefetch --batch` collects it)"
                    )
            report.waiting = len(waiting)
        results.settle(retry=retry, retries=retries)
        tally = results.tally
        tally.unreturned = {key for key in tally.unreturned if key not in resolver.digests and key not in tally.failed}
        report.submitted = batches.submitted
        if wait or tally.usage.requests:
            build.batch_usage = tally.usage
        report_refused(tally)
        return report
    finally:
        lock.release()
