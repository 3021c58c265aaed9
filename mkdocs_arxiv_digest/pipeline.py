"""The façade, the only door into the build for every front end: begin a build, scan and
prefetch a site, resolve papers, render a page, report, close.

It owns the collaborators of one site's settings — the cache, the snapshot file, the
`Resolver` (snapshot → cache → network), the `PageCache` and `PageRenderer`, the page
scan — and the current `Build`, which it passes down to them. Front ends (plugin,
Markdown extension, command line, Sphinx) use its methods and the records (config,
errors, models, ids) and nothing else of the build (a test reads their imports).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mkdocs_arxiv_digest.build import Build
from mkdocs_arxiv_digest.cache import Cache
from mkdocs_arxiv_digest.config import Settings
from mkdocs_arxiv_digest.errors import log
from mkdocs_arxiv_digest.keys import file_hash
from mkdocs_arxiv_digest.models import DigestRequest, Failure, Row, ScannedPage
from mkdocs_arxiv_digest.resolver import Progress, Resolver
from mkdocs_arxiv_digest.scan import file_stamp

if TYPE_CHECKING:
    from mkdocs.structure.files import Files

    from mkdocs_arxiv_digest.arxiv_source import ArxivSource
    from mkdocs_arxiv_digest.batch_lines import Report as BatchReport
    from mkdocs_arxiv_digest.directive import Directive
    from mkdocs_arxiv_digest.fragments import Fragments
    from mkdocs_arxiv_digest.llm import Summarizer
    from mkdocs_arxiv_digest.page_renderer import PageRenderer
    from mkdocs_arxiv_digest.postprocess import FragmentsExtension
    from mkdocs_arxiv_digest.queries import Query, QueryPins, Rerun
    from mkdocs_arxiv_digest.scan import PageScanner
    from mkdocs_arxiv_digest.snapshot import Snapshot


class Pipeline:
    """Collect → resolve → render for one site, with IO behind replaceable collaborators."""

    def __init__(
        self,
        settings: Settings,
        *,
        source: ArxivSource | None = None,
        summarizer_factory: Callable[[Settings], Summarizer] | None = None,
    ) -> None:
        self.settings = settings
        self.cache = Cache(settings.cache_dir)
        self._snapshot_stamp = file_stamp(settings.snapshot)
        self._snapshot_hash = file_hash(settings.snapshot)
        snapshot = _load_snapshot(settings.snapshot)
        self.resolver = Resolver(settings, self.cache, snapshot, source=source, summarizer_factory=summarizer_factory)
        self._renderer: PageRenderer | None = None
        self._scanner: PageScanner | None = None
        self._queries: QueryPins | None = None
        self.build = Build(snapshot_hash=self._snapshot_hash)
        """The current build: `begin_build` makes a new one (a host that never calls it has one)."""

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def renderer(self) -> PageRenderer:
        """Pages' directives and their renders, made on first need (`arxiv-digest render` has no pages)."""
        if self._renderer is None:
            from mkdocs_arxiv_digest.page_cache import PageCache
            from mkdocs_arxiv_digest.page_renderer import PageRenderer

            page_cache = PageCache(self.cache, self.settings)
            self._renderer = PageRenderer(self.settings, self.resolver, page_cache, self.pin_queries)
        return self._renderer

    @property
    def queries(self) -> QueryPins:
        """Query blocks' pins, made on first need (a site without query blocks makes none)."""
        if self._queries is None:
            from mkdocs_arxiv_digest.queries import QueryPins

            self._queries = QueryPins(self.settings, self.cache, self.resolver.metadata)
        return self._queries

    def pin_queries(self, build: Build, directives: list[Directive], page: str | None = None) -> None:
        """Give the query blocks among ``directives`` their pinned IDs, running a query that has no pin yet
        (or is due, or forced): before any of their papers is resolved, so they are resolved with the rest."""
        if any(directive.query is not None for directive in directives):
            self.queries.pin(build, directives, page)

    def pin(self, directives: list[Directive], page: str | None = None) -> None:
        """`pin_queries` in this build: for front ends that read blocks themselves (Sphinx)."""
        self.pin_queries(self.build, directives, page)

    def refresh_queries(
        self, pages: Iterable[ScannedPage], *, text: str | None = None, page: str | None = None
    ) -> list[tuple[str, Rerun]]:
        """Run again the query blocks of ``pages`` (those of ``text``, or of ``page``, if given) and pin their results.

        A query already run by this pipeline (it had no pin) is not run twice. Each, with
        the first page that shows it, and its pin before and after.
        """
        from mkdocs_arxiv_digest.queries import normalized

        wanted = normalized(text) if text is not None else None
        done: dict[str, tuple[str, Rerun]] = {}
        for where, query in self._queries_on(pages):
            if (wanted is not None and query.text != wanted) or (page is not None and where != page):
                continue
            if query.key in done:
                continue
            rerun = self.queries.reruns.get(query.key)
            if rerun is None:
                self.queries.run(self.build, query, self.queries.lookup(query))
                rerun = self.queries.reruns[query.key]
            done[query.key] = (where, rerun)
        return list(done.values())

    def _queries_on(self, pages: Iterable[ScannedPage]) -> list[tuple[str, Query]]:
        found: list[tuple[str, Query]] = []
        for scanned in pages:
            if scanned.markdown is not None:
                directives = self.renderer.directives(self.build, scanned.markdown)
                found += [(scanned.page, d.query) for d in directives if d.query is not None]
            else:  # a Sphinx document: its scan said which queries it has
                found += [(scanned.page, query) for query in self.queries.by_page.get(scanned.page, [])]
        return found

    def titles(self, ids: Iterable[str]) -> dict[str, str]:
        """The titles of papers (for messages): from the snapshot, the cache, else arXiv (unless offline)."""
        from mkdocs_arxiv_digest.ids import ArxivId

        metadata, wanted = self.resolver.metadata, [ArxivId(arxiv_id) for arxiv_id in dict.fromkeys(ids)]
        to_fetch, stale = metadata.load_local(self.build, wanted)
        for _arxiv_id in metadata.fetch(self.build, to_fetch, stale):
            pass
        return {str(arxiv_id): paper.title for arxiv_id in wanted if (paper := metadata.papers.get(arxiv_id))}

    def begin_build(self) -> None:
        """Begin a build: a new `Build`, so this build's failures are retried and its counts start at 0.

        What resolved is kept. An edited snapshot (a corrected translation, under `mkdocs
        serve`) is read again, and what was resolved from the old one is forgotten.
        """
        log.forget()
        stamp = file_stamp(self.settings.snapshot)
        if stamp != self._snapshot_stamp:
            self._snapshot_stamp = stamp
            self._snapshot_hash = file_hash(self.settings.snapshot)
            self.resolver.use_snapshot(_load_snapshot(self.settings.snapshot))
            if self._queries is not None:
                self._queries.forget()
                self._scanner = None  # pages' query blocks may show other papers now: scan them again
        self.build = Build(snapshot_hash=self._snapshot_hash, usage_at_start=self.resolver.usage_counts())
        self.resolver.metadata.new_build()

    def scan(self, files: Files) -> list[ScannedPage]:
        """What every documentation page of an MkDocs site asks for (pages unchanged since the last scan are not read again)."""
        if self._scanner is None:
            from mkdocs_arxiv_digest.scan import PageScanner

            self._scanner = PageScanner(lambda markdown: self.renderer.requests_in(self.build, markdown))
        return self._scanner.scan(files)

    def requests_in(self, markdown: str, language: str) -> list[DigestRequest]:
        """Every paper a page's Markdown asks for when it is shown in ``language`` (a block's own `language:` wins)."""
        return self.renderer.requests_in(self.build, markdown, language)

    def prefetch(self, pages: Iterable[ScannedPage]) -> None:
        """Resolve, site-wide and at once, every paper the pages ask for.

        A page whose complete render is stored needs none of its papers resolved.
        """
        build, page_cache = self.build, self.renderer.page_cache
        keyed = [
            (
                page_cache.key(build, page.markdown, self.renderer.directives(build, page.markdown))
                if page.markdown is not None
                else None,
                page,
            )
            for page in pages
        ]
        stored = page_cache.preload(build, (key for key, page in keyed if key is not None and page.requests))
        self.resolver.resolve(build, (request for key, page in keyed if key not in stored for request in page.requests))

    def resolve(self, requests: Iterable[DigestRequest], *, progress: Progress | None = None) -> None:
        """Make metadata and digests of ``requests`` available; ``progress(done, total)`` per digest made."""
        self.resolver.resolve(self.build, requests, progress=progress)

    def prefetch_batch(
        self,
        requests: Iterable[DigestRequest],
        *,
        poll: float,
        wait: bool,
        progress: Callable[[int, int, int], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> BatchReport:
        """Every missing digest of ``requests`` through the provider's Batch API (`batch`); what it came to.

        Raises `BatchError` when the Batch API cannot be used, `MissingApiKeyError` without a key.
        """
        from mkdocs_arxiv_digest import batch, llm
        from mkdocs_arxiv_digest.batch_lines import BatchError

        if self.settings.offline:
            raise BatchError("`offline` is on: no batch can be submitted")
        settings = self.settings
        client = llm.make_client(
            base_url=settings.base_url,
            timeout=max(settings.timeout, batch.FILE_TIMEOUT),
            retries=settings.retries,
            max_reply_bytes=batch.MAX_FILE_BYTES,
        )
        return batch.prefetch_batch(
            self.resolver,
            self.build,
            requests,
            client,
            shape=self.resolver.request_shape(),
            poll=poll,
            wait=wait,
            retry=lambda again: self.resolver.resolve(self.build, again),
            progress=progress,
            sleep=sleep,
        )

    def export_batch(self, requests: Iterable[DigestRequest], path: Path) -> tuple[list[Path], int]:
        """Write the requests of every missing digest as Batch API JSONL; the files written, and how many were settled."""
        from mkdocs_arxiv_digest import batch_lines

        parts, settled = batch_lines.export_batch(
            self.resolver, self.build, requests, path, shape=self.resolver.request_shape()
        )
        return [part.path for part in parts], settled

    def ingest_batch(self, requests: Iterable[DigestRequest], paths: Iterable[Path]) -> BatchReport:
        """Check and cache the replies of Batch API results files against the site's papers."""
        from mkdocs_arxiv_digest import batch_lines

        return batch_lines.ingest_batch(self.resolver, self.build, requests, paths)

    def row(self, request: DigestRequest) -> Row:
        """What is known of a paper now: metadata and digest, or less."""
        return self.resolver.row(request, self.build)

    def failure(self, request: DigestRequest) -> Failure:
        """Why a paper is incomplete this build (ask only when it is)."""
        return self.resolver.failure(self.build, request)

    def render_page(self, markdown: str, page: str | None, fragments: Fragments | None = None) -> str:
        """The page with every directive replaced by its digest (resolving what is missing).

        Untrusted text is left out of the Markdown, as tokens of ``fragments`` (by default
        the build's, which `markdown_extension` turns into HTML once the page is converted).
        """
        return self.renderer.render_page(self.build, markdown, page, fragments or self.build.fragments)

    def markdown_extension(self) -> FragmentsExtension:
        """The Python-Markdown extension that puts this build's digest text into the converted pages."""
        from mkdocs_arxiv_digest.postprocess import FragmentsExtension

        return FragmentsExtension(self.build.fragments)

    def note_shown(self, requests: Iterable[DigestRequest], page: str | None = None) -> None:
        """Count papers another renderer shows (Sphinx's nodes) in the build summary.

        With ``page``, those incomplete are also noted for `report` (the command line,
        which renders no Sphinx page; a Sphinx build warns from its directives itself).
        """
        self.renderer.note_shown(self.build, requests, page)

    @property
    def shown(self) -> Mapping[DigestRequest, bool]:
        """Each paper shown this build, and whether it was shown complete."""
        return self.build.shown

    def due_again(self, rows: Iterable[Row]) -> float | None:
        """When a page showing ``rows`` should be rendered again (epoch seconds), if ever.

        0 for an incomplete digest or stale metadata (the next build); else when the
        earliest unversioned paper's metadata is due a refresh.
        """
        metadata, build = self.resolver.metadata, self.build
        rows = list(rows)
        due = [0.0 for row in rows if row.digest is None or not metadata.is_fresh(build, row.requested)]
        due += [at + self.settings.refresh_days * 86400 for row in rows if (at := metadata.fetched_at(row.requested))]
        return min(due, default=None)

    def report(self) -> None:
        """Warn about every paper shown incomplete since the last report, naming page, line and ID."""
        self.renderer.report(self.build)

    def end_build(self) -> None:
        """Report the papers shown incomplete, then the build's one-line summary."""
        self.report()
        if self.build.shown:
            log.info(self.summary_line())

    def summary_line(self) -> str:
        """One line for the end of a build: papers, from the snapshot, cached, generated, failed (held back), requests, tokens."""
        build = self.build
        shown = build.shown
        complete = {request for request, ok in shown.items() if ok}
        generated = len(complete & build.generated)
        batched = len(complete & build.batched - build.generated)
        pinned = len({request for request in complete - build.generated - build.batched if self._pinned(request)})
        usage = self.resolver.usage(build)
        tokens = ""
        if usage is not None:
            tokens = f"; {usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens"
            if usage.rejected_tokens:
                tokens += f", {usage.rejected_tokens} of them on rejected replies"
        if build.batch_usage is not None:
            batch = build.batch_usage
            tokens += (
                f"; batch: {_count(batch.requests, 'request')}, {batch.prompt_tokens} prompt + "
                f"{batch.completion_tokens} completion tokens at batch pricing"
            )
        snapshot = f"{pinned} from the snapshot, " if pinned else ""
        held_back = len(build.held_back & shown.keys())  # not asked: their replies were just rejected
        failed = f"{len(shown) - len(complete)} failed" + (f", {held_back} held back" if held_back else "")
        return (
            f"{_count(len(shown), 'paper')}: {snapshot}{len(complete) - generated - batched - pinned} cached, "
            f"{generated} generated, "
            + (f"{batched} by batch, " if build.batch_usage is not None else "")
            + f"{failed}; "
            f"{_count(build.arxiv_requests, 'arXiv request')}{tokens}"
        )

    def _pinned(self, request: DigestRequest) -> bool:
        """Whether the snapshot holds the paper's digest: it wins over the cache, so it is what was shown."""
        if self.settings.snapshot is None:
            return False  # no snapshot to ask (nor its module to import)
        snapshot = self.resolver.metadata.snapshot
        paper = snapshot.paper(request.id)
        return paper is not None and snapshot.digest(paper, request.language) is not None

    @property
    def cache_directory(self) -> Path:
        """Where the site's cache is."""
        return self.cache.directory

    def close(self) -> None:
        self.cache.close()


def _count(number: int, noun: str) -> str:
    """``1 paper``, ``2 papers``, ``0 papers``: the build's counts read as English."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _load_snapshot(path: Path | None) -> Snapshot | Callable[[], Snapshot]:
    """The site's snapshot, read now, so that a malformed one fails the build at its start.

    A site without one gets a function that makes an empty one, called if a paper is
    ever looked up: a build that serves stored pages does not import the snapshot module.
    """
    if path is None:
        return _empty_snapshot
    from mkdocs_arxiv_digest.snapshot import load_snapshot

    return load_snapshot(path)


def _empty_snapshot() -> Snapshot:
    from mkdocs_arxiv_digest.snapshot import Snapshot

    return Snapshot()
