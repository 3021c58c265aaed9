"""The cache: paper metadata by ID, digests and rendered pages by content key, as JSON text.

Rows live in a `store.Store`: diskcache, made to refuse pickle and every file it did not
make, opened on the first write (a build that only reads, a warm one, never opens it).
Rows are written in one SQLite transaction each, so a killed build leaves complete rows
or none, and several builds can share a directory.
Callers pass how to parse a row kind they own (`get_records`), so this module knows
papers and digests, not the pages other modules store.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from mkdocs_arxiv_digest.errors import DigestError, log
from mkdocs_arxiv_digest.ids import ArxivId
from mkdocs_arxiv_digest.models import Digest, Paper, Rejection
from mkdocs_arxiv_digest.store import Store

MAX_JSON_DEPTH = 16
"""How deep a row's JSON may nest. The deepest the cache writes is 3 (a page's `wants`, a
paper's `authors`: measured on a build's rows in tests/test_security_io.py); Python's
decoder gives up at about 1,000 with a RecursionError, and code that walks what it
returned could recurse as deep."""

K = TypeVar("K")
V = TypeVar("V")


class CacheDirectoryError(DigestError):
    """A cache directory that cannot be used safely: a symbolic link, or not a directory."""


class Cache:
    """Paper metadata by ID, digests and rendered pages by content key, as JSON text in `directory`."""

    def __init__(self, directory: str | os.PathLike[str], *, clock: Any = time.time) -> None:
        """Open (and make) the cache in ``directory``; `CacheDirectoryError` if it is a symbolic link.

        A link would take the cache, and the mode this sets, wherever it leads: a CI cache
        restored with a link in its place writes outside the project. Refused, not
        followed; the error says which path, and how to mend it.
        """
        path = Path(directory)
        if path.is_symlink():
            raise CacheDirectoryError(
                f"the cache directory {path} is a symbolic link (to {os.readlink(path)}); refusing to follow it."
                " Delete the link (or set `cache_dir` to the directory it leads to)"
            )
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)  # mkdir's mode is filtered by the umask
        self.directory = path
        self._clock = clock
        self._store = Store(path)

    def close(self) -> None:
        self._store.close()

    def get_papers(self, ids: Iterable[ArxivId]) -> dict[ArxivId, tuple[Paper, float]]:
        """Cached metadata of the IDs (as requested) that have some, with its age in seconds."""
        now = self._clock()
        return self.get_records(
            "paper", ids, lambda data: (Paper.from_json(data["paper"]), now - float(data["fetched"]))
        )

    def put_paper(self, arxiv_id: ArxivId, paper: Paper) -> None:
        self.put_record("paper", str(arxiv_id), {"paper": paper.to_json(), "fetched": self._clock()})

    def get_digests(self, keys: Iterable[str]) -> dict[str, Digest]:
        """Cached digests by digest key, for the keys that have one."""
        return self.get_records("digest", keys, Digest.from_json)

    def put_digest(self, key: str, digest: Digest) -> None:
        self.put_record("digest", key, digest.to_json())

    def put_digests(self, digests: Iterable[tuple[str, Digest]]) -> None:
        """Store several digests in one transaction (a batch's results: a commit each is most of the cost)."""
        store = self._store.cache
        with store.transact():
            for key, digest in digests:
                self.put_record("digest", key, digest.to_json())

    def get_rejections(self, keys: Iterable[str]) -> dict[str, Rejection]:
        """The rejections remembered by digest key, for the keys that have one."""
        return self.get_records("rejected", keys, Rejection.from_json)

    def put_rejection(self, key: str, rejection: Rejection) -> None:
        self.put_record("rejected", key, rejection.to_json())

    def forget_rejection(self, key: str) -> None:
        """Forget the rejection of a digest key (its digest is now valid)."""
        self._store.cache.delete(f"rejected:{key}")

    def now(self) -> float:
        """The cache's clock (epoch seconds): the times rows hold are on it."""
        return float(self._clock())

    def stats(self) -> dict[str, int]:
        """Entries by kind and bytes on disk."""
        counts = {"paper": 0, "digest": 0, "page": 0}
        for key in self._store.cache.iterkeys():
            kind = key.split(":", 1)[0]
            counts[kind] = counts.get(kind, 0) + 1
        return counts | {"bytes": int(self._store.cache.volume())}

    def clear(self) -> int:
        return int(self._store.cache.clear())

    def get_records(self, kind: str, keys: Iterable[K], parse: Callable[[Any], V]) -> dict[K, V]:
        """The rows of ``kind`` for ``keys``, parsed; a row that does not parse is reported and skipped."""
        wanted = {f"{kind}:{key}": key for key in keys}
        found: dict[K, V] = {}
        for row_key, data in self._get_many(wanted).items():
            try:
                found[wanted[row_key]] = parse(data)
            except (KeyError, TypeError, ValueError) as error:
                log.warning(f"Cache: ignored an unreadable row {row_key!r}: {error}")
        return found

    def _get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """JSON values of the keys present, read in a few queries rather than one per key.

        A warm build reads every paper's rows; one query per 500 keys instead of a
        `Cache.get` each is most of what keeps it at the cost of plain Markdown. The store
        gives rows that are text (`Store.texts`); text that is not JSON nested at most
        `MAX_JSON_DEPTH` deep is reported and left out.
        """
        keys = list(keys)
        found: dict[str, Any] = {}
        for start in range(0, len(keys), 500):
            for key, text in self._store.texts(keys[start : start + 500]).items():
                try:
                    found[key] = parse_json(text)
                except ValueError as error:
                    log.warning(
                        f"Cache: ignored an unreadable row {key!r}: {error}; it will be fetched again", once=True
                    )
        return found

    def put_record(self, kind: str, key: str, value: Any) -> None:
        """Store a JSON-able ``value`` as the row of ``kind`` for ``key``."""
        self._store.cache.set(f"{kind}:{key}", json.dumps(value, ensure_ascii=False, sort_keys=True))


def parse_json(text: str) -> Any:
    """The value of JSON ``text``; ValueError if it is not JSON, or nests deeper than `MAX_JSON_DEPTH`."""
    try:
        value = json.loads(text)
    except RecursionError:  # `[[[[...`: the decoder gives up on deep nesting this way, at ~1,000
        raise ValueError(f"it is nested more than {MAX_JSON_DEPTH} deep") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise ValueError(f"it is nested more than {MAX_JSON_DEPTH} deep")
    return value


def _depth(value: Any) -> int:
    """How deep lists and mappings nest in ``value``, counted without recursion (stops past the bound)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest
