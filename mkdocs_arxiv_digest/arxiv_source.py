"""Paper metadata from the arXiv API, through the `arxiv` package.

What the package leaves to us, and arXiv's quirks this module handles:

- results come back in relevance order, not `id_list` order, and unknown IDs are
  simply absent: results are matched back to the requested IDs;
- `Search.max_results` defaults to 100 and silently truncates: set to the batch size;
- the package sets no request timeout and retries immediately, 400s included: each
  request gets a deadline and a size cap (`http_limits`), the package's retries are
  off, and we retry 429/5xx/timeouts ourselves with backoff;
- its parser (lxml, entities unresolved, no network) recovers from broken XML without
  a word: a cut feed loses entries or fields, and one with a DTD loses the text after
  each entity reference. arXiv never sends a DTD, so a feed with one is refused, as is
  a feed that is not well-formed, before the package parses it (`check_feed`);
- arXiv's terms allow one request every 3 seconds: one client per build, whose own
  delay spaces every request, retries included.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse
from xml.parsers import expat

import arxiv
import requests

from mkdocs_arxiv_digest.errors import ArxivUnavailableError, InvalidIdError, RefusedReplyError, log
from mkdocs_arxiv_digest.ids import ArxivId, parse_id
from mkdocs_arxiv_digest.models import Paper

BATCH_SIZE = 100
"""IDs per request: arXiv pages results by 100 by default; one page per batch."""
MAX_FEED_BYTES = 32 * 2**20
"""Cap on one reply. 100 ordinary entries make ~300 KB; one of a large collaboration's
papers (3,000 authors) ~150 KB."""
MAX_FIELD_BYTES = 2**20
"""Cap on one text or attribute of a feed: arXiv's longest are abstracts of ~2,000
characters. (Past 10 MB, lxml would drop one without a word.)"""


@dataclass
class Batch:
    """What one `id_list` request gave: papers by requested ID, IDs arXiv does not know."""

    ids: list[ArxivId]
    papers: dict[ArxivId, Paper] = field(default_factory=dict)
    missing: list[ArxivId] = field(default_factory=list)
    error: ArxivUnavailableError | None = None
    """Set when the request failed for good: none of the batch's IDs were answered."""


def make_client(api_url: str, *, timeout: float, delay: float) -> arxiv.Client:
    """One `arxiv.Client` for a build, pointed at ``api_url``; each request bounded by ``timeout``."""
    from mkdocs_arxiv_digest.http_limits import BoundedSession

    client = arxiv.Client(page_size=BATCH_SIZE, delay_seconds=delay, num_retries=0)
    client.query_url_format = api_url + "?{}"
    # The package offers no timeout setting; its session is the one place to put it.
    client._session = BoundedSession(timeout, MAX_FEED_BYTES, check=check_feed)
    return client


def check_feed(content: bytes) -> None:
    """Refuse a reply the `arxiv` package should not parse; raise `RefusedReplyError` saying why.

    Expat reads it first, strictly and building nothing: a DTD (entity definitions,
    external references) is refused at its first byte, before any entity exists, and
    XML that is not well-formed is refused too. Then no text or attribute may be
    longer than `MAX_FIELD_BYTES`.
    """

    def refuse_dtd(*_args: Any) -> None:
        raise RefusedReplyError("the reply declares a DTD (<!DOCTYPE ...>), which arXiv never sends; refused")

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse_dtd
    try:
        parser.Parse(content, True)
    except expat.ExpatError as error:
        # A cut reply is the usual cause: asking again may get it whole.
        raise RefusedReplyError(f"the reply is not well-formed XML ({error})", retry=True) from None
    # In well-formed XML `<` only opens markup: no text or attribute is longer than the
    # longest stretch without one.
    if max(map(len, content.split(b"<"))) > MAX_FIELD_BYTES:
        raise RefusedReplyError(f"the reply holds a text or attribute longer than {MAX_FIELD_BYTES} bytes; refused")


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
        host = urlparse(self.client.query_url_format).netloc  # named in messages: a wrong URL is a common cause
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
                failure = f"{host} answered HTTP {error.status}"
            except RefusedReplyError as error:
                if not error.retry:
                    return Batch(ids, error=ArxivUnavailableError(f"arXiv: {error}"))
                failure = str(error)
            except requests.RequestException as error:
                failure = f"no answer from {host} ({type(error).__name__})"  # it never answered
            except arxiv.ArxivError as error:
                failure = f"{host}: {type(error).__name__}"
            else:
                return _match(ids, results)
            if attempt < self.retries:
                wait = max(self.client.delay_seconds, 1.0) * 2**attempt
                log.info(f"arXiv: {failure}; retrying in {wait:.0f} s ({attempt + 1}/{self.retries})")
                self._sleep(wait)
        return Batch(ids, error=ArxivUnavailableError(f"arXiv unavailable: {failure}, {self.retries + 1} tries"))


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
