"""Paper metadata for a build: snapshot → cache → arXiv.

Metadata of an unversioned ID is asked for again once it is `refresh_days` old; when
arXiv cannot be asked, the stale copy is served (and the page that shows it is not
stored whole). Versioned IDs never change; snapshot entries never expire.

An ID arXiv has no paper for is remembered (an ``unknown`` cache row) for `unknown_days`,
so rebuilds do not ask again, and is a failure at every build, so `--strict` still fails.
A paper known before (a stale copy) is never declared unknown: arXiv never deletes a
paper, and since 2026 it sometimes answers valid IDs with nothing; the copy is served.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from mkdocs_arxiv_digest.build import Build
from mkdocs_arxiv_digest.cache import Cache
from mkdocs_arxiv_digest.config import Settings
from mkdocs_arxiv_digest.errors import log
from mkdocs_arxiv_digest.ids import ArxivId
from mkdocs_arxiv_digest.models import Failure, Paper

if TYPE_CHECKING:
    from mkdocs_arxiv_digest.arxiv_source import ArxivSource
    from mkdocs_arxiv_digest.queries import Found, Query
    from mkdocs_arxiv_digest.snapshot import Snapshot

OFFLINE = "not in the snapshot or the cache, and `offline` is on"
UNKNOWN = "unknown"
"""Cache rows of IDs arXiv has no paper for: when it said so."""


def not_on_arxiv(settings: Settings) -> Failure:
    """The failure of an ID arXiv has no paper for; one reason for all, so many are one warning."""
    days = settings.unknown_days
    memory = f"arXiv is asked again after {days:g} day{'s' if days != 1 else ''}, or at once with `unknown_days: 0`"
    return Failure(
        f"arXiv has no paper with this identifier (check it; {memory})", kind="unknown-id", not_on_arxiv=True
    )


class Metadata:
    """What is known of papers this build, and why not where it is not."""

    def __init__(
        self,
        settings: Settings,
        cache: Cache,
        snapshot: Snapshot | Callable[[], Snapshot],
        *,
        source: ArxivSource | None,
    ) -> None:
        self.settings = settings
        self.cache = cache
        self._snapshot = snapshot
        self.papers: dict[ArxivId, Paper] = {}
        """Every paper known, whichever build resolved it (per-build state is in `Build`)."""
        self._source = source
        self._fetched: dict[ArxivId, float] = {}
        """When metadata of an unversioned ID was fetched."""

    @property
    def snapshot(self) -> Snapshot:
        """The snapshot; given as a function that makes it, made on first need (a build that resolves nothing needs none)."""
        if callable(self._snapshot):
            self._snapshot = self._snapshot()
        return self._snapshot

    def use_snapshot(self, snapshot: Snapshot | Callable[[], Snapshot]) -> None:
        """Serve from a new (edited) snapshot: forget every paper, as some came from the old one."""
        self._snapshot = snapshot
        self.papers.clear()

    def new_build(self) -> None:
        """A build begins: arXiv's spacing, widened after a 429 for the rest of a build, is reset."""
        if self._source is not None:
            self._source.begin_build()

    def failure(self, build: Build, arxiv_id: ArxivId) -> Failure:
        return build.paper_failures.get(arxiv_id, Failure("no metadata"))

    def is_fresh(self, build: Build, arxiv_id: ArxivId) -> bool:
        """Whether the paper's metadata is not a stale copy served because arXiv was down."""
        return arxiv_id not in build.stale

    def fetched_at(self, arxiv_id: ArxivId) -> float | None:
        """When an unversioned ID's metadata was fetched; None when it never expires."""
        return self._fetched.get(arxiv_id)

    def load_local(self, build: Build, ids: list[ArxivId]) -> tuple[list[ArxivId], dict[ArxivId, Paper]]:
        """Take metadata from the snapshot or the cache; return what must be fetched, and stale copies."""
        ids = [i for i in ids if i not in self.papers and i not in build.paper_failures]
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
        known_unknown = self._remembered_unknown([i for i in to_fetch if i not in stale], now)
        for arxiv_id in known_unknown:
            build.paper_failures[arxiv_id] = not_on_arxiv(self.settings)
        return [i for i in to_fetch if i not in known_unknown], stale

    def _remembered_unknown(self, ids: list[ArxivId], now: float) -> set[ArxivId]:
        """The IDs arXiv said it has no paper for, less than `unknown_days` ago."""
        if not ids or self.settings.unknown_days <= 0:
            return set()
        said = self.cache.get_records(UNKNOWN, ids, lambda data: float(data["checked"]))
        return {i for i, at in said.items() if 0 <= now - at < self.settings.unknown_days * 86400}

    def fetch(self, build: Build, ids: list[ArxivId], stale: dict[ArxivId, Paper]) -> Iterator[ArxivId]:
        """Fetch metadata; yield each ID as soon as it is known (fetched, or a stale copy)."""
        if not ids:
            return
        if self.settings.offline:
            for arxiv_id in ids:
                yield from self._fall_back(build, arxiv_id, stale, OFFLINE, kind="offline")
            return
        source = self.source()
        before = source.requests
        for batch in source.fetch_batches(ids):
            for arxiv_id, fetched in batch.papers.items():
                paper = as_text(fetched)
                self.cache.put_paper(arxiv_id, paper)
                self.papers[arxiv_id] = paper
                if arxiv_id.version is None:
                    self._fetched[arxiv_id] = time.time()
                yield arxiv_id
            for arxiv_id, problem in batch.problems.items():
                log.warning(f"{arxiv_id}: {problem}")
            for arxiv_id in batch.missing:
                if arxiv_id in stale:  # known before: arXiv's silence is not news of its absence
                    yield from self._fall_back(build, arxiv_id, stale, "arXiv's reply did not include it")
                    continue
                build.paper_failures[arxiv_id] = not_on_arxiv(self.settings)
                self.cache.put_record(UNKNOWN, str(arxiv_id), {"checked": time.time()})
            for arxiv_id, reason in batch.unreadable.items():
                yield from self._fall_back(build, arxiv_id, stale, reason)
            if batch.error is not None:
                for arxiv_id in batch.ids:
                    yield from self._fall_back(build, arxiv_id, stale, str(batch.error))
        build.arxiv_requests += source.requests - before

    def search(self, build: Build, query: Query) -> Found:
        """Run ``query`` on arXiv; the papers found are kept as if fetched by ID (their metadata is in the reply).

        So a query's papers cost no `id_list` request after the search.
        """
        from mkdocs_arxiv_digest.queries import SORTS, Found

        if self.settings.offline:
            return Found(error="`offline` is on")
        source = self.source()
        before = source.requests
        try:
            result = source.search(query.text, max_results=query.max, sort_by=SORTS[query.sort])
        finally:
            build.arxiv_requests += source.requests - before
        for problem in result.problems:
            log.warning(problem)
        papers: list[Paper] = []
        now = time.time()
        for fetched in result.papers:
            paper = as_text(fetched)
            arxiv_id = ArxivId(paper.id)
            self.cache.put_paper(arxiv_id, paper)
            if self.snapshot.paper(arxiv_id) is None:  # a pinned entry still wins (a person's corrections)
                self.papers[arxiv_id] = paper
                self._fetched[arxiv_id] = now
                build.paper_failures.pop(arxiv_id, None)
            papers.append(paper)
        return Found(papers, rejected=result.rejected, error=result.error)

    def _fall_back(
        self, build: Build, arxiv_id: ArxivId, stale: dict[ArxivId, Paper], reason: str, *, kind: str = "unavailable"
    ) -> Iterator[ArxivId]:
        if arxiv_id in stale:
            log.info(f"{arxiv_id}: {reason}; using cached metadata")
            self.papers[arxiv_id] = stale[arxiv_id]
            build.stale.add(arxiv_id)
            yield arxiv_id
        else:
            build.paper_failures[arxiv_id] = Failure(reason, kind=kind)

    def source(self) -> ArxivSource:
        """The build's arXiv client, made on first need (importing it costs a warm build nothing)."""
        if self._source is None:
            from mkdocs_arxiv_digest import arxiv_source

            settings = self.settings
            client = arxiv_source.make_client(
                settings.arxiv_api_url, timeout=settings.timeout, delay=settings.arxiv_delay
            )
            self._source = arxiv_source.ArxivSource(client, retries=settings.retries, max_wait=settings.timeout)
        return self._source


def as_text(paper: Paper) -> Paper:
    """``paper`` with the text-mode TeX of its title and abstract as text (`\\emph{x}`, ``` ``x'' ```,
    `\\%`), math spans kept: converted once, as it arrives, so the cache, the snapshot, the
    checks, the model and every page see the same text (issue 19.13)."""
    from mkdocs_arxiv_digest.textmode import tex_text_to_unicode

    title, abstract = tex_text_to_unicode(paper.title), tex_text_to_unicode(paper.abstract)
    if (title, abstract) == (paper.title, paper.abstract):
        return paper
    return paper._replace(title=title, abstract=abstract)
