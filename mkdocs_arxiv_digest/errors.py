"""Errors and warnings: one exception base, and the one logger every warning goes through.

Domain errors stay domain errors inside the package; the MkDocs plugin turns them
into warnings (recoverable) or a `PluginError` (nothing sensible to render) at its edge.
"""

from __future__ import annotations

import logging
import threading
from typing import Any


class DigestLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """MkDocs' plugin logger, which can also say a thing once a build (``once=True``).

    A problem of the whole build (no API key, offline) is said once, not once per
    paper; `forget` starts a new build's memory (`mkdocs serve` says it again).
    """

    def __init__(self, name: str) -> None:
        # MkDocs' own plugin loggers are `mkdocs.plugins.<name>`, prefixed as here; built
        # without importing `mkdocs.plugins`, which Sphinx and the command line don't need.
        super().__init__(logging.getLogger(f"mkdocs.plugins.{name}"), {})
        self.prefix = name
        self._said: set[tuple[int, str]] = set()
        self._lock = threading.Lock()

    def log(self, level: int, msg: Any, *args: Any, once: bool = False, **kwargs: Any) -> None:  # type: ignore[override]
        if once:
            with self._lock:
                if (level, str(msg)) in self._said:
                    return
                self._said.add((level, str(msg)))
        super().log(level, msg, *args, **kwargs)

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"{self.prefix}: {msg}", kwargs

    def forget(self) -> None:
        with self._lock:
            self._said.clear()


log = DigestLogger("arxiv-digest")
"""Warnings go through MkDocs' plugin logger, so `mkdocs build --strict` fails on them."""


class DigestError(Exception):
    """Base class of every error this package raises."""


class InvalidIdError(DigestError):
    """Text that is not an arXiv identifier."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"{text!r}: {reason}")


class ArxivUnavailableError(DigestError):
    """arXiv could not be asked, or did not answer usefully, after bounded retries."""


class SummaryError(DigestError):
    """The language model gave no valid digest for a paper after bounded retries."""


class MissingApiKeyError(SummaryError):
    """No API key in the environment: generation is skipped, the build goes on."""


class RefusedReplyError(DigestError):
    """A reply refused before anything parsed it: too large, or not what its client can read safely."""

    def __init__(self, message: str, *, retry: bool = False) -> None:
        super().__init__(message)
        self.retry = retry
        """Whether asking again may help (a cut reply may come whole; a too large one will not shrink)."""


class SnapshotError(DigestError):
    """The snapshot file cannot be read."""
