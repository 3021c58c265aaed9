"""One spacing of requests to a host for every process of a user on a machine.

arXiv's limit is per client, not per process: a CI matrix, `mkdocs serve` beside
`arxiv-digest prefetch`, or two sites built at once each spaced their own requests and
together sent them 0 s apart. Here the time of the last request to a host, and a time
before which no request may be sent at all (a `Retry-After`), live in a small JSON file
in the user's cache directory (`platformdirs`), read and written under a file lock
(`filelock`, an `flock` released if its process dies).

A process reserves its turn under the lock — the later of now, the last request plus its
spacing, and the `Retry-After` time — writes it as the new last request, releases the
lock and sleeps until then: processes queue one spacing apart and the lock is never held
across a sleep. When the request ends the last-request time moves to its end, so a slow
reply does not eat into the next one's spacing.

Times are wall-clock seconds (`time.time`), the one clock processes share. A stored time
far in the future (a clock set back, a hand-edited file) is ignored. A directory that
cannot be written (a read-only home) leaves each process spacing its own requests, said
once.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mkdocs_arxiv_digest.errors import log

APP_NAME = "mkdocs-arxiv-digest"
LOCK_TIMEOUT = 10.0
"""Seconds to wait for the lock; it is held for a file read and write, microseconds."""
FUTURE_LIMIT = 3600.0
"""A stored time further ahead than this is not believed (arXiv's longest Retry-After seen
in peers' reports is minutes; a queue of processes is a few spacings deep)."""
MAX_STATE_BYTES = 4096


def default_directory() -> Path:
    """Where every process of this user keeps the spacing files: the user cache directory."""
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "spacing"


class Spacing:
    """Turns to send a request to one host, shared by every process of this user."""

    def __init__(
        self,
        host: str,
        *,
        directory: Path | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.host = host
        self._directory = directory
        self._clock = clock
        self._sleep = sleep
        self._local: dict[str, float] = {"last": -math.inf, "not_before": -math.inf}
        """This process's own times, used alone when the shared file cannot be."""
        self._shared = True

    def wait_turn(self, spacing: float, *, at_least: float = 0.0, limit: float = math.inf) -> float | None:
        """Sleep until a request may be sent; return the seconds slept.

        The turn is ``spacing`` after the last request of any process, ``at_least`` from
        now (a backoff), and not before a `defer`red time. When the deferred part of the
        wait (not the queue, not the backoff) would be longer than ``limit``, nothing is
        reserved and None is returned: the caller gives up rather than wait past its deadline.
        """
        with self._state() as state:
            now = self._clock()
            deferred = state["not_before"] - now
            if deferred > limit:
                return None
            # Waits counted from now, so that a backoff of 4 s is a sleep of exactly 4 s.
            wait = max(0.0, at_least, state["last"] + spacing - now, deferred)
            state["last"] = now + wait
        if wait > 0:
            self._sleep(wait)
        return wait

    def done(self) -> None:
        """The request sent on this turn has ended: the next spacing counts from now."""
        with self._state() as state:
            state["last"] = max(state["last"], self._clock())

    def defer(self, until: float) -> None:
        """No process sends a request before ``until`` (a `Retry-After` from the host)."""
        with self._state() as state:
            # Bounded as a stored time is when read back: a huge Retry-After must not stop
            # this process (`mkdocs serve`) for longer than any other would believe it.
            state["not_before"] = max(state["not_before"], min(until, self._clock() + FUTURE_LIMIT))

    # -- the shared state --------------------------------------------------------------

    def _state(self) -> _Locked:
        if self._shared:
            try:
                return _Locked(self._path(), self._clock(), self._local)
            except OSError as error:
                self._shared = False
                log.info(
                    f"arXiv: cannot keep the spacing of requests shared by every build on this machine "
                    f"({type(error).__name__}: {error}); spacing this process's requests only",
                    once=True,
                )
        return _Locked(None, self._clock(), self._local)

    def _path(self) -> Path:
        directory = self._directory or default_directory()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = hashlib.sha256(self.host.encode()).hexdigest()[:24]  # a host:port need not be a file name
        return directory / f"{name}.json"


class _Locked:
    """The state file, read under its lock on entry and written back on exit."""

    def __init__(self, path: Path | None, now: float, local: dict[str, float]) -> None:
        self._path = path
        self._local = local
        self._lock: Any = None
        if path is not None:
            from filelock import FileLock, Timeout

            lock = FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT, mode=0o600)
            try:
                lock.acquire()
            except Timeout as error:  # held for microseconds by a live process: something is wrong
                raise OSError(f"the lock {lock.lock_file} was held for {LOCK_TIMEOUT:g} s") from error
            self._lock = lock
        self.state = dict(local)
        if path is not None:
            for key, value in _read(path, now).items():
                self.state[key] = max(self.state[key], value)

    def __enter__(self) -> dict[str, float]:
        return self.state

    def __exit__(self, *exc_info: object) -> None:
        self._local.update(self.state)
        try:
            if self._path is not None:
                temporary = self._path.with_suffix(f".{os.getpid()}.tmp")
                finite = {key: value for key, value in self.state.items() if math.isfinite(value)}
                temporary.write_text(json.dumps(finite), encoding="utf-8")
                os.replace(temporary, self._path)  # whole or not at all, for a reader without the lock
        except OSError as error:
            log.info(f"arXiv: could not record the time of a request ({error})", once=True)
        finally:
            if self._lock is not None:
                self._lock.release()


def _read(path: Path, now: float) -> dict[str, float]:
    """The times stored in ``path`` that are believable; nothing for a missing or malformed file."""
    try:
        with path.open("rb") as file:
            data = json.loads(file.read(MAX_STATE_BYTES))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    times = {}
    for key in ("last", "not_before"):
        value = data.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        if math.isfinite(value) and value - now <= FUTURE_LIMIT:
            times[key] = float(value)
    return times
