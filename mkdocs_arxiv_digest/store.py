"""diskcache made safe for a cache directory restored from elsewhere: text only, no file outside it.

diskcache (<= 5.6.3) unpickles whatever its database holds (CVE-2025-69872), and CI
restores cache directories from elsewhere, so `JsonDisk` refuses pickle both ways: a
planted pickled row is reported and ignored, never loaded. For the same reason it
trusts no row's file name and no file in the directory: it reads and deletes only
regular files inside the cache that carry the names diskcache makes. Nor does it trust
diskcache's own `Settings` table, which diskcache obeys as it opens the database: before
diskcache sees a restored `cache.db`, any setting diskcache does not write itself is
removed and ours are put back (`_reset_settings`), and a `cache.db` SQLite cannot use is
moved aside for an empty one. So is one whose schema is not exactly diskcache's (a view
or a table of another form where a table goes, a trigger or index diskcache does not
make): SQLite runs what a schema holds as the cache is read or written, and a recursive
view or trigger never returns. `open_store` gives that store. A row is returned only as
JSON text (`Store.texts`): a pickled key, a value stored as anything but text, is refused.

`Store` is what `cache.Cache` keeps its rows in. Opening diskcache runs some forty
statements (its schema, its settings) and a warm build only reads, so rows are read
through a read-only connection of `Store`'s own, checked by the same `JsonDisk.fetch`,
and diskcache is opened by `open_store` only for the first write (or for a database that
needs looking at: one that is not a regular file, that SQLite cannot read, whose schema
is not diskcache's, or whose `Settings` table holds anything diskcache would not have written).
"""

from __future__ import annotations

import itertools
import os
import re
import sqlite3
import stat
import threading
import time
from collections.abc import Sequence
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

import diskcache

from mkdocs_arxiv_digest.errors import DigestError, log

# `Disk.filename` names every value file: two levels of two hex digits, then 28 more.
_SEP = re.escape(os.sep)
_VALUE_FILE = re.compile(rf"[0-9a-f]{{2}}{_SEP}[0-9a-f]{{2}}{_SEP}[0-9a-f]{{28}}\.val")
# The largest value is a rendered page. A paper at the length limits (llm.py's
# MAX_LENGTH for the translation, arXiv's 1,920-character abstract) renders to ~32 KB
# of JSON in Chinese, ~63 KB if every character needs escaping (measured); 64 MiB is a
# page of 1,000 papers even then, beyond any reading list, yet small enough to read.
# A bigger "value" was planted: refused unread.
MAX_VALUE_BYTES = 64 * 2**20
# A symlink is refused, not followed; a FIFO must not block the open (Windows has neither flag).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
}
# diskcache acts on every row of its `Settings` table as it opens the database, before
# the settings passed to it count: each key becomes an attribute of the `Cache` (so
# `_directory` moves the database elsewhere, `close` breaks it), a `disk_*` key an
# argument of the `Disk`, a `sqlite_*` key a `PRAGMA name = value` formatted unescaped.
# Ours are diskcache's defaults, given explicitly; the table may hold them, and the
# counters its triggers keep (integers), in a table of the form diskcache creates.
SETTINGS: dict[str, Any] = dict(diskcache.DEFAULT_SETTINGS)
_COUNTERS = tuple(diskcache.core.METADATA)
_SETTINGS_TABLE = "CREATE TABLE Settings ( key TEXT NOT NULL UNIQUE, value)"
_DATABASE = diskcache.core.DBNAME
# Every object diskcache 5.6 creates in `cache.db` (with any settings), as SQLite keeps
# it in `sqlite_master` (without "IF NOT EXISTS"): copied from `diskcache.core`, and
# compared with what diskcache makes by tests/test_security_io.py. SQLite runs what the
# schema holds as rows are read or written (a view, a trigger, an index's expression),
# so a database holding any other object, or one of these names of another form, is not
# used. Missing ones are fine: diskcache creates them.
DISKCACHE_SCHEMA = frozenset(
    {
        ("table", "Settings", _SETTINGS_TABLE),
        ("index", "sqlite_autoindex_Settings_1", None),  # of `Settings`' UNIQUE key
        (
            "table",
            "Cache",
            "CREATE TABLE Cache ( rowid INTEGER PRIMARY KEY, key BLOB, raw INTEGER, store_time REAL,"
            " expire_time REAL, access_time REAL, access_count INTEGER DEFAULT 0, tag BLOB,"
            " size INTEGER DEFAULT 0, mode INTEGER DEFAULT 0, filename TEXT, value BLOB)",
        ),
        ("index", "Cache_key_raw", "CREATE UNIQUE INDEX Cache_key_raw ON Cache(key, raw)"),
        ("index", "Cache_expire_time", "CREATE INDEX Cache_expire_time ON Cache (expire_time)"),
        ("index", "Cache_tag_rowid", "CREATE INDEX Cache_tag_rowid ON Cache(tag, rowid)"),
        *(
            # "CREATE INDEX IF NOT EXISTS <name> ON Cache (<column>)": the name is its sixth word.
            ("index", policy["init"].split()[5], policy["init"].replace(" IF NOT EXISTS", ""))
            for policy in diskcache.core.EVICTION_POLICY.values()
            if policy["init"] is not None
        ),
        *(
            ("trigger", name, f"CREATE TRIGGER {name} AFTER {event} ON Cache FOR EACH ROW BEGIN {body}; END")
            for name, event, body in (
                ("Settings_count_insert", "INSERT", 'UPDATE Settings SET value = value + 1 WHERE key = "count"'),
                ("Settings_count_delete", "DELETE", 'UPDATE Settings SET value = value - 1 WHERE key = "count"'),
                ("Settings_size_insert", "INSERT", 'UPDATE Settings SET value = value + NEW.size WHERE key = "size"'),
                (
                    "Settings_size_update",
                    "UPDATE",
                    'UPDATE Settings SET value = value + NEW.size - OLD.size WHERE key = "size"',
                ),
                ("Settings_size_delete", "DELETE", 'UPDATE Settings SET value = value - OLD.size WHERE key = "size"'),
            )
        ),
    }
)
_SQL_TYPES = {int: "integer", float: "real", bytes: "blob", type(None): "null"}
# SQLite keeps a database's uncommitted or unmerged writes beside it under these names.
_COMPANIONS = ("-wal", "-shm", "-journal")
# SQLite's primary result codes for "this file is not a database we can use": a file of
# something else, a damaged one, and SQL that fails on its schema (a `Settings` view, no
# `Cache` table). A locked, full, unreadable or unwritable one is raised, not moved aside.
_UNUSABLE_CODES = {1, 11, 26}  # SQLITE_ERROR, SQLITE_CORRUPT, SQLITE_NOTADB


