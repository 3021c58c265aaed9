"""Query blocks: arXiv searches whose results are pinned, so that builds stay reproducible.

A block may run a search instead of listing papers::

    query: cat:cs.CL AND abs:"machine translation"
    max: 20              # default 20, at most `MAX_RESULTS`
    sort: submitted      # submitted (default, newest first) | updated | relevance
    refresh: 7d          # optional: run again when the pin is older, and the build is online

The first online build runs the query (arXiv's `search_query`) and pins the result —
the query, when it ran, the ordered IDs — in the snapshot when the site has one (and in
the cache, always). Every later build shows the pinned list without asking arXiv,
offline too; `arxiv-digest refresh` (or a block's ``refresh:``) runs it again on purpose.
The pinned IDs are then digested exactly as listed IDs are.

The records and the block's options are pure; `QueryPins` does the looking up and the
searching (through `Metadata.search`, so arXiv's spacing, retries and caps apply).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from mkdocs.config.base import BaseConfigOption, ValidationError

from mkdocs_arxiv_digest.config import BlockOptions
from mkdocs_arxiv_digest.errors import InvalidIdError, SnapshotError, log
from mkdocs_arxiv_digest.ids import ArxivId, parse_id
from mkdocs_arxiv_digest.keys import text_hash

if TYPE_CHECKING:
    from mkdocs_arxiv_digest.build import Build
    from mkdocs_arxiv_digest.cache import Cache
    from mkdocs_arxiv_digest.config import Settings
    from mkdocs_arxiv_digest.directive import Directive
    from mkdocs_arxiv_digest.metadata import Metadata
    from mkdocs_arxiv_digest.models import Paper

T = TypeVar("T")

DEFAULT_MAX = 20
"""Papers a query block shows unless it says `max:` (the issue's default)."""
MAX_RESULTS = 200
"""The most a block may ask for. Each paper is one model request (its cost), and the
example site's reading list is 8 papers and the seed digest 14: a 200-row table is already
past what anyone reads as a digest. 200 is two of arXiv's 100-result pages, i.e. two
search requests, 3 s apart (arXiv's manual allows 2,000 per call, and asks for slices)."""
SORTS = {"submitted": "submittedDate", "updated": "lastUpdatedDate", "relevance": "relevance"}
"""The block's `sort:` values, and arXiv's `sortBy` for each (always `sortOrder=descending`)."""
_AGE = re.compile(r"^\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[hdw])\s*$")
_UNIT_SECONDS = {"h": 3600, "d": 86400, "w": 7 * 86400}
QUERY_OPTIONS = ("query", "max", "sort", "refresh")
"""A block's options that belong to its query (the rest, `language` and `model`, to its digest)."""


def normalized(text: str) -> str:
    """A query as it is pinned and sent: its whitespace collapsed (a block may wrap it)."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Query:
    """What a query block asks arXiv for."""

    text: str
    """arXiv's search syntax (`cat:cs.CL AND abs:"machine translation"`), whitespace collapsed."""
    max: int = DEFAULT_MAX
    sort: str = "submitted"
    """One of `SORTS`."""
    refresh: float | None = None
    """Seconds after which the pin is run again by an online build; None: only by `arxiv-digest refresh`."""

    @property
    def key(self) -> str:
        """What a pin is stored by: the same query, count and order share one pin."""
        return pin_key(self.text, self.max, self.sort)

    def describe(self) -> str:
        """The query as messages name it."""
        return f"{self.text} (max {self.max}, {self.sort})"


def pin_key(text: str, max_results: int, sort: str) -> str:
    return text_hash("query", text, str(max_results), sort)


@dataclass(frozen=True)
class Pin:
    """A query's result as it ran: the ordered IDs (unversioned: each shows its latest version)."""

    query: str
    max: int
    sort: str
    ran: float
    """When it ran (epoch seconds); written as an ISO date and time in UTC."""
    ids: tuple[str, ...]

    @property
    def key(self) -> str:
        return pin_key(self.query, self.max, self.sort)

    def to_json(self) -> dict[str, Any]:
        ran = datetime.fromtimestamp(self.ran, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"query": self.query, "max": self.max, "sort": self.sort, "ran": ran, "ids": list(self.ids)}

    @classmethod
    def from_json(cls, data: Any) -> Pin:
        """Build from a mapping read off disk (cache, snapshot); raise ValueError on anything malformed."""
        if not isinstance(data, dict):
            raise ValueError("a query pin must be a mapping")
        query, sort, ran, ids, count = (data.get(k) for k in ("query", "sort", "ran", "ids", "max"))
        if not isinstance(query, str) or not query.strip():
            raise ValueError("pin `query` must be the query's text")
        if sort not in SORTS:
            raise ValueError(f"pin `sort` must be one of {', '.join(SORTS)}")
        if type(count) is not int or not 1 <= count <= MAX_RESULTS:
            raise ValueError(f"pin `max` must be a number from 1 to {MAX_RESULTS}")
        if not isinstance(ran, str):
            raise ValueError("pin `ran` must be a date and time (2026-05-01T06:00:00Z)")
        try:
            when = datetime.fromisoformat(ran.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"pin `ran` is not a date and time: {ran[:40]!r}") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(ids) > MAX_RESULTS:
            raise ValueError("pin `ids` must be a list of arXiv identifiers")
        for text in ids:
            try:
                arxiv_id = parse_id(text)
            except InvalidIdError as error:
                raise ValueError(f"pin `ids`: {error}") from None
            if arxiv_id.version is not None or str(arxiv_id) != text:
                raise ValueError(f"pin `ids`: {text!r} is not an unversioned identifier")
        return cls(normalized(query), count, sort, when.timestamp(), tuple(ids))


# -- the block's options -------------------------------------------------------------------
# A block's YAML is read with BaseLoader, so every value arrives as text.


class _Unset(BaseConfigOption[T]):
    """An option that may be left out: unset, it is None (the block's default applies)."""

    def validate(self, value: object, /) -> T:
        if value is None:
            return None  # type: ignore[return-value]  # left out
        validated: T = self.run_validation(value)
        return validated


class QueryText(_Unset[str | None]):
    """`query:`: arXiv's search syntax, one line (YAML may fold it)."""

    def run_validation(self, value: object, /) -> str:
        text = normalized(str(value))
        if not text:
            raise ValidationError("the query is empty")
        return text


class MaxResults(_Unset[int | None]):
    """`max:`: how many papers, from 1 to `MAX_RESULTS`."""

    def run_validation(self, value: object, /) -> int:
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValidationError(f"expected a number of papers, got {str(value)[:40]!r}") from None
        if not 1 <= number <= MAX_RESULTS:
            raise ValidationError(
                f"must be from 1 to {MAX_RESULTS} (each paper is a model request; a longer list is not a digest)"
            )
        return number


class SortOrder(_Unset[str | None]):
    """`sort:`: `submitted` (newest first), `updated` or `relevance`."""

    def run_validation(self, value: object, /) -> str:
        text = str(value).strip().lower()
        if text not in SORTS:
            raise ValidationError(f"expected one of {', '.join(SORTS)}, got {str(value)[:40]!r}")
        return text


class RefreshAge(_Unset[float | None]):
    """`refresh:`: an age (`12h`, `1d`, `7d`, `2w`) after which an online build runs the query again."""

    def run_validation(self, value: object, /) -> float:
        seconds = parse_age(str(value))
        if seconds is None:
            raise ValidationError(f"expected an age such as 1d, 7d, 12h or 2w, got {str(value)[:40]!r}")
        return seconds


class BlockYamlOptions(BlockOptions):
    """What a block's YAML may set: the digest's options, and a query's."""

    query = QueryText()
    """arXiv's search syntax, instead of `papers:`."""
    max = MaxResults()
    """Papers the query shows, from 1 to `queries.MAX_RESULTS`. Default: `queries.DEFAULT_MAX`."""
    sort = SortOrder()
    """`submitted` (newest first, the default), `updated` or `relevance`."""
    refresh = RefreshAge()
    """An age (`1d`, `7d`): past it, an online build runs the query again."""


def parse_age(text: str) -> float | None:
    """``7d`` as seconds; None if ``text`` is not a positive age in hours, days or weeks."""
    match = _AGE.match(text)
    if match is None or float(match["number"]) <= 0:
        return None
    return float(match["number"]) * _UNIT_SECONDS[match["unit"]]


# -- pins ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rerun:
    """A query run this process: the pin before and after (for `arxiv-digest refresh`'s report)."""

    query: Query
    before: Pin | None
    after: Pin | None
    """None when the search failed (`problem` says why); ``before`` stays in force."""
    problem: str | None = None


@dataclass(frozen=True)
class Found:
    """What `Metadata.search` found: papers in arXiv's order, or why nothing."""

    papers: list[Paper] = field(default_factory=list)
    rejected: str | None = None
    """arXiv refused the query (HTTP 400): its own message. Asking again cannot help."""
    error: str | None = None
    """arXiv could not be asked (down, throttling past `timeout`, offline)."""


class QueryPins:
    """The pinned result of each query block: snapshot → cache → arXiv's search.

    `pin` fills a query block's `Directive.ids` from its pin, running the query first
    where it has none (or its `refresh:` age is past, or `force` says so) and the build is
    online. Pins are written to the snapshot when the site has one, and to the cache.
    """

    def __init__(
        self, settings: Settings, cache: Cache, metadata: Metadata, *, clock: Callable[[], float] | None = None
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.metadata = metadata
        self._clock = clock or cache.now
        self._pins: dict[str, Pin] = {}
        """Pins read or made by this process, by key (the cache's copy, without re-reading it)."""
        self._rejected: dict[str, str] = {}
        """Queries arXiv refused (HTTP 400), by key: not asked again by this process."""
        self.reruns: dict[str, Rerun] = {}
        """Queries run by this process, by key (each at most once, unless forced)."""
        self.force: Callable[[Query], bool] = lambda _query: False
        """Run a query again even though its pin is in force (`arxiv-digest refresh`)."""
        self.by_page: dict[str, list[Query]] = {}
        """The queries of each page `pin` was told the page of."""

    def forget(self) -> None:
        """The snapshot changed (an edit, `arxiv-digest refresh`): read pins again."""
        self._pins.clear()

    def pin(self, build: Build, directives: Iterable[Directive], page: str | None = None) -> None:
        """Give each query block among ``directives`` its pinned IDs; problems go to the block's own.

        Each block is pinned once (its `Directive` is parsed once a build).
        """
        for directive in directives:
            query = directive.query
            if query is None or directive.pinned:
                continue
            directive.pinned = True
            if page is not None:
                self.by_page.setdefault(page, []).append(query)
            pin, problem = self.pinned(build, query)
            if problem is not None:
                directive.problems.append((directive.query_line, problem))
            if pin is not None:
                directive.ids = [(ArxivId(arxiv_id), directive.query_line) for arxiv_id in pin.ids]
                directive.pinned_at = pin.ran

    def pinned(self, build: Build, query: Query) -> tuple[Pin | None, str | None]:
        """The pin in force for ``query`` (running it if due), and a problem to report, if any."""
        key = query.key
        pin = self.lookup(query)
        if key in self._rejected:
            return pin, self._rejected[key]
        if key in self.reruns and not self._due_again(query, self.reruns[key]):
            return pin, self.reruns[key].problem if pin is None else None
        due = (
            pin is None or self.force(query) or (query.refresh is not None and self._clock() - pin.ran >= query.refresh)
        )
        if not due:
            return pin, None
        if self.settings.offline:
            if pin is not None:
                return pin, None  # a due refresh waits for an online build
            return None, (
                f"the query {query.text!r} has not been run yet, and `offline` is on "
                "(run `arxiv-digest refresh` online, then `arxiv-digest snapshot`)"
            )
        return self.run(build, query, pin)

    def _due_again(self, query: Query, rerun: Rerun) -> bool:
        """Whether a query run earlier by this process (`mkdocs serve`) is due again: its `refresh:` age has passed."""
        after = rerun.after
        return after is not None and query.refresh is not None and self._clock() - after.ran >= query.refresh

    def run(self, build: Build, query: Query, before: Pin | None) -> tuple[Pin | None, str | None]:
        """Run ``query`` now and pin its result; on failure the pin ``before`` stays in force."""
        found = self.metadata.search(build, query)
        if found.rejected is not None:
            problem = f"arXiv rejected the query {query.text!r} (HTTP 400): {found.rejected}"
            self._rejected[query.key] = problem
            self.reruns[query.key] = Rerun(query, before, None, problem)
            return before, problem
        if found.error is not None:
            kept = "; the pinned list is shown" if before is not None else ""
            problem = f"the query {query.text!r} could not be run: {found.error}{kept}"
            self.reruns[query.key] = Rerun(query, before, None, problem)
            if before is not None:
                log.info(problem)
                return before, None
            return None, problem
        ids = tuple(dict.fromkeys(paper.id for paper in found.papers))[: query.max]
        pin = Pin(query.text, query.max, query.sort, float(int(self._clock())), ids)  # whole seconds, as written
        self._store(pin)
        self.reruns[query.key] = Rerun(query, before, pin)
        if not ids:
            return pin, f"the query {query.text!r} matched no papers on arXiv"
        return pin, None

    def lookup(self, query: Query) -> Pin | None:
        """The pin of ``query``: the snapshot's, else this process's or the cache's; None if never run."""
        key = query.key
        if self.settings.snapshot is not None:
            pinned = self.metadata.snapshot.queries.get(key)
            if pinned is not None:
                return pinned
        if key not in self._pins:
            found = self.cache.get_records("query", [key], Pin.from_json).get(key)
            if found is None:
                return None
            self._pins[key] = found
        return self._pins[key]

    def _store(self, pin: Pin) -> None:
        """Keep a new pin: in the cache, and in the snapshot file if the site has one."""
        self._pins[pin.key] = pin
        self.cache.put_record("query", pin.key, pin.to_json())
        path = self.settings.snapshot
        if path is None:
            return
        from mkdocs_arxiv_digest.snapshot import save_snapshot

        snapshot = self.metadata.snapshot
        snapshot.queries[pin.key] = pin
        try:
            save_snapshot(snapshot, path)
        except SnapshotError as error:
            log.warning(f"the pin of the query {pin.query!r} is kept in the cache only: {error}")


def rerun_lines(where: str, rerun: Rerun, titles: dict[str, str]) -> list[str]:
    """What `arxiv-digest refresh` prints of a query run again: papers added (+) and dropped (-), by ID and title."""
    query, after = rerun.query, rerun.after
    if after is None:
        return [f"{where}: {query.describe()}: {rerun.problem}"]
    old = rerun.before.ids if rerun.before is not None else ()
    added = [arxiv_id for arxiv_id in after.ids if arxiv_id not in old]
    dropped = [arxiv_id for arxiv_id in old if arxiv_id not in after.ids]
    summary = f"{len(added)} added, {len(dropped)} dropped" if added or dropped else "unchanged"
    lines = [f"{where}: {query.describe()}: {summary} ({len(after.ids)} papers)"]
    for sign, ids in (("+", added), ("-", dropped)):
        lines += [f"  {sign} {arxiv_id}  {titles.get(arxiv_id, '(title unknown)')}" for arxiv_id in ids]
    return lines
