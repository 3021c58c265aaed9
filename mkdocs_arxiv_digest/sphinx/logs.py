"""Warnings through Sphinx's logger, and the core's records forwarded to it (so ``-W`` counts them)."""

from __future__ import annotations

import logging

from sphinx.util import logging as sphinx_logging

from mkdocs_arxiv_digest.errors import log as core_log

NAME = "arxiv-digest"
"""The directive's name, and the type of its warnings (``suppress_warnings = ["arxiv-digest"]``)."""
DIRECTIVE = "directive"
"""The subtype of warnings about a directive itself (an unreadable ID, invalid YAML, an unknown option);
a paper shown incomplete has its `Failure.kind` (``arxiv-digest.unknown-id``, ``.offline``...)."""
FORWARDED = "build"
"""The subtype of the core's own records (the once-a-build "OPENAI_API_KEY is not set")."""

logger = sphinx_logging.getLogger("mkdocs_arxiv_digest.sphinx")


class _Forward(logging.Handler):
    """The core's records (it logs through MkDocs' logger) said through Sphinx's, for ``-W``."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self._source = logging.getLogger(core_log.logger.name)
        self._saved: tuple[int, bool] | None = None

    def attach(self) -> None:
        if self._saved is None:
            self._saved = (self._source.level, self._source.propagate)
            self._source.addHandler(self)
            # Said once, by Sphinx: not again by whatever handles MkDocs' records.
            self._source.propagate = False
            self._source.setLevel(logging.INFO)

    def detach(self) -> None:
        if self._saved is not None:
            self._source.removeHandler(self)
            self._source.setLevel(self._saved[0])
            self._source.propagate = self._saved[1]
            self._saved = None

    def emit(self, record: logging.LogRecord) -> None:
        logger.log(record.levelno, record.getMessage(), type=NAME, subtype=FORWARDED)
