"""Paper metadata from the arXiv API, through the `arxiv` package.

What the package leaves to us, and arXiv's quirks this module handles:

- results come back in relevance order, not `id_list` order, and unknown IDs are
  simply absent: results are matched back to the requested IDs;
- `Search.max_results` defaults to 100 and silently truncates: set to the batch size;
- the package sets no request timeout and retries immediately, 400s included: we set
  a timeout, turn its retries off and retry 429/5xx/timeouts ourselves with backoff;
- arXiv's terms allow one request every 3 seconds: one client per build, whose own
  delay spaces every request, retries included.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import arxiv
import requests

from mkdocs_arxiv_digest.config import DEFAULT_ARXIV_DELAY
from mkdocs_arxiv_digest.errors import ArxivUnavailableError, DigestError, InvalidIdError, log
from mkdocs_arxiv_digest.ids import ArxivId, parse_id
from mkdocs_arxiv_digest.models import Paper

BATCH_SIZE = 100
"""IDs per request: arXiv pages results by 100 by default; one page per batch."""


@dataclass
class Batch:
    """What one `id_list` request gave: papers by requested ID, IDs arXiv does not know."""

    ids: list[ArxivId]
    papers: dict[ArxivId, Paper] = field(default_factory=dict)
    missing: list[ArxivId] = field(default_factory=list)
    error: ArxivUnavailableError | None = None
    """Set when the request failed for good: none of the batch's IDs were answered."""


class _TimeoutSession(requests.Session):
    """A requests session with a default timeout (the `arxiv` package passes none)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


def check_delay(api_url: str, delay: float) -> None:
    """arXiv's terms ask for 3 s between requests; a mirror or test server may go faster."""
    host = urlparse(api_url).hostname or ""
    if delay < DEFAULT_ARXIV_DELAY and (host == "arxiv.org" or host.endswith(".arxiv.org")):
        raise DigestError(f"arxiv_delay must be at least {DEFAULT_ARXIV_DELAY} s for {host} (arXiv's terms of use)")


def make_client(api_url: str, *, timeout: float, delay: float) -> arxiv.Client:
    """One `arxiv.Client` for a build, pointed at ``api_url``, with a request timeout."""
    client = arxiv.Client(page_size=BATCH_SIZE, delay_seconds=delay, num_retries=0)
    client.query_url_format = api_url + "?{}"
    # The package offers no timeout setting; its session is the one place to put it.
    client._session = _TimeoutSession(timeout)
    return client


class ArxivSource:
    """Fetches metadata in batches, retrying transient failures within bounds."""

    def __init__(
        self,
        client: arxiv.Client,
        *,
        retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.retries = retries
        self.requests = 0
        """Requests sent (retries included), for the build summary and tests."""
        self._sleep = sleep

    def fetch_batches(self, ids: Sequence[ArxivId]) -> Iterator[Batch]:
        """Yield one `Batch` per ≤100 IDs, as soon as each arrives."""
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), BATCH_SIZE):
            yield self._fetch_batch(unique[start : start + BATCH_SIZE])

    def _fetch_batch(self, ids: list[ArxivId]) -> Batch:
        search = arxiv.Search(id_list=[str(i) for i in ids], max_results=len(ids))
        for attempt in range(self.retries + 1):
            try:
                self.requests += 1
                results = list(self.client.results(search))
            except arxiv.HTTPError as error:
                if error.status == 400:  # a malformed ID: asking again cannot help
                    return Batch(
                        ids, error=ArxivUnavailableError(f"arXiv rejected the request (HTTP 400): {_ids(ids)}")
                    )
                failure = f"HTTP {error.status}"
            except (requests.RequestException, arxiv.ArxivError) as error:
                failure = type(error).__name__
            else:
                return _match(ids, results)
            if attempt < self.retries:
                wait = max(self.client.delay_seconds, 1.0) * 2**attempt
                log.info(f"arXiv answered {failure}; retrying in {wait:.0f} s ({attempt + 1}/{self.retries})")
                self._sleep(wait)
        return Batch(ids, error=ArxivUnavailableError(f"arXiv unavailable ({failure} after {self.retries + 1} tries)"))


def _match(ids: list[ArxivId], results: list[arxiv.Result]) -> Batch:
    """Match results back to the requested IDs; what is left over is missing."""
    by_version: dict[ArxivId, Paper] = {}
    latest: dict[str, Paper] = {}
    for result in results:
        paper = _to_paper(result)
        if paper is None:
            continue
        by_version[paper.versioned_id] = paper
        if paper.id not in latest or latest[paper.id].version < paper.version:
            latest[paper.id] = paper
    batch = Batch(ids)
    for arxiv_id in ids:
        paper = latest.get(arxiv_id.base) if arxiv_id.version is None else by_version.get(arxiv_id)
        if paper is None:
            batch.missing.append(arxiv_id)
        else:
            batch.papers[arxiv_id] = paper
    return batch


def _to_paper(result: arxiv.Result) -> Paper | None:
    try:
        short = parse_id(result.get_short_id())
    except InvalidIdError:
        return None  # e.g. the error entry arXiv sends with a 400
    if short.version is None:
        return None
    return Paper(
        id=short.base,
        version=short.version,
        title=" ".join(result.title.split()),
        abstract=" ".join(result.summary.split()),
        authors=tuple(author.name for author in result.authors),
        published=result.published.date().isoformat(),
    )


def _ids(ids: list[ArxivId]) -> str:
    return ", ".join(str(i) for i in ids)
