"""The on-disk cache: diskcache with string keys and JSON text values, never pickle.

diskcache (<= 5.6.3) unpickles whatever its database holds (CVE-2025-69872), and CI
restores cache directories from elsewhere, so `JsonDisk` refuses pickle both ways: a
planted pickled row is reported and ignored, never loaded. Rows are written in one
SQLite transaction each, so a killed build leaves complete rows or none, and several
builds can share a directory.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import diskcache

from mkdocs_arxiv_digest.errors import DigestError, log
from mkdocs_arxiv_digest.ids import ArxivId
from mkdocs_arxiv_digest.models import Digest, Paper, RenderedPage

_VALUE_FILE = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{28}\.val")
K = TypeVar("K")
V = TypeVar("V")


class UnsafeCacheRowError(DigestError):
    """A cache row that is not plain JSON text (e.g. a pickle planted in the database)."""


class JsonDisk(diskcache.Disk):  # type: ignore[misc]
    """A diskcache `Disk` that stores and loads text only."""

    def put(self, key: Any) -> tuple[Any, bool]:
        if type(key) is not str:
            raise TypeError("cache keys are strings")
        return key, True

    def get(self, key: Any, raw: bool) -> Any:
        if not raw:
            raise UnsafeCacheRowError("refusing a pickled cache key")
        return key

    def store(self, value: Any, read: bool, key: Any = diskcache.core.UNKNOWN) -> Any:
        if type(value) is not str:
            raise TypeError("cache values are JSON text")
        return super().store(value, read, key=key)

    def fetch(self, mode: int, filename: Any, value: Any, read: bool) -> Any:
        if mode not in (diskcache.core.MODE_RAW, diskcache.core.MODE_TEXT):
            raise UnsafeCacheRowError(f"refusing a cache row stored in mode {mode} (only text is allowed)")
        if mode == diskcache.core.MODE_TEXT and not (isinstance(filename, str) and _VALUE_FILE.fullmatch(filename)):
            # diskcache names value files itself; any other name points outside the cache.
            raise UnsafeCacheRowError(f"refusing a cache row whose value file is {filename!r}")
        return super().fetch(mode, filename, value, read)


class Cache:
    """Paper metadata by ID, digests and rendered pages by content key, as JSON text in `directory`."""

    def __init__(self, directory: str | os.PathLike[str], *, clock: Any = time.time) -> None:
        path = Path(directory)
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)  # mkdir's mode is filtered by the umask
        self.directory = path
        self._clock = clock
        self._store = diskcache.Cache(str(path), disk=JsonDisk)

    def close(self) -> None:
        self._store.close()

    def get_papers(self, ids: Iterable[ArxivId]) -> dict[ArxivId, tuple[Paper, float]]:
        """Cached metadata of the IDs (as requested) that have some, with its age in seconds."""
        now = self._clock()
        return self._get_records(
            "paper", ids, lambda data: (Paper.from_json(data["paper"]), now - float(data["fetched"]))
        )

    def put_paper(self, arxiv_id: ArxivId, paper: Paper) -> None:
        self._set(f"paper:{arxiv_id}", {"paper": paper.to_json(), "fetched": self._clock()})

    def get_digests(self, keys: Iterable[str]) -> dict[str, Digest]:
        """Cached digests by digest key, for the keys that have one."""
        return self._get_records("digest", keys, Digest.from_json)

    def put_digest(self, key: str, digest: Digest) -> None:
        self._set(f"digest:{key}", digest.to_json())

    def get_pages(self, keys: Iterable[str]) -> dict[str, RenderedPage]:
        """Rendered pages by page key, for the keys that have one."""
        return self._get_records("page", keys, RenderedPage.from_json)

    def put_page(self, key: str, page: RenderedPage) -> None:
        self._set(f"page:{key}", page.to_json())

    def stats(self) -> dict[str, int]:
        """Entries by kind and bytes on disk."""
        counts = {"paper": 0, "digest": 0, "page": 0}
        for key in self._store.iterkeys():
            kind = key.split(":", 1)[0]
            counts[kind] = counts.get(kind, 0) + 1
        return counts | {"bytes": int(self._store.volume())}

    def clear(self) -> int:
        return int(self._store.clear())

    def _get_records(self, kind: str, keys: Iterable[K], parse: Callable[[Any], V]) -> dict[K, V]:
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
        `Cache.get` each is most of what keeps it at the cost of plain Markdown. This
        reads diskcache's table through its own connection and `Disk`, so a pickled row
        is refused here exactly as in `Cache.get`.
        """
        keys = list(keys)
        found: dict[str, Any] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            placeholders = ",".join("?" * len(chunk))  # only "?"s: the keys are bound, not formatted
            rows = self._store._sql(
                f"SELECT key, raw, mode, filename, value FROM Cache WHERE key IN ({placeholders})"
                " AND (expire_time IS NULL OR expire_time > ?)",
                (*chunk, time.time()),
            ).fetchall()
            for key, raw, mode, filename, value in rows:
                try:
                    if not raw:
                        raise UnsafeCacheRowError("refusing a pickled cache key")
                    text = self._store.disk.fetch(mode, filename, value, False)
                    found[key] = json.loads(text)
                except UnsafeCacheRowError as error:
                    log.warning(f"Cache: {error} for {key!r}; it will be fetched again")
                except (OSError, ValueError):
                    log.warning(f"Cache: ignored an unreadable row {key!r}; it will be fetched again")
        return found

    def _set(self, key: str, value: Any) -> None:
        self._store.set(key, json.dumps(value, ensure_ascii=False, sort_keys=True))
