"""The rows of the cache: diskcache, made safe for a cache directory restored from elsewhere.

`Store` is what `cache.Cache` keeps its rows in. Every value is read through `JsonDisk`
(`store_disk`: text only, no file outside the cache), and a row is returned only as JSON
text (`Store.texts`): a pickled key, a value stored as anything but text, is refused.
Before diskcache sees a restored `cache.db`, `open_store` mends it: any setting diskcache
does not write itself is removed and ours are put back (`store_schema.reset_settings`),
and a `cache.db` SQLite cannot use, or whose schema is not exactly diskcache's (a view or
a table of another form where a table goes, a trigger or index diskcache does not make),
is moved aside for an empty one.

Opening diskcache runs some forty statements (its schema, its settings) and a warm build
only reads, so rows are read through a read-only connection of `Store`'s own, checked by
the same `JsonDisk.fetch`, and diskcache is opened by `open_store` only for the first
write (or for a database that needs looking at: one that is not a regular file, that
SQLite cannot read, whose schema is not diskcache's, or whose `Settings` table holds
anything diskcache would not have written).
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Sequence
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

import diskcache

from mkdocs_arxiv_digest.errors import log
from mkdocs_arxiv_digest.store_disk import JsonDisk, UnsafeCacheRowError, file_kind
from mkdocs_arxiv_digest.store_schema import SETTINGS, listed, reset_settings, schema_problems, settings_problems

_DATABASE = diskcache.core.DBNAME
# SQLite keeps a database's uncommitted or unmerged writes beside it under these names.
_COMPANIONS = ("-wal", "-shm", "-journal")
# SQLite's primary result codes for "this file is not a database we can use": a file of
# something else, a damaged one, and SQL that fails on its schema (a `Settings` view, no
# `Cache` table). A locked, full, unreadable or unwritable one is raised, not moved aside.
_UNUSABLE_CODES = {1, 11, 26}  # SQLITE_ERROR, SQLITE_CORRUPT, SQLITE_NOTADB


class Store:
    """The rows of the cache in ``directory``: read through a read-only connection, written through diskcache."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.disk = JsonDisk(str(directory))
        """Reads every value through `JsonDisk.fetch`, whichever connection found its row."""
        self._cache: diskcache.Cache | None = None
        self._reader: sqlite3.Connection | None = None
        self._reader_pid = 0
        # Workers write while the main thread reads; the read-only connection is shared, one use at a time.
        self._lock = threading.RLock()

    @property
    def cache(self) -> diskcache.Cache:
        """diskcache's store, opened by `open_store` on first use (a write, counting or clearing rows)."""
        with self._lock:
            if self._cache is None:
                self._cache = open_store(self.directory)
            return self._cache

    def texts(self, keys: Sequence[str]) -> dict[str, str]:
        """The text of each unexpired row of ``keys`` (up to 500) that is text, checked as `diskcache.Cache.get` would.

        A pickled key, a value of another type, a value file diskcache did not make: each
        is refused here, and reported once a build, and the row is left out (the caller
        fetches it again and writes over it).
        """
        found: dict[str, str] = {}
        for key, raw, mode, filename, value in self._rows(keys):
            try:
                self.disk.get(key, raw)
                found[key] = self.disk.fetch(mode, filename, value, False)
            except UnsafeCacheRowError as error:
                log.warning(f"Cache: {error} (row {key!r}); it will be fetched again", once=True)
            except (OSError, ValueError):  # a value file that went, or is not UTF-8
                log.warning(f"Cache: ignored an unreadable row {key!r}; it will be fetched again", once=True)
        return found

    def _rows(self, keys: Sequence[str]) -> list[tuple[Any, ...]]:
        """``(key, raw, mode, filename, value)`` of the unexpired rows of ``keys``, as diskcache stored them."""
        placeholders = ",".join("?" * len(keys))  # only "?"s: the keys are bound, not formatted
        query = (
            f"SELECT key, raw, mode, filename, value FROM Cache WHERE key IN ({placeholders})"
            " AND (expire_time IS NULL OR expire_time > ?)"
        )
        parameters = (*keys, time.time())
        with self._lock:
            connection = self._connection()
            if connection is None:
                return []
            try:
                return connection.execute(query, parameters).fetchall()
            except sqlite3.DatabaseError:
                if connection is not self._reader:
                    raise
                # A schema diskcache did not make (no `Cache` table, other columns): diskcache's
                # open decides what becomes of it, as it did before there was a reader.
                self._close_reader()
                return self.cache._sql(query, parameters).fetchall()  # type: ignore[no-any-return]

    def close(self) -> None:
        with self._lock:
            self._close_reader()
            if self._cache is not None:
                self._cache.close()

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _connection(self) -> sqlite3.Connection | None:
        """diskcache's connection once it is open, else a read-only one; None while there is no database."""
        if self._cache is not None:
            return self._cache._con  # type: ignore[no-any-return]  # diskcache's own, per thread and process
        if self._reader is not None and self._reader_pid == os.getpid():
            return self._reader
        database = self.directory / _DATABASE
        if _not_regular(database) is None:
            if not os.path.lexists(database):
                return None  # a new cache: nothing to read, and diskcache creates it on the first write
            reader = _read_only(database)
            if reader is not None:
                self._reader, self._reader_pid = reader, os.getpid()
                return reader
        # Whatever is wrong with it, `open_store` reports and mends it, exactly as for a write.
        return self.cache._con  # type: ignore[no-any-return]


