"""Orchestration: collect the papers pages ask for, resolve them, render the directives.

Resolution goes snapshot → cache → network, for metadata (arXiv, batched) and then for
generated text (the model, one request per paper, `concurrency` at a time, each paper
starting as soon as its batch of metadata is in). Only complete, validated results are
cached; failures are remembered for this build only, rendered as degraded rows with a
warning that names page, line and ID, and retried on the next build.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from mkdocs_arxiv_digest import __version__, arxiv_source, llm
from mkdocs_arxiv_digest.cache import Cache
from mkdocs_arxiv_digest.config import DEFAULT_ARXIV_API_URL, DEFAULT_CACHE_DIR, DEFAULT_MODEL
from mkdocs_arxiv_digest.directive import Directive, find_directives, replace_directives
from mkdocs_arxiv_digest.errors import DigestError, MissingApiKeyError, log
from mkdocs_arxiv_digest.ids import ArxivId
from mkdocs_arxiv_digest.models import Digest, Paper, RenderedPage
from mkdocs_arxiv_digest.render import Row, is_digest_markdown, render_digest
from mkdocs_arxiv_digest.snapshot import Snapshot, load_snapshot

PROGRESS_SECONDS = 5.0
PROGRESS_PAPERS = 50
"""A long build logs progress every this many seconds or summaries, whichever comes first."""


@dataclass(frozen=True)
class Settings:
    """Everything the pipeline needs, resolved (paths absolute, defaults applied)."""

    language: str = "en"
    model: str = DEFAULT_MODEL
    base_url: str | None = None
    arxiv_api_url: str = DEFAULT_ARXIV_API_URL
    arxiv_delay: float = 3.0
    cache_dir: Path = Path(DEFAULT_CACHE_DIR)
    concurrency: int = 8
    timeout: float = 60.0
    retries: int = 3
    refresh_days: float = 30.0
    offline: bool = False
    snapshot: Path | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, base_dir: Path, default_language: str | None) -> Settings:
        """Settings from validated plugin options; relative paths are relative to ``base_dir``."""
        snapshot = options.get("snapshot")
        return cls(
            language=options.get("language") or default_language or "en",
            model=options.get("model") or DEFAULT_MODEL,
            base_url=options.get("base_url"),
            arxiv_api_url=options["arxiv_api_url"],
            arxiv_delay=float(options["arxiv_delay"]),
            cache_dir=base_dir / options["cache_dir"],
            concurrency=max(1, options["concurrency"]),
            timeout=float(options["timeout"]),
            retries=max(0, options["retries"]),
            refresh_days=float(options["refresh_days"]),
            offline=options["offline"],
            snapshot=base_dir / snapshot if snapshot else None,
        )


class Want(NamedTuple):
    """One paper in one language by one model: the unit of generated text (a hot dict key)."""

    id: ArxivId
    language: str
    model: str


@dataclass
class BuildStats:
    """What a build rendered, for the one-line summary at its end."""

    rendered: dict[Want, bool] = field(default_factory=dict)
    """Each paper shown, and whether it was shown complete."""
    generated: set[Want] = field(default_factory=set)
    arxiv_requests: int = 0

    def line(self, usage: llm.Usage | None) -> str:
        complete = {want for want, ok in self.rendered.items() if ok}
        generated = len(complete & self.generated)
        tokens = f"; {usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens" if usage else ""
        return (
            f"{len(self.rendered)} papers: {len(complete) - generated} cached, {generated} generated, "
            f"{len(self.rendered) - len(complete)} failed; {self.arxiv_requests} arXiv requests{tokens}"
        )


class Pipeline:
    """Collect → resolve → render, with IO behind replaceable collaborators."""

    def __init__(
        self,
        settings: Settings,
        *,
        cache: Cache | None = None,
        snapshot: Snapshot | None = None,
        source: arxiv_source.ArxivSource | None = None,
        summarizer_factory: Callable[[Settings], llm.Summarizer] | None = None,
    ) -> None:
        arxiv_source.check_delay(settings.arxiv_api_url, settings.arxiv_delay)
        self.settings = settings
        self.cache = cache or Cache(settings.cache_dir)
        self.snapshot = snapshot if snapshot is not None else _load_snapshot(settings.snapshot)
        self._snapshot_stamp = file_stamp(settings.snapshot)
        self._snapshot_hash = _file_hash(settings.snapshot)
        self._source = source
        self._summarizer_factory = summarizer_factory or _default_summarizer
        self._summarizer: llm.Summarizer | None = None
        self.papers: dict[ArxivId, Paper] = {}
        self.digests: dict[str, Digest] = {}
        self.stats = BuildStats()
        self.paper_errors: dict[ArxivId, str] = {}
        self.digest_errors: dict[Want, str] = {}
        self._parsed: dict[str, list[Directive]] = {}
        self._keys: dict[Want, str] = {}
        self._fetched: dict[ArxivId, float] = {}
        """When cached or fetched metadata of an unversioned ID was fetched (snapshot entries never expire)."""
        self._stale: set[ArxivId] = set()
        """IDs served from stale metadata this build: their pages are not stored rendered."""
        self._rendered: dict[str, RenderedPage] = {}
        self._usage_at_start = llm.Usage()

    # -- builds -------------------------------------------------------------------

    def begin_build(self) -> None:
        """Forget this build's failures (they are retried) and counts; keep what resolved.

        An edited snapshot (a corrected translation, under `mkdocs serve`) is read again,
        and what was resolved from the old one is forgotten.
        """
        stamp = file_stamp(self.settings.snapshot)
        if stamp != self._snapshot_stamp:
            self.snapshot, self._snapshot_stamp = _load_snapshot(self.settings.snapshot), stamp
            self._snapshot_hash = _file_hash(self.settings.snapshot)
            self.papers.clear()
            self.digests.clear()
            self._keys.clear()
        self.paper_errors.clear()
        self.digest_errors.clear()
        self._parsed.clear()
        self._stale.clear()
        self._rendered.clear()
        self.stats = BuildStats()
        if self._summarizer is not None:
            self._usage_at_start = llm.Usage(**vars(self._summarizer.usage))

    def summary_line(self) -> str:
        usage = None
        if self._summarizer is not None:
            now, start = self._summarizer.usage, self._usage_at_start
            usage = llm.Usage(
                now.requests - start.requests,
                now.prompt_tokens - start.prompt_tokens,
                now.completion_tokens - start.completion_tokens,
            )
        return self.stats.line(usage)

    def close(self) -> None:
        self.cache.close()

    # -- collect ------------------------------------------------------------------

    def wants(self, directive: Directive) -> list[Want]:
        language = directive.options.get("language") or self.settings.language
        model = directive.options.get("model") or self.settings.model
        return [Want(arxiv_id, language, model) for arxiv_id, _line in directive.ids]

    def directives(self, markdown: str) -> list[Directive]:
        """The page's directives; parsed once a build, though both the scan and the render ask."""
        if markdown not in self._parsed:
            self._parsed[markdown] = find_directives(markdown)
        return self._parsed[markdown]

    def wants_in(self, pages: Iterable[str]) -> list[Want]:
        """Every paper the given pages' Markdown asks for."""
        return [want for markdown in pages for directive in self.directives(markdown) for want in self.wants(directive)]

    def prefetch(self, pages: Iterable[tuple[str | None, list[Want]]], *, math: bool = False) -> None:
        """Resolve, site-wide and at once, every paper the pages ask for.

        ``pages`` are (Markdown, or None if unchanged since the last scan; papers asked
        for). A page whose complete render is cached needs none of its papers resolved.
        """
        keyed = [(self.page_key(markdown, math) if markdown is not None else None, wants) for markdown, wants in pages]
        self._rendered.update(self._stored_pages(key for key, wants in keyed if key is not None and wants))
        self.resolve(want for key, wants in keyed if key not in self._rendered for want in wants)

    def _stored_pages(self, keys: Iterable[str]) -> dict[str, RenderedPage]:
        """Rendered pages from the cache whose papers' metadata is not yet due a refresh."""
        oldest = time.time() - self.settings.refresh_days * 86400
        found = self.cache.get_pages(keys)
        return {key: page for key, page in found.items() if page.fetched is None or page.fetched >= oldest}

    def page_key(self, markdown: str, math: bool) -> str:
        """Cache key of a page's render: a hash of everything that shapes it."""
        settings = self.settings
        parts = [__version__, str(llm.PROMPT_VERSION), settings.language, settings.model, str(math)]
        parts += [self._snapshot_hash, markdown]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def row(self, want: Want) -> Row:
        """What is known of a paper now (after `resolve`): metadata and digest, or less."""
        paper = self.papers.get(want.id)
        digest = self.digests.get(self.digest_key(want)) if paper else None
        return Row(want.id, paper, digest)

    # -- render -------------------------------------------------------------------

    def render_page(self, markdown: str, page: str | None, *, math: bool = False) -> str:
        """The page with every directive replaced by its digest (resolving what is missing)."""
        directives = self.directives(markdown)
        if not directives:
            return markdown
        key = self.page_key(markdown, math)
        stored = self._rendered.get(key) or self._stored_pages([key]).get(key)
        if stored is not None and self._servable(stored, directives, math):
            self.stats.rendered.update((Want(ArxivId(i, v), lang, model), True) for i, v, lang, model in stored.wants)
            blocks = iter(stored.blocks)
            return replace_directives(markdown, directives, lambda _directive: next(blocks))
        self.resolve(want for directive in directives for want in self.wants(directive))
        defined: set[str] = set()
        shown: list[Row] = []
        rendered: list[str] = []

        def render(directive: Directive) -> str:
            for line, message in directive.problems:
                log.warning(f"{_where(page, line)}: {message}")
            rows = self._rows(directive, page)
            shown.extend(rows)
            rendered.append(render_digest(rows, math=math, defined=defined))
            return rendered[-1]

        result = replace_directives(markdown, directives, render)
        self._store_page(key, rendered, directives, shown)
        return result

    @staticmethod
    def _servable(stored: RenderedPage, directives: list[Directive], math: bool) -> bool:
        """A stored render fits the page and has only the digest's form (the cache is input too)."""
        if len(stored.blocks) == len(directives) and all(is_digest_markdown(b, math=math) for b in stored.blocks):
            return True
        log.warning("Cache: refused a stored page render that is not digest Markdown; rendering it again")
        return False

    def _store_page(self, key: str, blocks: list[str], directives: list[Directive], rows: list[Row]) -> None:
        """Keep a page's render for warm builds, if it is complete: nothing degraded is stored."""
        complete = all(row.digest is not None and row.requested not in self._stale for row in rows)
        if not complete or any(directive.problems for directive in directives):
            return
        wants = list(dict.fromkeys(want for directive in directives for want in self.wants(directive)))
        fetched = min((self._fetched[want.id] for want in wants if want.id in self._fetched), default=None)
        page = RenderedPage(tuple(blocks), tuple((*want.id, want.language, want.model) for want in wants), fetched)
        self.cache.put_page(key, page)

    def _rows(self, directive: Directive, page: str | None) -> list[Row]:
        rows: list[Row] = []
        seen: dict[ArxivId, int] = {}
        for want, (_, line) in zip(self.wants(directive), directive.ids, strict=False):
            if want.id in seen:
                log.info(f"{_where(page, line)}: {want.id} is already listed on line {seen[want.id]}; shown once")
                continue
            seen[want.id] = line
            row = self.row(want)
            self.stats.rendered[want] = row.digest is not None
            problem = self.problem(want)
            if problem:
                log.warning(f"{_where(page, line)}: {want.id}: {problem}")
            rows.append(row)
        return rows

    def problem(self, want: Want) -> str | None:
        """Why a paper is incomplete, if it is and was not already reported for the whole build."""
        if want.id not in self.papers:
            return self.paper_errors.get(want.id, "no metadata")
        # An empty error (no API key, offline) was reported once for the whole build.
        return self.digest_errors.get(want) or None

    # -- resolve ------------------------------------------------------------------

    def resolve(self, wants: Iterable[Want], *, progress: Callable[[int, int], None] | None = None) -> None:
        """Make metadata and digests of ``wants`` available, from wherever they are.

        ``progress(done, total)`` is called as each generated digest completes.
        """
        pending: dict[ArxivId, list[Want]] = {}
        for want in wants:
            if self.row(want).digest is None and want not in self.digest_errors:
                pending.setdefault(want.id, []).append(want)
        if not pending:
            return  # the common case when pages render after the site-wide prefetch
        to_fetch: list[ArxivId] = []
        stale: dict[ArxivId, Paper] = {}
        unknown = [i for i in pending if i not in self.papers and i not in self.paper_errors]
        now = time.time()
        pinned = {i: paper for i in unknown if (paper := self.snapshot.paper(i)) is not None}
        cached = self.cache.get_papers(i for i in unknown if i not in pinned)
        for arxiv_id in unknown:
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
        with _Generator(self, progress) as generator:
            generator.submit([want for arxiv_id in pending if arxiv_id in self.papers for want in pending[arxiv_id]])
            for arxiv_id in self._fetch_papers(to_fetch, stale):
                generator.submit(pending[arxiv_id])

    def _fetch_papers(self, ids: list[ArxivId], stale: dict[ArxivId, Paper]) -> Iterable[ArxivId]:
        """Fetch metadata; yield each ID as soon as it is known (fetched or stale)."""
        if not ids:
            return
        if self.settings.offline:
            for arxiv_id in ids:
                yield from self._fall_back(arxiv_id, stale, "not in the snapshot or the cache, and `offline` is on")
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
                self.paper_errors[arxiv_id] = f"arXiv has no paper {arxiv_id} (check the identifier)"
            if batch.error is not None:
                for arxiv_id in batch.ids:
                    yield from self._fall_back(arxiv_id, stale, str(batch.error))
        self.stats.arxiv_requests += source.requests - before

    def _fall_back(self, arxiv_id: ArxivId, stale: dict[ArxivId, Paper], reason: str) -> Iterable[ArxivId]:
        if arxiv_id in stale:
            log.info(f"{arxiv_id}: {reason}; using cached metadata")
            self.papers[arxiv_id] = stale[arxiv_id]
            self._stale.add(arxiv_id)
            yield arxiv_id
        else:
            self.paper_errors[arxiv_id] = reason

    def _arxiv(self) -> arxiv_source.ArxivSource:
        if self._source is None:
            settings = self.settings
            client = arxiv_source.make_client(
                settings.arxiv_api_url, timeout=settings.timeout, delay=settings.arxiv_delay
            )
            self._source = arxiv_source.ArxivSource(client, retries=settings.retries)
        return self._source

    def summarizer(self) -> llm.Summarizer:
        """The build's summarizer, made on first need; raises `MissingApiKeyError`."""
        if self._summarizer is None:
            self._summarizer = self._summarizer_factory(self.settings)
        return self._summarizer

    def digest_key(self, want: Want) -> str:
        """The cache key of a paper's digest; its metadata must be known (and is then fixed)."""
        key = self._keys.get(want)
        if key is None:
            key = self._keys[want] = llm.digest_key(self.papers[want.id], want.language, want.model)
        return key

    def load_digests(self, wants: list[Want]) -> None:
        """Digests of ``wants`` (whose papers are known) from the snapshot or the cache — never the network."""
        keys = {want: self.digest_key(want) for want in wants}
        missing: list[str] = []
        for want, key in keys.items():
            if key not in self.digests:
                pinned = self.snapshot.digest(self.papers[want.id], want.language)
                if pinned is not None:
                    self.digests[key] = pinned
                else:
                    missing.append(key)
        self.digests.update(self.cache.get_digests(missing))


