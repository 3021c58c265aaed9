"""Errors and warnings: one exception base, and the one logger every warning goes through.

Domain errors stay domain errors inside the package; the MkDocs plugin turns them
into warnings (recoverable) or a `PluginError` (nothing sensible to render) at its edge.

Messages quote text from outside (a model's refusal, an error body, a URL from the
config), and a log is read by more than people: CI runners obey a line that starts
`::error ...`, terminals obey escape sequences. `shown` makes any text safe to log: one
line, no control characters, credentials in URLs redacted. The logger passes every
message through it, and so do the front ends' error edges; the message always starts
with our own prefix, so text from outside never starts a line.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

# Whatever `str.splitlines` (and so a log reader) takes for a line break becomes a space.
_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
# Other control characters go, and the formatting ones that reorder what is shown
# (bidirectional overrides and isolates: text that reads other than it is).
_CONTROLS = "".join(map(chr, [*range(0x20), 0x7F, *range(0x80, 0xA0)])).replace("\t", "")
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_ONE_LINE = str.maketrans({**dict.fromkeys(_CONTROLS + _BIDI), **dict.fromkeys(_BREAKS + "\t", " ")})
# A terminal's escape sequences (CSI `ESC [ ... letter`, and `ESC` with one character), removed whole.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-_])?|\x9b[0-?]*[ -/]*[@-~]")
# A URL: scheme, then userinfo up to the last `@` before the host ends, then the rest.
_URL = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?:(?P<userinfo>[^/?#\s]*)@)?(?P<rest>[^?#\s]*)(?:\?(?P<query>[^#\s]*))?"
)


def shown(text: object) -> str:
    """``text`` as a log may show it: one line, no control characters, no credentials in its URLs.

    A URL keeps its scheme, host, port and path; its user and password become `***`,
    and so does each value of its query (`?api-key=***`), the names staying to say what was there.
    """
    line = _ESCAPES.sub("", str(text)).translate(_ONE_LINE)
    return _URL.sub(_redacted_url, line)


def _redacted_url(match: re.Match[str]) -> str:
    userinfo = "" if match["userinfo"] is None else "***@"
    query = match["query"]
    if query is not None:
        query = "?" + "&".join(
            f"{item.split('=', 1)[0]}=***" if "=" in item else "***" if item else "" for item in query.split("&")
        )
    return f"{match['scheme']}{userinfo}{match['rest']}{query or ''}"


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
        # Formatted here, not by the handler, so that what is checked is what is shown.
        msg = shown(str(msg) % args if args else msg)
        args = ()
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


class RejectedReplyError(SummaryError):
    """The model answered, every time, with a reply the checks rejected for its content.

    Unlike a network error, a 5xx or a missing key, asking the same model again soon is
    likely to be rejected again and to cost as much: the resolver holds such a paper back
    for a while (see `resolver`).
    """


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
