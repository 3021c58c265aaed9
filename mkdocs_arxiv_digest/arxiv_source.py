"""Paper metadata from the arXiv API, through the `arxiv` package.

What the package leaves to us, and arXiv's quirks this module handles:

- results come back in relevance order, not `id_list` order, and unknown IDs are
  simply absent: results are matched back to the requested IDs;
- `Search.max_results` defaults to 100 and silently truncates: set to the batch size;
- the package sets no request timeout and retries immediately, 400s included: each
  request gets a deadline and a size cap (`http_limits`), the package's retries are
  off, and we retry 429/5xx/timeouts ourselves with backoff, obeying `Retry-After`
  (seconds or an HTTP date) when it fits in `timeout`; a longer one ends this build's
  questions to arXiv, and every process of the user waits it out (`spacing`);
- its parser recovers from broken XML without a word, and its date parsing fails a
  whole feed on one odd date: each 200 reply is read strictly first, and refused or
  repaired (`arxiv_feed.scan_feed`); a paper with an odd date is shown without it, with a warning;
- since 2026 arXiv answers some valid requests with an empty feed: an empty reply is
  asked again (with backoff) before its IDs are declared unknown;
- arXiv's terms allow one request every 3 seconds, per client — not per process: the
  spacing is kept in a file every process of the user shares (`spacing`); after a 429
  it is doubled for the rest of the build;
- arXiv asks clients to name themselves: the `User-Agent` names this plugin, its version
  and its project page (the package sends `arxiv.py/<version>` alone).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import arxiv
import requests

from mkdocs_arxiv_digest import __version__
from mkdocs_arxiv_digest.arxiv_feed import FeedScan, error_message, scan_feed
from mkdocs_arxiv_digest.errors import ArxivUnavailableError, InvalidIdError, RefusedReplyError, log
from mkdocs_arxiv_digest.http_limits import BoundedSession
from mkdocs_arxiv_digest.ids import ArxivId, parse_id
from mkdocs_arxiv_digest.models import Paper
from mkdocs_arxiv_digest.retry_after import retry_after_seconds
from mkdocs_arxiv_digest.spacing import Spacing

BATCH_SIZE = 100
"""IDs per request: arXiv pages results by 100 by default; one page per batch."""
MAX_FEED_BYTES = 32 * 2**20
"""Cap on one reply. 100 ordinary entries make ~300 KB; one of a large collaboration's
papers (3,000 authors) ~150 KB."""
PROJECT_URL = "https://github.com/OWNER/REPO"
"""The project page the `User-Agent` names (as `[project.urls]` in pyproject.toml)."""
USER_AGENT = f"mkdocs-arxiv-digest/{__version__} (+{PROJECT_URL}) arxiv.py/{arxiv.__version__}"
API_KEY_VARIABLE = "ARXIV_API_KEY"
"""Where an arXiv API key will come from. arXiv said (May 2026) that its next platform
will "likely introduce API keys", without saying how they are sent: the key is read, never
logged, and not sent until arXiv documents the way (then in `_key_headers`)."""
MIN_BACKOFF = 1.0
"""Seconds before the first retry when `arxiv_delay` is shorter (a mirror, a test server)."""


@dataclass
class Batch:
    """What one `id_list` request gave: papers by requested ID, IDs arXiv does not know."""

    ids: list[ArxivId]
    papers: dict[ArxivId, Paper] = field(default_factory=dict)
    missing: list[ArxivId] = field(default_factory=list)
    """IDs arXiv answered without: no such paper (or version)."""
    unreadable: dict[ArxivId, str] = field(default_factory=dict)
    """IDs whose entry arXiv sent but could not be used, and why (not unknown: not remembered as such)."""
    problems: dict[ArxivId, str] = field(default_factory=dict)
    """Papers shown though a field of their entry was odd, and what was odd (a warning each)."""
    error: ArxivUnavailableError | None = None
    """Set when the request failed for good: none of the batch's IDs were answered."""


@dataclass
class SearchResult:
    """What a search gave: papers in arXiv's order, or why not."""

    query: str
    papers: list[Paper] = field(default_factory=list)
    rejected: str | None = None
    """arXiv refused the query (HTTP 400), with its own message."""
    error: str | None = None
    """arXiv could not be asked, or its reply read."""
    problems: list[str] = field(default_factory=list)
    """Papers shown though a field of their entry was odd."""


