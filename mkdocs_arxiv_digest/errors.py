"""Errors and warnings: one exception base, and the one logger every warning goes through.

Domain errors stay domain errors inside the package; the MkDocs plugin turns them
into warnings (recoverable) or a `PluginError` (nothing sensible to render) at its edge.
"""

from __future__ import annotations

from mkdocs.plugins import get_plugin_logger

log = get_plugin_logger("arxiv-digest")
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


class SnapshotError(DigestError):
    """The snapshot file cannot be read."""