class UnsafeCacheRowError(DigestError):
    """A cache row that is not plain JSON text (e.g. a pickle planted in the database)."""


class JsonDisk(diskcache.Disk):  # type: ignore[misc]
    """A diskcache `Disk` that stores and loads text only, and reads, writes or deletes no file outside the cache."""

    def put(self, key: Any) -> tuple[Any, bool]:
        if type(key) is not str:
            raise TypeError("cache keys are strings")
        return key, True

    def get(self, key: Any, raw: bool) -> Any:
        if not raw:
            raise UnsafeCacheRowError("refusing a pickled cache key")
        if type(key) is not str:
            raise UnsafeCacheRowError(f"refusing a cache key that is {_SQL_TYPES.get(type(key), 'not text')}, not text")
        return key

    def store(self, value: Any, read: bool, key: Any = diskcache.core.UNKNOWN) -> Any:
        if type(value) is not str:
            raise TypeError("cache values are JSON text")
        return super().store(value, read, key=key)

    def filename(self, key: Any = diskcache.core.UNKNOWN, value: Any = diskcache.core.UNKNOWN) -> tuple[str, str]:
        """A fresh value file name, with nothing planted where its directories go.

        diskcache's `os.makedirs` follows a symbolic link that stands in for one of its
        directories and writes the value outside the cache; such a stand-in is ours to
        remove (unlinking a link never touches its target), and is reported.
        """
        filename, full_path = super().filename(key, value)
        top, sub, _ = filename.split(os.sep)
        for directory in (top, os.path.join(top, sub)):
            path = os.path.join(self._directory, directory)
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:
                break  # makedirs creates it, and what lies below, as real directories
            if not stat.S_ISDIR(mode):
                log.warning(
                    f"Cache: removed {_kind(mode)} {directory!r} from {self._directory}: a value directory goes there"
                )
                os.unlink(path)
                break
        return filename, full_path

    def fetch(self, mode: int, filename: Any, value: Any, read: bool) -> Any:
        if mode not in (diskcache.core.MODE_RAW, diskcache.core.MODE_TEXT):
            raise UnsafeCacheRowError(f"refusing a cache row stored in mode {mode} (only text is allowed)")
        if mode == diskcache.core.MODE_RAW:
            # `store` keeps a short text in the row; SQLite's columns hold any type, and a
            # planted number or blob would reach the JSON parser as something else.
            if type(value) is not str:
                raise UnsafeCacheRowError(
                    f"refusing a cache row whose value is {_SQL_TYPES.get(type(value), 'not text')}, not text"
                )
            return value
        return self._read_text(filename)

    def remove(self, file_path: Any) -> None:
        """Delete a value file diskcache made here; refuse, and report, any other path.

        Every deletion goes through here: `set` over an old row, `delete`, `clear`, cull,
        evict, expire. diskcache would delete whatever path a row names, then
        `os.removedirs` its parents, which climbs past the cache directory.
        """
        try:
            reason = self._refusal(file_path)
        except OSError:
            return  # already gone: another build sharing the cache removed it
        if reason is not None:
            log.warning(f"Cache: refused to delete {file_path!r} from {self._directory}: {reason}", once=True)
            return
        top, sub, _ = file_path.split(os.sep)
        # Errors suppressed as diskcache does: another build may remove the same file or directory.
        with suppress(OSError):
            os.remove(os.path.join(self._directory, file_path))
            # Only diskcache's two levels of directories, never the cache directory or above.
            os.rmdir(os.path.join(self._directory, top, sub))
            os.rmdir(os.path.join(self._directory, top))

    def _refusal(self, filename: Any) -> str | None:
        """Why ``filename`` is not a regular file that diskcache named in this cache, or None.

        Looks without following links or opening anything; raises OSError when the file
        or its directories are missing.
        """
        if not (isinstance(filename, str) and _VALUE_FILE.fullmatch(filename)):
            return "it is not a name diskcache makes"  # absolute, `..`, or anything else
        top, sub, _ = filename.split(os.sep)
        for directory in (top, os.path.join(top, sub)):
            mode = os.lstat(os.path.join(self._directory, directory)).st_mode
            if not stat.S_ISDIR(mode):
                return f"its directory {directory!r} is {_kind(mode)}"
        mode = os.lstat(os.path.join(self._directory, filename)).st_mode
        return None if stat.S_ISREG(mode) else f"it is {_kind(mode)}"

    def _read_text(self, filename: Any) -> str:
        """The text of a value file, at most `MAX_VALUE_BYTES`; UnsafeCacheRowError if it is not one."""
        reason = self._refusal(filename)
        if reason is None:
            # Should the file have become a link or a FIFO since the lstat, it is not followed or waited on.
            fd = os.open(os.path.join(self._directory, filename), _OPEN_FLAGS)
            with open(fd, "rb") as reader:
                status = os.fstat(fd)
                if not stat.S_ISREG(status.st_mode):
                    reason = f"it is {_kind(status.st_mode)}"
                elif status.st_size > MAX_VALUE_BYTES:
                    reason = f"it is larger than {MAX_VALUE_BYTES} bytes"
                else:
                    # Its size and a byte more (a read of the limit allocates the limit, 64 MiB,
                    # for every page a warm build serves); if that byte came, it grew since the
                    # fstat: read on, to the limit.
                    data = reader.read(status.st_size + 1)
                    if len(data) > status.st_size:
                        data += reader.read(MAX_VALUE_BYTES + 1 - len(data))
                    if len(data) <= MAX_VALUE_BYTES:  # else it grew past the limit since the fstat
                        return data.decode("utf-8")
                    reason = f"it is larger than {MAX_VALUE_BYTES} bytes"
        raise UnsafeCacheRowError(f"refusing a cache row whose value file is {filename!r}: {reason}")


