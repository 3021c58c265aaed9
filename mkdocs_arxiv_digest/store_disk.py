"""`JsonDisk`: a diskcache `Disk` that stores and loads text only, and touches no file outside the cache.

diskcache (<= 5.6.3) unpickles whatever its database holds (CVE-2025-69872), and CI
restores cache directories from elsewhere, so `JsonDisk` refuses pickle both ways: a
planted pickled row is reported and ignored, never loaded. For the same reason it
trusts no row's file name and no file in the directory: it reads and deletes only
regular files inside the cache that carry the names diskcache makes.
"""

from __future__ import annotations

import os
import re
import stat
from contextlib import suppress
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
_SQL_TYPES = {int: "integer", float: "real", bytes: "blob", type(None): "null"}


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
                    f"Cache: removed {file_kind(mode)} {directory!r} from {self._directory}: a value directory goes there"
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
                return f"its directory {directory!r} is {file_kind(mode)}"
        mode = os.lstat(os.path.join(self._directory, filename)).st_mode
        return None if stat.S_ISREG(mode) else f"it is {file_kind(mode)}"

    def _read_text(self, filename: Any) -> str:
        """The text of a value file, at most `MAX_VALUE_BYTES`; UnsafeCacheRowError if it is not one."""
        reason = self._refusal(filename)
        if reason is None:
            # Should the file have become a link or a FIFO since the lstat, it is not followed or waited on.
            fd = os.open(os.path.join(self._directory, filename), _OPEN_FLAGS)
            with open(fd, "rb") as reader:
                status = os.fstat(fd)
                if not stat.S_ISREG(status.st_mode):
                    reason = f"it is {file_kind(status.st_mode)}"
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


def file_kind(mode: int) -> str:
    """What a file of this mode is, in words: "a symbolic link", "a FIFO", ..."""
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")
