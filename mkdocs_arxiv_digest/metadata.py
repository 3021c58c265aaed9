"""Paper metadata for a build: snapshot → cache → arXiv.

Metadata of an unversioned ID is asked for again once it is `refresh_days` old; when
arXiv cannot be asked, the stale copy is served (and the page that shows it is not
stored whole). Versioned IDs never change; snapshot entries never expire.
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
    from mkdocs_arxiv_digest.snapshot import Snapshot

OFFLINE = "not in the snapshot or the cache, and `offline` is on"


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
        return to_fetch, stale

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
            for arxiv_id, paper in batch.papers.items():
                self.cache.put_paper(arxiv_id, paper)
                self.papers[arxiv_id] = paper
                if arxiv_id.version is None:
                    self._fetched[arxiv_id] = time.time()
                yield arxiv_id
            for arxiv_id in batch.missing:
                build.paper_failures[arxiv_id] = Failure(
                    f"arXiv has no paper {arxiv_id} (check the identifier)", kind="unknown-id"
                )
            if batch.error is not None:
                for arxiv_id in batch.ids:
                    yield from self._fall_back(build, arxiv_id, stale, str(batch.error))
        build.arxiv_requests += source.requests - before

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
            self._source = arxiv_source.ArxivSource(client, retries=settings.retries)
        return self._source