def make_client(api_url: str, *, timeout: float, delay: float) -> arxiv.Client:
    """One `arxiv.Client` for a build, pointed at ``api_url``; each request bounded by ``timeout``.

    ``delay`` is kept by the session, which spaces requests across processes: the
    package's own delay (per process, per client) is off.
    """
    client = arxiv.Client(page_size=BATCH_SIZE, delay_seconds=0, num_retries=0)
    client.query_url_format = api_url + "?{}"
    # The package offers no timeout or header setting; its session is the one place to put them.
    client._session = ArxivSession(timeout, delay, host=urlparse(api_url).netloc)
    return client


class ArxivSession(BoundedSession):
    """The `arxiv` package's HTTP session: bounded, spaced across processes, naming itself.

    Every request (the package may send more than one per search) waits its turn from
    `spacing`; `before` may refuse it (a `Retry-After` past the deadline). The body of a
    200 reply is checked and repaired (`scan_feed`) before the package parses it.
    """

    def __init__(self, timeout: float, delay: float, *, host: str) -> None:
        super().__init__(timeout, MAX_FEED_BYTES)
        self.delay = delay
        self.host = host
        self.before: Callable[[], None] = lambda: None
        """Called before each request: waits its turn, or raises to refuse it."""
        self.after: Callable[[], None] = lambda: None
        """Called when a request has ended, however it ended."""
        self.requests = 0
        """Requests sent, retries included."""
        self.retry_after: str | None = None
        """The `Retry-After` of the last reply, if it had one."""
        self.scan: FeedScan | None = None
        """What the last 200 reply held."""
        self.rejection: str | None = None
        """arXiv's own message in the error feed of the last HTTP 400 reply (a malformed query)."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["headers"] = {**(kwargs.get("headers") or {}), "user-agent": USER_AGENT, **_key_headers()}
        self.before()
        self.requests += 1
        self.retry_after, self.scan = None, None
        try:
            response = super().request(method, url, *args, **kwargs)
        finally:
            self.after()
        self.retry_after = response.headers.get("retry-after")
        self.rejection = None
        if response.status_code == requests.codes.bad_request:
            self.rejection = error_message(response._content or b"")
        if response.status_code == requests.codes.ok:
            self.scan = scan_feed(response._content or b"")
            response._content = self.scan.content
        return response


def _key_headers() -> dict[str, str]:
    """How an arXiv API key is sent: not yet, until arXiv says how (`API_KEY_VARIABLE`)."""
    if os.environ.get(API_KEY_VARIABLE):
        log.info(
            f"arXiv: {API_KEY_VARIABLE} is set, but arXiv has not yet said how keys are sent; "
            "it is not sent (see the README's arXiv section)",
            once=True,
        )
    return {}


# -- requests -----------------------------------------------------------------------------


_EMPTY = "arXiv answered with no entries"


class _GaveUp(Exception):
    """A request given up: asking again cannot help, or every try is spent."""

    def __init__(self, message: str, *, malformed: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.malformed = malformed
        """arXiv answered HTTP 400: the IDs or the query are malformed (``message``: arXiv's reason)."""


class _WaitTooLong(Exception):
    """arXiv asked for no requests for longer than the build may wait."""


class ArxivSource:
    """Fetches metadata in batches, retrying transient failures within bounds."""

    def __init__(
        self,
        client: arxiv.Client,
        *,
        retries: int = 3,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.retries = retries
        self.max_wait = max_wait
        """The longest `Retry-After` obeyed: the build's `timeout`. A longer one ends this build's requests."""
        session = client._session
        assert isinstance(session, ArxivSession), "make the client with `make_client`"
        self._session = session
        self._turns = Spacing(session.host, sleep=sleep, clock=clock)
        session.before, session.after = self._wait_turn, self._turns.done
        self._clock = clock
        self._backoff = 0.0
        self.spacing = session.delay
        """Seconds between requests this build: `arxiv_delay`, doubled after a 429."""

    @property
    def requests(self) -> int:
        """Requests sent (retries included), for the build summary and tests."""
        return self._session.requests

    def begin_build(self) -> None:
        """A new build starts with the configured spacing (a 429 widened it for the last one only)."""
        self.spacing = self._session.delay

    def fetch_batches(self, ids: Sequence[ArxivId]) -> Iterator[Batch]:
        """Yield one `Batch` per ≤100 IDs, as soon as each arrives."""
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), BATCH_SIZE):
            yield self._fetch_batch(unique[start : start + BATCH_SIZE])

    def search(self, query: str, *, max_results: int, sort_by: str) -> SearchResult:
        """The first ``max_results`` papers matching ``query`` (arXiv's search syntax), newest first by ``sort_by``.

        ``sort_by`` is arXiv's `sortBy` (`submittedDate`, `lastUpdatedDate`, `relevance`),
        always descending. One request per page of the client's `page_size` (100), each
        spaced and retried as an `id_list` request is; a 400 (a malformed query) is not
        retried, and carries arXiv's own message.
        """
        found: list[Paper] = []
        result = SearchResult(query)
        page = self.client.page_size
        while len(found) < max_results:
            want = min(page, max_results - len(found))
            search = arxiv.Search(
                query=query,
                max_results=len(found) + want,
                sort_by=arxiv.SortCriterion(sort_by),
                sort_order=arxiv.SortOrder.Descending,
            )
            got = self._search_page(search, len(found), result)
            if got is None:
                break
            found += got
            if len(got) < want:  # the last page: arXiv has no more
                break
        result.papers = found[:max_results]
        return result

    def _search_page(self, search: arxiv.Search, offset: int, result: SearchResult) -> list[Paper] | None:
        """One page of a search from ``offset``: its papers, or None (``result`` says why)."""
        try:
            results, scan = self._ask(search, offset)
        except _GaveUp as gave_up:
            if gave_up.malformed:
                result.rejected = gave_up.message or "no reason given"
            else:
                result.error = gave_up.message
            return None
        for item in results:
            if item.entry_id in scan.odd_dates:
                result.problems.append(f"{item.get_short_id()}: arXiv's entry has no usable <published> date")
        return [paper for item in results if (paper := _to_paper(item, scan)) is not None]

    def _wait_turn(self) -> None:
        """Before each request: its turn among every process's requests, at least the backoff from now."""
        backoff, self._backoff = self._backoff, 0.0
        waited = self._turns.wait_turn(self.spacing, at_least=backoff, limit=self.max_wait)
        if waited is None:
            raise _WaitTooLong(
                f"arXiv asked for no requests until later than `timeout` ({self.max_wait:g} s) allows to wait "
                "(Retry-After); not asked this build"
            )

    def _fetch_batch(self, ids: list[ArxivId]) -> Batch:
        search = arxiv.Search(id_list=[str(i) for i in ids], max_results=len(ids))
        try:
            results, scan = self._ask(search)
        except _GaveUp as gave_up:
            message = f"arXiv rejected the request (HTTP 400): {_ids(ids)}" if gave_up.malformed else gave_up.message
            return Batch(ids, error=ArxivUnavailableError(message))
        return _match(ids, results, scan)

    def _ask(self, search: arxiv.Search, offset: int = 0) -> tuple[list[arxiv.Result], FeedScan]:
        """One request (an ID batch, or a page of a search), under the rules every arXiv request shares.

        Throttling (429, 503, `Retry-After`), 5xx, timeouts and cut replies are asked again
        within `retries`, with backoff; since 2026 arXiv sometimes answers with an empty feed,
        so a first page with no entries is asked again too, and returned empty only after the
        last try. Raises `_GaveUp` when asking again cannot help, or the tries are spent.
        """
        host = urlparse(self.client.query_url_format).netloc  # named in messages: a wrong URL is a common cause
        empty: tuple[list[arxiv.Result], FeedScan] | None = None
        for attempt in range(self.retries + 1):
            asked: float | None = None
            try:
                results = list(self.client.results(search, offset=offset))
            except _WaitTooLong as error:
                raise _GaveUp(str(error)) from error
            except arxiv.HTTPError as error:
                if error.status == 400:  # a malformed ID or query: asking again cannot help
                    raise _GaveUp(self._session.rejection or "", malformed=True) from error
                failure = f"{host} answered HTTP {error.status}"
                asked = self._retry_after()
                if error.status == 429:
                    self._widen()
            except RefusedReplyError as error:
                if not error.retry:
                    raise _GaveUp(f"arXiv: {error}") from error
                failure = str(error)
            except requests.RequestException as error:
                failure = f"no answer from {host} ({type(error).__name__})"  # it never answered
            except arxiv.ArxivError as error:
                failure = f"{host}: {type(error).__name__}"
            except ValueError as error:  # the package's parser on a field `scan_feed` did not foresee
                raise _GaveUp(f"arXiv's reply could not be read ({error})") from error
            else:
                scan = self._session.scan
                assert scan is not None  # a reply was parsed, so it was scanned
                if scan.entries or offset > 0:
                    return results, scan
                empty, failure = (results, scan), _EMPTY
            if attempt < self.retries:
                self._backoff = max(max(self._session.delay, MIN_BACKOFF) * 2**attempt, asked or 0.0)
                log.info(f"arXiv: {failure}; asking again in {self._backoff:.0f} s ({attempt + 1}/{self.retries})")
        if empty is not None and failure == _EMPTY:
            return empty
        raise _GaveUp(f"arXiv unavailable: {failure}, {self.retries + 1} tries")

    def _retry_after(self) -> float | None:
        """The wait the last reply asked for, shared with every process; None if it asked for none."""
        seconds = retry_after_seconds(self._session.retry_after, self._clock())
        if seconds is not None:
            self._turns.defer(self._clock() + seconds)
        return seconds

    def _widen(self) -> None:
        """After a 429, twice the spacing (at least `MIN_BACKOFF`) for the rest of the build, said once."""
        widened = max(2 * self._session.delay, MIN_BACKOFF)
        if self.spacing < widened:
            self.spacing = widened
            log.info(
                f"arXiv asks for fewer requests (HTTP 429): they are now {widened:g} s apart for the rest of this build",
                once=True,
            )


