"""One build's state: what it failed, generated, showed and counted, made afresh for every build.

`Pipeline.begin_build` makes a `Build` and passes it down to the resolver, the metadata,
the page cache and the page renderer, which record into it; nothing of one build can
then survive into the next (under `mkdocs serve`), because no collaborator keeps any of
it. What outlives a build — papers and digests resolved, the clients — stays with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mkdocs_arxiv_digest.fragments import Fragments
from mkdocs_arxiv_digest.ids import ArxivId
from mkdocs_arxiv_digest.models import DigestRequest, Failure, Usage

if TYPE_CHECKING:
    from mkdocs_arxiv_digest.directive import Directive
    from mkdocs_arxiv_digest.page_cache import RenderedPage


@dataclass(eq=False)
class Build:
    """The state of one build; made by `Pipeline.begin_build`, never reset."""

    snapshot_hash: str = ""
    """The snapshot file's content hash (`keys.file_hash`): part of every stored page's key."""
    usage_at_start: tuple[int, ...] = (0, 0, 0, 0)
    """The model client's counts when the build began (the client outlives builds)."""

    # Metadata
    paper_failures: dict[ArxivId, Failure] = field(default_factory=dict)
    """Why a paper's metadata is missing."""
    stale: set[ArxivId] = field(default_factory=set)
    """IDs served from stale metadata, because arXiv could not be asked."""
    arxiv_requests: int = 0
    """arXiv requests sent."""

    # Digests
    failures: dict[DigestRequest, Failure] = field(default_factory=dict)
    """Why a digest is missing: retried next build."""
    generated: set[DigestRequest] = field(default_factory=set)
    """Digests the model wrote (the rest came from the snapshot or the cache)."""
    batched: set[DigestRequest] = field(default_factory=set)
    """Digests a batch returned this build (`batch`): counted apart, as they ran at batch pricing."""
    batch_usage: Usage | None = None
    """Requests and tokens of the batch results read this build (at batch pricing)."""
    held_back: set[DigestRequest] = field(default_factory=set)
    """Digests not asked for, because the model's replies for them were rejected a short while ago."""
    offline_failures: dict[str, Failure] = field(default_factory=dict)
    """Why digests are missing offline, by language (one record, so one warning, per language)."""

    # Pages
    loaded_pages: dict[str, RenderedPage] = field(default_factory=dict)
    """Stored page renders read ahead by the prefetch, by page key."""
    parsed: dict[str, list[Directive]] = field(default_factory=dict)
    """Each page's directives by its Markdown: parsed once, though the scan and the render both ask."""
    shown: dict[DigestRequest, bool] = field(default_factory=dict)
    """Each paper shown, and whether it was shown complete."""
    incomplete: dict[str, list[tuple[str, ArxivId]]] = field(default_factory=dict)
    """Papers shown incomplete and not yet reported: (page and line, ID) by reason."""
    fragments: Fragments = field(default_factory=Fragments)
    """The untrusted texts of the pages rendered, behind the tokens in their Markdown."""
