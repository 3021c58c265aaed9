"""Rendered pages: a page whose digests all rendered complete is stored as its blocks' layouts.

A warm build then reads one row per page and renders nothing. The key is a hash of
everything that shapes the render (the page's source, the settings, the snapshot's
content, the plugin and prompt versions). A stored page is served only while its
unversioned papers are not due a refresh, and only after a check that it still has the
digest's Markdown form: the cache is input too, and a tampered row is refused.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from mkdocs_arxiv_digest.build import Build
from mkdocs_arxiv_digest.cache import Cache
from mkdocs_arxiv_digest.config import Settings
from mkdocs_arxiv_digest.errors import log
from mkdocs_arxiv_digest.keys import page_key
from mkdocs_arxiv_digest.layout import DigestLayout
from mkdocs_arxiv_digest.models import DigestRequest

if TYPE_CHECKING:
    from mkdocs_arxiv_digest.directive import Directive


class RenderedPage(NamedTuple):
    """A page's directives rendered complete, so a warm build need not render them again."""

    blocks: tuple[DigestLayout, ...]
    """Each directive's rendered digest, in page order (the page around them is not stored)."""
    wants: tuple[tuple[str, int | None, str, str], ...]
    """(ID, version, language, model) of each paper shown, for the build summary."""
    fetched: float | None
    """When the page's unversioned papers' metadata was fetched, the earliest (epoch seconds);
    None if they are all versioned or pinned, and never due a refresh."""

    def to_json(self) -> dict[str, Any]:
        return {
            "blocks": [block.to_json() for block in self.blocks],
            "wants": [list(want) for want in self.wants],
            "fetched": self.fetched,
        }

    @classmethod
    def from_json(cls, data: Any) -> RenderedPage:
        """Build from a mapping read off disk; raise ValueError on anything malformed."""
        blocks = data.get("blocks") if isinstance(data, dict) else None
        if not isinstance(blocks, list):
            raise ValueError("a rendered page must be a mapping with `blocks`")
        fetched = data.get("fetched")
        if fetched is not None and not isinstance(fetched, (int, float)):
            raise ValueError("`fetched` must be a time")
        wants = data.get("wants")
        if not isinstance(wants, list) or not all(_is_want(want) for want in wants):
            raise ValueError("`wants` must be a list of [id, version, language, model]")
        return cls(tuple(map(DigestLayout.from_json, blocks)), tuple(tuple(want) for want in wants), fetched)


def _is_want(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 4
        and isinstance(value[0], str)
        and (value[1] is None or type(value[1]) is int)
        and isinstance(value[2], str)
        and isinstance(value[3], str)
    )


class PageCache:
    """Stored renders of complete pages, by `key`."""

    def __init__(self, cache: Cache, settings: Settings) -> None:
        self.cache = cache
        self.settings = settings

    def key(self, build: Build, markdown: str, directives: Sequence[Directive] = ()) -> str:
        """Cache key of a page's render: a hash of everything that shapes it (see `keys.page_key`).

        ``directives`` are the page's, their query blocks pinned: the IDs a pin gave are part of the key.
        """
        pinned = "\n".join(
            f"{directive.query_line}:" + ",".join(str(arxiv_id) for arxiv_id, _line in directive.ids)
            for directive in directives
            if directive.query is not None
        )
        return page_key(self.settings, build.snapshot_hash, markdown, pinned)

    def preload(self, build: Build, keys: Iterable[str]) -> set[str]:
        """Read the stored pages of ``keys`` in bulk, for ``build``; return the keys found."""
        build.loaded_pages.update(self._read(keys))
        return set(build.loaded_pages)

    def get(self, build: Build, key: str, blocks: int) -> RenderedPage | None:
        """The stored render of a page with ``blocks`` directives, if it may be served.

        Its layouts were validated as they were read (`DigestLayout.from_json`); their texts
        are untrusted text like any other, made inert when written out.
        """
        stored = build.loaded_pages.get(key) or self._read([key]).get(key)
        if stored is None or len(stored.blocks) == blocks:
            return stored
        log.warning("Cache: refused a stored page render that does not fit its page; rendering it again")
        return None

    def store(
        self, key: str, blocks: list[DigestLayout], requests: Iterable[DigestRequest], fetched: float | None
    ) -> None:
        """Keep a complete page's render (the caller stores nothing degraded)."""
        shown = tuple((*request.id, request.language, request.model) for request in dict.fromkeys(requests))
        self.cache.put_record("page", key, RenderedPage(tuple(blocks), shown, fetched).to_json())

    def _read(self, keys: Iterable[str]) -> dict[str, RenderedPage]:
        """Stored pages whose papers' metadata is not yet due a refresh."""
        oldest = time.time() - self.settings.refresh_days * 86400
        found = self.cache.get_records("page", keys, RenderedPage.from_json)
        return {key: page for key, page in found.items() if page.fetched is None or page.fetched >= oldest}