def _match(ids: list[ArxivId], results: list[arxiv.Result], scan: FeedScan) -> Batch:
    """Match results back to the requested IDs; what is left over is missing, or unreadable."""
    by_version: dict[ArxivId, Paper] = {}
    latest: dict[str, Paper] = {}
    problems: dict[ArxivId, str] = {}
    for result in results:
        paper = _to_paper(result, scan)
        if paper is None:
            continue
        if result.entry_id in scan.odd_dates:
            odd = scan.odd_dates[result.entry_id]
            problems[paper.versioned_id] = (
                f"arXiv's entry has a <published> date that is not a date ({odd[:40]!r}); shown without it"
                if odd
                else "arXiv's entry has no <published> date; shown without it"
            )
        by_version[paper.versioned_id] = paper
        if paper.id not in latest or latest[paper.id].version < paper.version:
            latest[paper.id] = paper
    sent = {parsed for entry in scan.entries if (parsed := _entry_id(entry)) is not None}
    batch = Batch(ids)
    for arxiv_id in ids:
        paper = latest.get(arxiv_id.base) if arxiv_id.version is None else by_version.get(arxiv_id)
        if paper is not None:
            batch.papers[arxiv_id] = paper
            if paper.versioned_id in problems:
                batch.problems[arxiv_id] = problems[paper.versioned_id]
        elif arxiv_id in sent or (arxiv_id.version is None and any(s.base == arxiv_id.base for s in sent)):
            batch.unreadable[arxiv_id] = "arXiv sent an entry for it that could not be read (no title or date)"
        else:
            batch.missing.append(arxiv_id)
    return batch


def _entry_id(entry: str) -> ArxivId | None:
    """The paper an entry's `<id>` (``http://arxiv.org/abs/2403.16584v1``) names, if it names one."""
    try:
        return parse_id(entry.strip().rsplit("/abs/", 1)[-1])
    except InvalidIdError:
        return None


def _to_paper(result: arxiv.Result, scan: FeedScan) -> Paper | None:
    try:
        short = parse_id(result.get_short_id())
    except InvalidIdError:
        return None  # e.g. the error entry arXiv sends with a 400
    title = " ".join(result.title.split())
    if short.version is None or not title:
        return None
    return Paper(
        id=short.base,
        version=short.version,
        title=title,
        abstract=" ".join(result.summary.split()),
        authors=tuple(author.name for author in result.authors),
        published="" if result.entry_id in scan.odd_dates else result.published.date().isoformat(),
    )


def _ids(ids: list[ArxivId]) -> str:
    return ", ".join(str(i) for i in ids)
