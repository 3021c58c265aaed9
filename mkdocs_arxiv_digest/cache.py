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
import time
from pathlib import Path
from typing import Any

import diskcache

from mkdocs_arxiv_digest.errors import DigestError, log
from mkdocs_arxiv_digest.ids import ArxivId
from mkdocs_arxiv_digest.models import Digest, Paper


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
        return super().fetch(mode, filename, value, read)


class Cache:
    """Paper metadata by ID and digests by content key, as JSON text in `directory`."""

    def __init__(self, directory: str | os.PathLike[str], *, clock: Any = time.time) -> None:
        path = Path(directory)
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)  # mkdir's mode is filtered by the umask
        self.directory = path
        self._clock = clock
        self._store = diskcache.Cache(str(path), disk=JsonDisk)

    def close(self) -> None:
        self._store.close()

    def get_paper(self, arxiv_id: ArxivId) -> tuple[Paper, float] | None:
        """Cached metadata for the ID as requested, with its age in seconds."""
        data = self._get(f"paper:{arxiv_id}")
        if data is None:
            return None
        try:
            return Paper.from_json(data["paper"]), self._clock() - float(data["fetched"])
        except (KeyError, TypeError, ValueError) as error:
            log.warning(f"Ignored an unreadable cache row for {arxiv_id}: {error}")
            return None

    def put_paper(self, arxiv_id: ArxivId, paper: Paper) -> None:
        self._set(f"paper:{arxiv_id}", {"paper": paper.to_json(), "fetched": self._clock()})

    def get_digest(self, key: str) -> Digest | None:
        data = self._get(f"digest:{key}")
        if data is None:
            return None
        try:
            return Digest.from_json(data)
        except ValueError as error:
            log.warning(f"Ignored an unreadable cached digest: {error}")
            return None

    def put_digest(self, key: str, digest: Digest) -> None:
        self._set(f"digest:{key}", digest.to_json())

    def stats(self) -> dict[str, int]:
        """Entries by kind and bytes on disk."""
        counts = {"paper": 0, "digest": 0}
        for key in self._store.iterkeys():
            kind = key.split(":", 1)[0]
            counts[kind] = counts.get(kind, 0) + 1
        return counts | {"bytes": int(self._store.volume())}

    def clear(self) -> int:
        return int(self._store.clear())

    def _get(self, key: str) -> Any:
        try:
            text = self._store.get(key)
        except UnsafeCacheRowError as error:
            log.warning(f"Cache: {error} for {key!r}; it will be fetched again")
            return None
        if text is None:
            return None
        try:
            return json.loads(text)
        except ValueError:
            log.warning(f"Cache: ignored a row that is not JSON: {key!r}")
            return None

    def _set(self, key: str, value: Any) -> None:
        self._store.set(key, json.dumps(value, ensure_ascii=False, sort_keys=True))