def _kind(mode: int) -> str:
    """What a file of this mode is, in words: "a symbolic link", "a FIFO", ..."""
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


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
        if not _schema_problems(reader) and not _settings_problems(reader):
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
            problems = _reset_settings(database)
            if problems:
                log.warning(f"Cache: reset the settings of {database}: it held {_listed(problems)}")
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
            return f"{'it' if path == database else path.name} is {_kind(mode)}"
    return None


def _foreign_schema(database: Path) -> str | None:
    """Why the schema of ``database`` (a regular file, or none) is not diskcache's, or None."""
    if not database.exists():
        return None  # diskcache creates it
    with closing(sqlite3.connect(f"{database.absolute().as_uri()}?mode=ro", uri=True, timeout=60)) as db:
        problems = _schema_problems(db)
    if not problems:
        return None
    return f"its schema is not diskcache's ({_listed(problems)})"


def _schema_problems(db: sqlite3.Connection) -> list[str]:
    """What the schema holds that diskcache does not create, in words (none: []).

    Reads `sqlite_master` only, which runs nothing the schema holds. The `Settings`
    table's own form is `_settings_problems`'s: a table or view of that name is rebuilt.
    """
    known = {(kind, name) for kind, name, _sql in DISKCACHE_SCHEMA}
    problems = []
    # Tables and views first: where a table goes is what a reader most needs told.
    query = "SELECT type, name, sql FROM sqlite_master ORDER BY type NOT IN ('table', 'view'), rowid"
    for kind, name, sql in db.execute(query):
        if (kind, name, sql) in DISKCACHE_SCHEMA:
            continue
        if kind in ("table", "view") and isinstance(name, str) and name.lower() == "settings":
            continue
        article = "an" if str(kind)[:1] in "aeiou" else "a"
        problems.append(f"{article} {kind} {_shown(name)}" + (" of another form" if (kind, name) in known else ""))
    return problems


