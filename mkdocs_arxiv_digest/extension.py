"""The directive as a Python-Markdown extension, for where MkDocs plugins don't run.

Zensical reads ``mkdocs.yml`` but runs no MkDocs plugins; it does run Python-Markdown
extensions, as does plain ``markdown.markdown(...)``. This extension takes the same
options as the plugin and expands the same blocks through the same pipeline and cache;
what it cannot do is what needs the whole site (prefetch across pages, the build
summary): each page resolves its own papers when it is converted.

    markdown_extensions:
      - arxiv_digest:        # or mkdocs_arxiv_digest.extension
          language: zh
          strict: true       # a problem fails the page's conversion instead of warning

Problems are warnings, as under MkDocs; but no Python-Markdown host counts them
(Zensical's ``--strict`` checks only its own links), so the extension's own ``strict``
option raises `DigestError` for a page with any. An exception is also what keeps
Zensical from storing the page: it converts a page again only when the page's source
or the config changed, and stores only pages that converted.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

from mkdocs_arxiv_digest.config import Settings, default_options, settings_from_options
from mkdocs_arxiv_digest.errors import DigestError, log
from mkdocs_arxiv_digest.fragments import Fragments
from mkdocs_arxiv_digest.frontend import missing_extensions
from mkdocs_arxiv_digest.pipeline import Pipeline
from mkdocs_arxiv_digest.postprocess import FragmentsExtension

# Before fenced_code (25), after normalize_whitespace (30).
PRIORITY = 28
_pipelines: dict[Settings, Pipeline] = {}
"""One pipeline per configuration and process: pages share the cache handle and clients."""
STRICT = "strict"
"""The extension's own option (MkDocs has `--strict`): a page with any problem raises `DigestError`."""
_UNSET_FLAGS = frozenset({"offline"})
"""Boolean options with no default: unset, the environment decides (`config.offline_from_environment`)."""
_one_strict_page = threading.Lock()
"""Strict pages convert one at a time, so no other page's warning is counted against one."""


@atexit.register
def close_pipelines() -> None:
    """Close every pipeline's cache (at exit, or when a host is done converting)."""
    while _pipelines:
        _pipelines.popitem()[1].close()


class ArxivDigestExtension(Extension):
    """Expands ``arxiv-digest`` blocks; options as the plugin's (see `DigestConfig`)."""

    def __init__(self, **kwargs: Any) -> None:
        # Python-Markdown reads a None default as "boolean" (`"true"` becomes True): so it stays
        # for `offline`, whose unset value defers to ARXIV_DIGEST_OFFLINE; other unset options are "".
        self.config = {
            name: [
                None if name in _UNSET_FLAGS else "" if default is None else default,
                f"As the plugin option `{name}`.",
            ]
            for name, default in default_options().items()
        }
        self.config[STRICT] = [False, "Raise `DigestError` for a page with any problem, instead of warning."]
        super().__init__(**kwargs)

    def extendMarkdown(self, md: Markdown) -> None:
        md.registerExtension(self)
        missing = missing_extensions(type(extension).__module__ for extension in md.registeredExtensions)
        md.registerExtensions([f"markdown.extensions.{name}" for name in missing], {})
        # One page at a time per Markdown instance: the fragments of the page being converted.
        fragments = Fragments()
        preprocessor = DigestPreprocessor(md, self.pipeline(), fragments, strict=bool(self.getConfig(STRICT)))
        md.preprocessors.register(preprocessor, "arxiv-digest", PRIORITY)
        FragmentsExtension(fragments).extendMarkdown(md)

    def pipeline(self) -> Pipeline:
        """The pipeline of these options (shared by every page converted with them); raises `DigestError`."""
        options = {
            name: value for name, value in self.getConfigs().items() if value not in ("", None) and name != STRICT
        }
        settings = settings_from_options(options, base_dir=Path.cwd(), default_language="en")
        if settings not in _pipelines:
            _pipelines[settings] = Pipeline(settings)
        return _pipelines[settings]


class DigestPreprocessor(Preprocessor):
    def __init__(self, md: Markdown, pipeline: Pipeline, fragments: Fragments, *, strict: bool = False) -> None:
        super().__init__(md)
        self.pipeline = pipeline
        self.fragments = fragments
        self.strict = strict

    def run(self, lines: list[str]) -> list[str]:
        page = hosted_page(self.md)
        self.fragments.clear()  # the last page's are resolved
        with _one_strict_page if self.strict else nullcontext(), _warnings_noted() as problems:
            text = self.pipeline.render_page("\n".join(lines), page, self.fragments)
            self.pipeline.report()  # no end of build here: each page reports its own
        if self.strict and problems:
            count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
            raise DigestError(f"{log.prefix}: {STRICT}: {page or 'the page'} has {count}: {'; '.join(problems)}")
        return text.split("\n")


def hosted_page(md: Markdown) -> str | None:
    """The page being converted, where the host says which (Zensical: its path in `docs_dir`), else None.

    Plain Python-Markdown does not know the file it converts; warnings then name only the line.
    """
    # Zensical's page context, as its own mkdocstrings and autorefs support find it. Not a
    # documented interface: should it change, warnings fall back to naming the line.
    if "rendering_context" not in md.preprocessors:
        return None
    path = getattr(getattr(md.preprocessors["rendering_context"], "page", None), "path", None)
    return path if isinstance(path, str) and path else None


class _WarningNotes(logging.Filter):
    """Notes each warning the package logs, without holding any back: the host still prints it."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            self.messages.append(record.getMessage().removeprefix(f"{log.prefix}: "))
        return True


@contextmanager
def _warnings_noted() -> Iterator[list[str]]:
    """The warnings logged meanwhile: what MkDocs' `--strict` counts, here counted per page."""
    # A filter, not a handler: a handler would stop Python's last-resort handler from
    # printing the warnings on hosts that configure no logging (Zensical).
    notes = _WarningNotes()
    log.logger.addFilter(notes)
    try:
        yield notes.messages
    finally:
        log.logger.removeFilter(notes)


def makeExtension(**kwargs: Any) -> ArxivDigestExtension:  # the name Python-Markdown looks for
    return ArxivDigestExtension(**kwargs)