class _Generator:
    """Digests for papers whose metadata is known, `concurrency` requests at a time.

    Each worker caches its result the moment it is valid, so a build killed half-way
    keeps every digest it completed.
    """

    def __init__(self, pipeline: Pipeline, progress: Callable[[int, int], None] | None) -> None:
        self.pipeline = pipeline
        self.progress = progress
        self.executor: ThreadPoolExecutor | None = None
        self.submitted: dict[Want, Future[None]] = {}
        self.unavailable = False
        self.lock = threading.Lock()

    def __enter__(self) -> _Generator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.executor is None:
            return
        total, last = len(self.submitted), time.monotonic()
        for done, _ in enumerate(as_completed(self.submitted.values()), start=1):
            if self.progress is not None:
                self.progress(done, total)
            elif done % PROGRESS_PAPERS == 0 or time.monotonic() - last > PROGRESS_SECONDS:
                last = time.monotonic()
                log.info(f"Summarized {done}/{total} papers")
        self.executor.shutdown()

    def submit(self, wants: list[Want]) -> None:
        pipeline = self.pipeline
        pipeline.load_digests(wants)
        for want in wants:
            if want in self.submitted or want in pipeline.digest_errors:
                continue
            paper = pipeline.papers[want.id]
            if pipeline.digest_key(want) in pipeline.digests:
                continue
            summarizer = self._summarizer()
            if summarizer is None:
                pipeline.digest_errors[want] = ""  # reported once, not per paper
                continue
            if self.executor is None:
                self.executor = ThreadPoolExecutor(pipeline.settings.concurrency, thread_name_prefix="arxiv-digest")
            self.submitted[want] = self.executor.submit(self._generate, summarizer, want, paper)

    def _generate(self, summarizer: llm.Summarizer, want: Want, paper: Paper) -> None:
        pipeline = self.pipeline
        try:
            digest = summarizer.summarize(paper, want.language)
        except DigestError as error:
            with self.lock:
                pipeline.digest_errors[want] = f"no summary: {error}"
            return
        key = pipeline.digest_key(want)
        pipeline.cache.put_digest(key, digest)
        with self.lock:
            pipeline.digests[key] = digest
            pipeline.stats.generated.add(want)

    def _summarizer(self) -> llm.Summarizer | None:
        if self.unavailable:
            return None
        if self.pipeline.settings.offline:
            self.unavailable = True
            log.warning(
                "Some summaries are in neither the snapshot nor the cache and `offline` is on: "
                "those papers are shown without generated text"
            )
            return None
        try:
            return self.pipeline.summarizer()
        except MissingApiKeyError as error:
            self.unavailable = True
            log.warning(str(error))
            return None


def _where(page: str | None, line: int) -> str:
    """``page.md:12`` for warnings; ``line 12`` where the page is not known (Python-Markdown)."""
    return f"{page}:{line}" if page else f"line {line}"


def _default_summarizer(settings: Settings) -> llm.Summarizer:
    client = llm.make_client(base_url=settings.base_url, timeout=settings.timeout, retries=settings.retries)
    return llm.Summarizer(client, model=settings.model, retries=settings.retries)


def file_stamp(path: Path | None) -> tuple[int, int] | None:
    """When and how big a file was last written (None if there is none)."""
    try:
        stat = path.stat() if path is not None else None
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size) if stat else None


def _file_hash(path: Path | None) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path is not None else ""
    except OSError:
        return ""


def _load_snapshot(path: Path | None) -> Snapshot:
    return load_snapshot(path) if path is not None else Snapshot()
