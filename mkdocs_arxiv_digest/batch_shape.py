"""The shape a model's batch server takes (response format, token limit's name), as learnt.

A batch's server may refuse `json_schema` or `max_tokens` line by line, as an interactive
server refuses a request (`model_server.weaker_shape`). Interactively that costs one
request, learnt again each run; in a batch it costs the batch's round trip (up to 24 h).
So what a batch's error lines taught is recorded in the cache, per model and server, and
every later `prefetch --batch`, `batch export` and `batch ingest` of the site starts from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mkdocs_arxiv_digest.model_server import FORMATS, TOKEN_LIMITS, weakest

if TYPE_CHECKING:
    from mkdocs_arxiv_digest.resolver import Resolver

SHAPES = "batch-shape"
"""Kind of the cache rows recording the shape learnt, one per model and server."""


def learnt_shape(resolver: Resolver, shape: tuple[str, str]) -> tuple[str, str]:
    """``shape``, or the weaker one a batch's server of the site's model was learnt to take."""
    recorded = resolver.cache.get_records(SHAPES, [_server(resolver)], _read)
    return weakest(shape, *recorded.values())


def learn_shape(resolver: Resolver, shape: tuple[str, str]) -> None:
    """Record that a batch's server of the site's model takes ``shape`` (and nothing stronger)."""
    resolver.cache.put_record(SHAPES, _server(resolver), list(shape))


def _server(resolver: Resolver) -> str:
    return f"{resolver.settings.model} {resolver.settings.base_url or ''}"


def _read(data: Any) -> tuple[str, str]:
    """A recorded shape, checked as read off disk."""
    if not (isinstance(data, list) and len(data) == 2 and data[0] in FORMATS and data[1] in TOKEN_LIMITS):
        raise ValueError("a batch shape is a format and a token limit's name")
    return data[0], data[1]
