"""Batch lines both ways: the requests of the digests a site is missing, written as JSONL a
line at a time into files split at a provider's limits, and results in the Batch API's
output format read back a line at a time, checked and cached (`batch export`, `batch
ingest`, and the collection of `batch.prefetch_batch`).

A line is the very request an interactive build sends (`llm.Prompt.body`), its
``custom_id`` the digest key (`keys.digest_key`): a hash of the versioned paper, its title
and abstract, the language and the model, so a result maps back to exactly one digest,
and a result for anything the site is not missing is refused. Replies go through
`llm.read_reply` — the reply parsing and `checks` of every interactive reply — so a reply
about another paper (swapped ``custom_id``s) fails the fidelity checks and is refused
like any rejected reply. Memory does not grow with the file: results are read from disk
a line at a time, lines over `MAX_LINE` refused unread.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mkdocs_arxiv_digest.batch_shape import learn_shape, learnt_shape
from mkdocs_arxiv_digest.build import Build
from mkdocs_arxiv_digest.cache import parse_json
from mkdocs_arxiv_digest.errors import DigestError, log
from mkdocs_arxiv_digest.languages import check_code
from mkdocs_arxiv_digest.model_server import FORMATS, TOKEN_LIMITS, weaker_shape, weakest
from mkdocs_arxiv_digest.models import Digest, DigestRequest, Failure, Usage

if TYPE_CHECKING:
    from mkdocs_arxiv_digest.batch_workers import Verdict
    from mkdocs_arxiv_digest.llm import Prompt
    from mkdocs_arxiv_digest.resolver import Resolver

ENDPOINT = "/v1/chat/completions"
MAX_REQUESTS = 50_000
MAX_BYTES = 200 * 10**6
"""OpenAI's limits on one batch's input file: 50,000 requests, 200 MB (its Batch guide and
`files.create`'s documentation, 2026). A site's requests are split into files below both."""
MAX_LINE = 2 * 2**20
"""Longest results line read: a completion's body is capped at 1 MiB (`llm.MAX_REPLY_BYTES`),
and the line wraps it in a few hundred bytes. A longer line is refused, not buffered."""
PUT_EVERY = 500
"""Accepted digests written to the cache in one transaction: one SQLite commit each cost
most of ingest's time; 500 rows (~1.5 MB) a commit keeps a killed ingest's loss small."""
PRICING_NOTE = "at batch pricing"
MAX_WARNINGS = 20
"""Refused lines or failed papers warned about one by one; past it, a count (a results file of
another site would otherwise print 10,000 warnings)."""


class BatchError(DigestError):
    """A batch could not be submitted or collected (the provider refused, a file would not upload)."""


@dataclass
class Pending:
    """One digest to ask for in a batch: the request(s) it serves and the paper's prompt."""

    key: str
    """The digest key, which is also the line's ``custom_id``."""
    requests: list[DigestRequest]
    prompt: Prompt


@dataclass
class Tally:
    """What a batch's (or a results file's) lines came to."""

    accepted: int = 0
    rejected: dict[str, str] = field(default_factory=dict)
    """By digest key: what the checks (or the model's refusal, a cut-off) said."""
    failed: dict[str, str] = field(default_factory=dict)
    """By digest key: an error line, a status other than 200, a reply of no readable shape."""
    unreturned: set[str] = field(default_factory=set)
    """Digest keys the batch held and returned nothing for (it expired, failed or was cancelled)."""
    reshaped: dict[str, str] = field(default_factory=dict)
    """By digest key: what the server said refusing the line's response format or token limit
    (`model_server.weaker_shape`); `prefetch --batch` asks again in the weaker shape, `batch
    ingest` reports them as failed."""
    refused: list[str] = field(default_factory=list)
    """Why lines were refused unread: a `custom_id` the site does not ask, a duplicate, a malformed line."""
    cached: int = 0
    """Lines for digests already cached (or pinned in the snapshot): nothing to do."""
    usage: Usage = field(default_factory=Usage)
    """Replies read and their tokens, at batch pricing."""


@dataclass
class Part:
    """One input file of requests, written to disk."""

    path: Path
    keys: list[str]


# -- what to ask ------------------------------------------------------------------------


def pending_digests(
    resolver: Resolver, build: Build, requests: Iterable[DigestRequest]
) -> tuple[dict[str, Pending], set[str]]:
    """Digests of ``requests`` that no snapshot or cache holds, by digest key, with their prompts;
    and the keys of those that one does (settled: a result for them is not news).

    Metadata is resolved as a build resolves it (snapshot → cache → arXiv); digests are
    looked up, never asked for. Papers held back after rejected replies, and languages that
    are not one, are left out and recorded as the build records them (`build.failures`).
    """
    from mkdocs_arxiv_digest.llm import make_prompt

    known = resolve_papers(resolver, build, requests)
    resolver.load_digests(known)
    missing = [request for request in known if resolver.digest_key(request) not in resolver.digests]
    settled = {resolver.digest_key(request) for request in known} - {resolver.digest_key(r) for r in missing}
    resolver.hold_back(build, missing)
    pending: dict[str, Pending] = {}
    for request in missing:
        if request in build.failures:
            continue
        if (problem := check_code(request.language)) is not None:
            build.failures[request] = Failure(f"no summary: {problem}", kind="no-summary")
            continue
        key = resolver.digest_key(request)
        if key in pending:
            pending[key].requests.append(request)
        else:
            paper = resolver.metadata.papers[request.id]
            pending[key] = Pending(key, [request], make_prompt(paper, request.language, request.model))
    return pending, settled


def resolve_papers(resolver: Resolver, build: Build, requests: Iterable[DigestRequest]) -> list[DigestRequest]:
    """Metadata of ``requests`` (snapshot → cache → arXiv); the distinct requests whose papers are known."""
    wanted = list(dict.fromkeys(requests))
    ids = list(dict.fromkeys(request.id for request in wanted))
    to_fetch, stale = resolver.metadata.load_local(build, ids)
    for _arxiv_id in resolver.metadata.fetch(build, to_fetch, stale):
        pass
    return [request for request in wanted if request.id in resolver.metadata.papers]


# -- requests out -----------------------------------------------------------------------


def request_line(pending: Pending, shape: tuple[str, str]) -> bytes:
    """One line of a batch's input file: the interactive request's body under its digest key."""
    line = {"custom_id": pending.key, "method": "POST", "url": ENDPOINT, "body": pending.prompt.body(shape)}
    return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def write_parts(
    pending: Iterable[Pending],
    path_of: Callable[[int], Path],
    shape: tuple[str, str],
    *,
    max_requests: int = MAX_REQUESTS,
    max_bytes: int = MAX_BYTES,
) -> list[Part]:
    """Write request lines, a line at a time, into files of at most ``max_requests`` lines and ``max_bytes``.

    ``path_of(n)`` names the n-th file (from 1). Returns the files written and the keys each holds.
    """
    parts: list[Part] = []
    out: IO[bytes] | None = None
    size = 0
    try:
        for item in pending:
            line = request_line(item, shape)
            if len(line) > max_bytes:
                raise BatchError(f"the request for {item.requests[0].id} alone is larger than {max_bytes} bytes")
            if out is None or len(parts[-1].keys) >= max_requests or size + len(line) > max_bytes:
                if out is not None:
                    out.close()
                parts.append(Part(path_of(len(parts) + 1), []))
                out, size = parts[-1].path.open("wb"), 0
            out.write(line)
            size += len(line)
            parts[-1].keys.append(item.key)
    finally:
        if out is not None:
            out.close()
    return parts


def export_paths(path: Path) -> Callable[[int], Path]:
    """Names of exported files: ``FILE.jsonl``, then ``FILE-2.jsonl``, ``FILE-3.jsonl``... past a provider's limit."""
    return lambda n: path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")


# -- results in -------------------------------------------------------------------------


def read_lines(stream: IO[bytes]) -> Iterator[bytes | None]:
    """The lines of a JSONL file, one at a time; None for a line longer than `MAX_LINE` (skipped, not buffered)."""
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            while (rest := stream.readline(MAX_LINE)) and not rest.endswith(b"\n"):
                pass
            yield None
            continue
        if line.strip():
            yield line


class Results:
    """Checks results lines against the digests they name, and caches the accepted ones."""

    def __init__(self, resolver: Resolver, build: Build, pending: dict[str, Pending], settled: set[str]) -> None:
        self.resolver = resolver
        self.build = build
        self.pending = pending
        self.settled = settled
        """Keys of digests the site asks for that are cached or pinned already: their lines are not news."""
        self.tally = Tally()
        self.seen: set[str] = set()
        """Keys a line was read for."""
        self.shape: tuple[str, str] = (FORMATS[0], TOKEN_LIMITS[0])
        """The shape the lines being read were sent in (a batch's, recorded with it; what `batch export` writes)."""
        self.weaker: tuple[str, str] | None = None
        """The shape to ask again in, learnt from lines refusing theirs (`Tally.reshaped`)."""
        self._to_put: list[tuple[str, Digest]] = []
        self._tokens: dict[str, tuple[int, int]] = {}
        """Tokens of the replies being checked, by key (a rejected reply's count as rejected)."""

    def read(self, stream: IO[bytes], *, pool_from: int | None = None) -> None:
        """Read one results (or error) file in the Batch API's output format, a line at a time.

        A large file's replies are checked by a process per core (`batch_workers`; ``pool_from``:
        from how many bytes), their verdicts taken in the file's order. Raises `BatchError` if a
        checking process dies.
        """
        from mkdocs_arxiv_digest import batch_workers
        from mkdocs_arxiv_digest.llm import read_reply

        workers = batch_workers.worth_processes(stream, pool_from)
        if not workers:
            for key, (prompt, body) in self._checkable(stream):
                self._accept(key, read_reply(prompt, body))
        else:
            from concurrent.futures.process import BrokenProcessPool

            try:
                for key, verdict in batch_workers.checked_in_processes(self._checkable(stream), workers):
                    self._accept(key, verdict)
            except BrokenProcessPool as error:
                raise BatchError(f"a process checking the replies stopped: {error}") from None
        self.flush()

    def _checkable(self, stream: IO[bytes]) -> Iterator[tuple[str, tuple[Prompt, dict[str, Any]]]]:
        """The replies of ``stream`` to check, with their prompts (every other line is dealt with here)."""
        for key, result in self._lines(stream):
            body = self._received(key, result)
            if body is not None:
                yield key, (self.pending[key].prompt, body)

    def _lines(self, stream: IO[bytes]) -> Iterator[tuple[str, dict[str, Any]]]:
        """The lines of ``stream`` for digests the site is missing, once each (the rest are tallied here)."""
        for number, line in enumerate(read_lines(stream), start=1):
            if line is None:
                self.tally.refused.append(f"line {number}: longer than {MAX_LINE} bytes")
                continue
            try:
                result = parse_json(line.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as error:
                self.tally.refused.append(f"line {number}: not a JSON object ({error})")
                continue
            custom_id = result.get("custom_id") if isinstance(result, dict) else None
            if not isinstance(custom_id, str):
                self.tally.refused.append(f"line {number}: no custom_id")
            elif custom_id in self.settled or custom_id in self.resolver.digests:
                self.tally.cached += 1
            elif custom_id not in self.pending:
                self.tally.refused.append(f"line {number}: custom_id {custom_id[:80]!r} matches no request of the site")
            elif custom_id in self.seen:
                self.tally.refused.append(f"line {number}: a second result for custom_id {custom_id[:80]!r}")
            else:
                self.seen.add(custom_id)
                yield custom_id, result

    def _received(self, key: str, result: dict[str, Any]) -> dict[str, Any] | None:
        """The completion of a results line, to check; None for an error line (recorded here)."""
        from mkdocs_arxiv_digest.llm import tokens_of

        response, error = result.get("response"), result.get("error")
        body = response.get("body") if isinstance(response, dict) else None
        status = response.get("status_code") if isinstance(response, dict) else None
        if error or status != 200 or not isinstance(body, dict):
            code = error.get("code") if isinstance(error, dict) else None
            if code == "batch_expired":  # not run: its line may come again, from a resubmitted batch
                self.seen.discard(key)
                self.tally.unreturned.add(key)
                return None
            message = error.get("message") if isinstance(error, dict) else None
            if message is None and isinstance(body, dict) and isinstance(body.get("error"), dict):
                message = body["error"].get("message")  # an HTTP error: the server's answer is the line's body
            said = str(message or code or (f"HTTP {status}" if status is not None else "no response"))[:300]
            weaker = (
                weaker_shape(status, json.dumps(body, default=str), self.shape) if isinstance(status, int) else None
            )
            if weaker is not None:  # the server refused the request's format or token limit, not the paper
                self.seen.discard(key)  # its line may come again, in the weaker shape
                self.tally.reshaped[key] = said
                self.weaker = weaker if self.weaker is None else weakest(self.weaker, weaker)
                return None
            self.tally.failed[key] = f"the batch returned an error: {said}"
            return None
        usage = self.tally.usage
        usage.requests += 1
        prompt_tokens, completion_tokens = tokens_of(body)
        usage.prompt_tokens += prompt_tokens
        usage.completion_tokens += completion_tokens
        self._tokens[key] = (prompt_tokens, completion_tokens)
        return body

    def _accept(self, key: str, verdict: Verdict) -> None:
        """Record a checked reply: cache it if accepted (`PUT_EVERY` at a time), else say why not."""
        digest, _content, problem, judged = verdict
        tokens = self._tokens.pop(key)
        if digest is None:
            self.tally.usage.rejected_tokens += sum(tokens)
            (self.tally.rejected if judged else self.tally.failed)[key] = problem
            return
        self.tally.accepted += 1
        self._to_put.append((key, digest))
        if len(self._to_put) >= PUT_EVERY:
            self.flush()

    def flush(self) -> None:
        """Cache the digests accepted so far (one transaction), and make them this build's."""
        if not self._to_put:
            return
        resolver = self.resolver
        resolver.cache.put_digests(self._to_put)
        for key, digest in self._to_put:
            resolver.digests[key] = digest
            self.build.batched.update(self.pending[key].requests)
            if resolver.rejections.pop(key, None) is not None:
                resolver.cache.forget_rejection(key)
        self._to_put.clear()

    def refused_shape(self) -> None:
        """Record lines that refused their shape (`Tally.reshaped`) as failed, saying what to change."""
        for key, said in self.tally.reshaped.items():
            self.tally.failed[key] = (
                f"the server refused the request's response format {self.shape[0]} or token limit "
                f"{self.shape[1]} ({said}); it takes {' and '.join(self.weaker or ())}, in which `batch export` now writes them"
            )
        self.tally.reshaped.clear()

    def settle(self, *, retry: Callable[[list[DigestRequest]], None] | None, retries: int) -> None:
        """Record every digest not accepted: ask up to ``retries`` again through ``retry``, the rest
        as failures of this build (a rejection held back, as the interactive path holds it)."""
        resolver, build, tally = self.resolver, self.build, self.tally
        unsettled = [*tally.rejected, *tally.failed]
        again = unsettled[:retries] if retry is not None else []
        if again:
            log.info(f"Asking again interactively for {len(again)} papers the batch did not complete")
            assert retry is not None
            retry([request for key in again for request in self.pending[key].requests])
        for key in unsettled[len(again) :]:
            for request in self.pending[key].requests:
                if key in tally.rejected:
                    failure = Failure(
                        f"no summary: the batch's reply was rejected: {tally.rejected[key]}", kind="rejected"
                    )
                    build.failures[request] = resolver.remember_rejection(request, failure)
                else:
                    build.failures[request] = Failure(f"no summary: {tally.failed[key]}", kind="no-summary")


@dataclass
class Report:
    """What a `prefetch --batch` or an ingest did, for the command's summary."""

    requests: int = 0
    """Digests the site was missing."""
    submitted: list[str] = field(default_factory=list)
    """Batches made by this run."""
    waiting: int = 0
    """Requests in batches not yet ended (`--no-wait`)."""
    running: list[str] = field(default_factory=list)
    """Those batches."""
    tally: Tally = field(default_factory=Tally)

    def line(self) -> str:
        """One line: what came back, what was refused, and what ran at batch pricing."""
        tally, usage = self.tally, self.tally.usage
        parts = [f"{tally.accepted} accepted", f"{len(tally.rejected)} rejected", f"{len(tally.failed)} failed"]
        if tally.unreturned:
            parts.append(f"{len(tally.unreturned)} not returned")
        if tally.refused:
            parts.append(f"{len(tally.refused)} lines refused")
        if self.waiting:
            parts.append(f"{self.waiting} waiting in batch {', '.join(self.running)}")
        priced = (
            f"{usage.requests} requests, {usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens"
            f" {PRICING_NOTE}"
        )
        return f"Batch: {self.requests} digests missing: {', '.join(parts)}; {priced}"


def report_refused(tally: Tally) -> None:
    """Warn about refused lines: the first few by line, then how many more."""
    for reason in tally.refused[:MAX_WARNINGS]:
        log.warning(f"Refused a results line: {reason}")
    if len(tally.refused) > MAX_WARNINGS:
        log.warning(f"Refused {len(tally.refused) - MAX_WARNINGS} more results lines")


# -- the commands ------------------------------------------------------------------------


def export_batch(
    resolver: Resolver, build: Build, requests: Iterable[DigestRequest], path: Path, *, shape: tuple[str, str]
) -> tuple[list[Part], int]:
    """Write the requests of every missing digest to ``path`` (more files past OpenAI's limits); the files, and
    how many digests were already settled."""
    pending, settled = pending_digests(resolver, build, requests)
    return write_parts(pending.values(), export_paths(path), learnt_shape(resolver, shape)), len(settled)


def ingest_batch(resolver: Resolver, build: Build, requests: Iterable[DigestRequest], paths: Iterable[Path]) -> Report:
    """Read results files in the Batch API's output format, check each line against the
    paper its ``custom_id`` names, and cache the accepted digests."""
    pending, settled = pending_digests(resolver, build, requests)
    results = Results(resolver, build, pending, settled)
    results.shape = learnt_shape(resolver, results.shape)  # as `export_batch` wrote the lines
    for path in paths:
        with path.open("rb") as stream:
            results.read(stream)
    if results.weaker is not None:
        learn_shape(resolver, results.weaker)  # the next `batch export` writes them so
    results.refused_shape()
    results.settle(retry=None, retries=0)
    build.batch_usage = results.tally.usage
    report_refused(results.tally)
    unsettled = [*results.tally.rejected, *results.tally.failed]
    for key in unsettled[:MAX_WARNINGS]:
        for request in pending[key].requests:
            log.warning(f"{request.id} ({request.language}): {build.failures[request].reason}")
    if len(unsettled) > MAX_WARNINGS:
        log.warning(f"{len(unsettled) - MAX_WARNINGS} more papers were not completed by the results")
    return Report(requests=len(pending), tally=results.tally)