def _listed(problems: list[str]) -> str:
    """The first few ``problems``, joined, saying how many more there are."""
    return ", ".join(problems[:5]) + (f" and {len(problems) - 5} more" if len(problems) > 5 else "")


def _reset_settings(database: Path) -> list[str]:
    """Rewrite the `Settings` table as diskcache writes it, if it holds anything else; what it held.

    Runs before diskcache opens the database, which applies the table's `sqlite_*` rows
    to its first connection before any setting passed to it counts. In one transaction,
    so a build sharing the cache sees the old table or the new one.
    """
    with closing(sqlite3.connect(database, timeout=60, isolation_level=None)) as db:
        # Read first, without a write lock: the table is nearly always as diskcache wrote it,
        # and a lock on every build would make concurrent builds wait on each other.
        if not _settings_problems(db):
            return []
        db.execute("BEGIN IMMEDIATE")  # read again and rewrite with no build writing in between
        problems = _settings_problems(db)
        if problems:
            found = db.execute("SELECT type, name FROM sqlite_master WHERE name = 'Settings' COLLATE NOCASE")
            for kind, name in found.fetchall():
                db.execute(f'DROP {kind} "{name}"')  # kind: table, view, index or trigger, from SQLite itself
            db.execute(_SETTINGS_TABLE)
            db.executemany("INSERT INTO Settings VALUES (?, ?)", SETTINGS.items())
            # The counters diskcache's triggers keep, recounted; hits and misses (statistics are off) restart.
            [(count, size)] = db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM Cache").fetchall()
            counters = {"count": count, "size": size, "hits": 0, "misses": 0}
            db.executemany("INSERT INTO Settings VALUES (?, ?)", ((key, counters.get(key, 0)) for key in _COUNTERS))
        db.execute("COMMIT")
    return problems


def _settings_problems(db: sqlite3.Connection) -> list[str]:
    """What in the `Settings` table diskcache would not have written itself, in words (none: [])."""
    schema = db.execute("SELECT type, sql FROM sqlite_master WHERE name = 'Settings' COLLATE NOCASE").fetchall()
    if not schema:
        return []  # a new database: diskcache creates the table
    if schema != [("table", _SETTINGS_TABLE)]:
        return ["a Settings table of another form"]
    problems = []
    for key, value in db.execute("SELECT key, value FROM Settings"):
        if key in SETTINGS:
            if type(value) is not type(SETTINGS[key]) or value != SETTINGS[key]:
                problems.append(f"{key} = {_shown(value)}")
        elif key in _COUNTERS:
            if type(value) is not int:
                problems.append(f"{key} = {_shown(value)}")
        else:
            problems.append(f"an unknown setting {_shown(key)}")
    return problems


def _shown(value: Any) -> str:
    """A planted key or value as the log shows it: quoted, escaped, and at most 100 characters."""
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


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