def _read_only(database: Path) -> sqlite3.Connection | None:
    """A read-only connection to ``database`` (a regular file), if its schema and `Settings` are as diskcache writes them.

    The schema is checked before any query of a row: SQLite would run a view or a
    trigger planted in it. Nothing here obeys the `Settings` table (no setting, no
    PRAGMA of it is applied); it is checked so that a table that needs resetting is
    reset, and reported, by `open_store` on every build, not only on one that happens
    to write. None when it needs that, or
    SQLite cannot read the file: `open_store` then says why, or moves the file aside.
    """
    try:
        # `mode=ro`: SQLite neither creates nor writes the database through this connection.
        reader = sqlite3.connect(
            f"{database.absolute().as_uri()}?mode=ro",
            uri=True,
            timeout=60,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error:
        return None
    try:
        if not schema_problems(reader) and not settings_problems(reader):
            return reader
    except sqlite3.Error:
        pass  # not a database SQLite can use, or a busy one: `open_store` tells which
    reader.close()
    return None


def open_store(directory: Path) -> diskcache.Cache:
    """diskcache's store in ``directory``, opened with our settings whatever its database held.

    A `cache.db` (or a file SQLite keeps beside it) that is not a regular file, that
    SQLite cannot use, or whose schema is not diskcache's, is moved aside, reported,
    and replaced by an empty cache: it is a cache, so a build that goes on and fetches
    again is what a user wants, rather than a failure that returns on every build of a
    CI cache that cannot be overwritten.
    """
    database = directory / _DATABASE
    try:
        reason = _not_regular(database) or _foreign_schema(database)
        if reason is None:
            problems = reset_settings(database)
            if problems:
                log.warning(f"Cache: reset the settings of {database}: it held {listed(problems)}")
    except sqlite3.DatabaseError as error:
        if not _unusable(error):
            raise
        reason = f"SQLite cannot use it ({error})"
    if reason is not None:
        aside = _move_aside(database)
        log.warning(
            f"Cache: moved {database} aside to {aside.name}: {reason}; the cache starts empty"
            f" (delete {aside} once you no longer need it)"
        )
    return diskcache.Cache(str(directory), disk=JsonDisk, **SETTINGS)


def _not_regular(database: Path) -> str | None:
    """Why ``database`` or a companion SQLite would open is not a regular file, or None.

    SQLite follows a link in place of the database (and writes where it leads), blocks on
    a FIFO, and fails on a directory or on a link in place of a companion.
    """
    for path in (database, *(Path(f"{database}{suffix}") for suffix in _COMPANIONS)):
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            continue  # SQLite creates it
        if not stat.S_ISREG(mode):
            return f"{'it' if path == database else path.name} is {file_kind(mode)}"
    return None


def _foreign_schema(database: Path) -> str | None:
    """Why the schema of ``database`` (a regular file, or none) is not diskcache's, or None."""
    if not database.exists():
        return None  # diskcache creates it
    with closing(sqlite3.connect(f"{database.absolute().as_uri()}?mode=ro", uri=True, timeout=60)) as db:
        problems = schema_problems(db)
    if not problems:
        return None
    return f"its schema is not diskcache's ({listed(problems)})"


def _unusable(error: sqlite3.DatabaseError) -> bool:
    """Whether ``error`` says the file is not a database we can use (rather than busy, full, ...)."""
    code = getattr(error, "sqlite_errorcode", None)  # Python 3.11+
    if code is None:
        return "locked" not in str(error)  # diskcache's own test for a busy database
    return code & 0xFF in _UNUSABLE_CODES


def _move_aside(database: Path) -> Path:
    """Rename ``database`` and its companions to the first free `cache.db.unusable[.N]`; that path.

    Renaming moves a link, never what it points to; a directory moves whole.
    """
    for number in itertools.count():
        aside = database.with_name(f"{database.name}.unusable" + (f".{number}" if number else ""))
        if not any(os.path.lexists(f"{aside}{suffix}") for suffix in ("", *_COMPANIONS)):
            break
    for suffix in ("", *_COMPANIONS):
        with suppress(FileNotFoundError):  # absent, or another build sharing the cache moved it
            os.rename(f"{database}{suffix}", f"{aside}{suffix}")
    return aside
