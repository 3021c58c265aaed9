"""The façade every front end uses: begin a build, prefetch a site, render a page, close.

It owns the collaborators of one site's settings — the cache, the snapshot file, the
`Resolver` (snapshot → cache → network) and the `PageRenderer` — and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from mkdocs_arxiv_digest.cache import Cache
from mkdocs_arxiv_digest.config import Settings
from mkdocs_arxiv_digest.errors import log
from mkdocs_arxiv_digest.keys import file_hash
from mkdocs_arxiv_digest.models import ScannedPage
from mkdocs_arxiv_digest.page_cache import PageCache
from mkdocs_arxiv_digest.page_renderer import PageRenderer
from mkdocs_arxiv_digest.resolver import Resolver
from mkdocs_arxiv_digest.scan import file_stamp

if TYPE_CHECKING:
    from mkdocs_arxiv_digest.arxiv_source import ArxivSource
    from mkdocs_arxiv_digest.llm import Summarizer
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
        snapshot = _load_snapshot(settings.snapshot)
        self.resolver = Resolver(settings, self.cache, snapshot, source=source, summarizer_factory=summarizer_factory)
        self.pages = PageCache(self.cache, settings)
        self.pages.begin_build(file_hash(settings.snapshot))
        self.renderer = PageRenderer(settings, self.resolver, self.pages)

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def begin_build(self) -> None:
        """Forget this build's failures (they are retried) and counts; keep what resolved.

        An edited snapshot (a corrected translation, under `mkdocs serve`) is read again,
        and what was resolved from the old one is forgotten.
        """
        log.forget()
        stamp = file_stamp(self.settings.snapshot)
        changed = stamp != self._snapshot_stamp
        self._snapshot_stamp = stamp
        self.resolver.begin_build(_load_snapshot(self.settings.snapshot) if changed else None)
        self.pages.begin_build(file_hash(self.settings.snapshot) if changed else self.pages.snapshot_hash)
        self.renderer.begin_build()

    def prefetch(self, pages: Iterable[ScannedPage], *, math: bool = False) -> None:
        """Resolve, site-wide and at once, every paper the pages ask for.

        A page whose complete render is stored needs none of its papers resolved.
        """
        keyed = [(self.pages.key(page.markdown, math) if page.markdown is not None else None, page) for page in pages]
        stored = self.pages.preload(key for key, page in keyed if key is not None and page.requests)
        self.resolver.resolve(request for key, page in keyed if key not in stored for request in page.requests)

    def render_page(self, markdown: str, page: str | None, *, math: bool = False) -> str:
        """The page with every directive replaced by its digest (resolving what is missing)."""
        return self.renderer.render(markdown, page, math=math)

    def end_build(self) -> None:
        """Report the papers shown incomplete, then the build's one-line summary."""
        self.renderer.report()
        if self.renderer.shown:
            log.info(self.summary_line())

    def summary_line(self) -> str:
        """One line for the end of a build: papers, cached, generated, failed, requests, tokens."""
        shown = self.renderer.shown
        complete = {request for request, ok in shown.items() if ok}
        generated = len(complete & self.resolver.generated)
        usage = self.resolver.usage()
        tokens = ""
        if usage is not None:
            tokens = f"; {usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens"
            if usage.rejected_tokens:
                tokens += f", {usage.rejected_tokens} of them on rejected replies"
        return (
            f"{len(shown)} papers: {len(complete) - generated} cached, {generated} generated, "
            f"{len(shown) - len(complete)} failed; {self.resolver.metadata.requests} arXiv requests{tokens}"
        )

    def close(self) -> None:
        self.cache.close()


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
