"""Checking the replies of a large results file in a process per core (`batch_lines.Results`).

The checks cost about a millisecond a reply in one process (`bench/batch_ingest.py`); a
results file of thousands of replies is checked by a process per core instead, the
verdicts taken back in the file's order, a bounded number of replies in flight.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mkdocs_arxiv_digest.llm import Prompt
    from mkdocs_arxiv_digest.models import Digest

    Verdict = tuple[Digest | None, str, str, bool]
    """`llm.read_reply`'s answer: the digest if accepted, the reply's text, why not, whether judged."""

POOL_FROM_BYTES = 6 * 10**6
"""A results file at least this large (~2,000 replies of ~3 KB) is checked by a process per
core: starting them costs ~0.5 s, which the ~1 ms a reply of a second core repays past
~1,000 replies (`bench/batch_ingest.py`); a smaller file is checked in this process."""
CHUNK = 64
"""Replies sent to a checking process at once."""
MAX_WORKERS = 8
"""Checking processes at most: each loads the language identifier (~97 MB), and a
container's CPU quota is not in the host's count of cores."""
IN_FLIGHT = 4
"""Chunks per process sent and not yet taken back, at most: what is held in memory besides
the line being read (~3 KB a reply: under 2 MB on 2 cores)."""


def worth_processes(stream: IO[bytes], pool_from: int | None = None) -> int:
    """How many checking processes to use for the file ``stream`` reads: a process per core if it is
    ``pool_from`` (`POOL_FROM_BYTES`) bytes or more and there is more than one core, else 0 (check here)."""
    workers = usable_cores()
    try:
        size = os.fstat(stream.fileno()).st_size
    except (OSError, ValueError):  # io.BytesIO and the like have no descriptor
        size = 0
    return workers if workers > 1 and size >= (POOL_FROM_BYTES if pool_from is None else pool_from) else 0


def usable_cores() -> int:
    """The cores this process may run on (its affinity, as `os.process_cpu_count` reads it on
    Python 3.13: a container's cpuset, not the host's count), at most `MAX_WORKERS`."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(cores, MAX_WORKERS)


def checked_in_processes(
    replies: Iterable[tuple[str, tuple[Prompt, dict[str, Any]]]], workers: int
) -> Iterator[tuple[str, Verdict]]:
    """Each (key, (prompt, completion)) of ``replies`` with its `llm.read_reply` verdict, in order.

    Raises `concurrent.futures.process.BrokenProcessPool` if a checking process dies.
    """
    # spawn, not fork: the reading process holds SQLite connections and threads.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        waiting: collections.deque[tuple[list[str], concurrent.futures.Future[list[Verdict]]]] = collections.deque()
        iterator = iter(replies)
        while chunk := list(itertools.islice(iterator, CHUNK)):
            waiting.append(([key for key, _asked in chunk], pool.submit(_read_replies, [a for _k, a in chunk])))
            while len(waiting) >= IN_FLIGHT * workers:
                yield from _taken(*waiting.popleft())
        while waiting:
            yield from _taken(*waiting.popleft())


def _taken(keys: list[str], verdicts: concurrent.futures.Future[list[Verdict]]) -> Iterator[tuple[str, Verdict]]:
    return zip(keys, verdicts.result(), strict=True)


def _read_replies(asked: list[tuple[Prompt, dict[str, Any]]]) -> list[Verdict]:
    """`llm.read_reply` of each (prompt, completion): what a checking process does."""
    from mkdocs_arxiv_digest.llm import read_reply

    return [read_reply(prompt, body) for prompt, body in asked]
