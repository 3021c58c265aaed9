"""The directive as a Python-Markdown extension, for where MkDocs plugins don't run.

Zensical reads ``mkdocs.yml`` but runs no MkDocs plugins; it does run Python-Markdown
extensions, as does plain ``markdown.markdown(...)``. This extension takes the same
options as the plugin and expands the same blocks through the same pipeline and cache;
what it cannot do is what needs the whole site (prefetch across pages, the build
summary): each page resolves its own papers when it is converted.

    markdown_extensions:
      - arxiv_digest:        # or mkdocs_arxiv_digest.extension
          language: zh
"""

from __future__ import annotations

import atexit
from pathlib import Path
from typing import Any

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

from mkdocs_arxiv_digest.config import Settings, default_options, validated_options
from mkdocs_arxiv_digest.frontend import missing_extensions, renders_math
from mkdocs_arxiv_digest.pipeline import Pipeline

# Before fenced_code (25), after normalize_whitespace (30).
PRIORITY = 28
_pipelines: dict[Settings, Pipeline] = {}
"""One pipeline per configuration and process: pages share the cache handle and clients."""


@atexit.register
def close_pipelines() -> None:
    """Close every pipeline's cache (at exit, or when a host is done converting)."""
    while _pipelines:
        _pipelines.popitem()[1].close()


class ArxivDigestExtension(Extension):
    """Expands ``arxiv-digest`` blocks; options as the plugin's (see `DigestConfig`)."""

    def __init__(self, **kwargs: Any) -> None:
        # Python-Markdown reads a None default as "boolean"; unset text options are "" here.
        self.config = {
            name: ["" if default is None else default, f"As the plugin option `{name}`."]
            for name, default in default_options().items()
        }
        super().__init__(**kwargs)

    def extendMarkdown(self, md: Markdown) -> None:
        md.registerExtension(self)
        missing = missing_extensions(type(extension).__module__ for extension in md.registeredExtensions)
        md.registerExtensions([f"markdown.extensions.{name}" for name in missing], {})
        md.preprocessors.register(DigestPreprocessor(md, self.pipeline()), "arxiv-digest", PRIORITY)

    def pipeline(self) -> Pipeline:
        """The pipeline of these options (shared by every page converted with them); raises `DigestError`."""
        config = validated_options({name: value for name, value in self.getConfigs().items() if value != ""})
        settings = Settings.from_config(config, base_dir=Path.cwd(), default_language="en")
        if settings not in _pipelines:
            _pipelines[settings] = Pipeline(settings)
        return _pipelines[settings]


class DigestPreprocessor(Preprocessor):
    def __init__(self, md: Markdown, pipeline: Pipeline) -> None:
        super().__init__(md)
        self.pipeline = pipeline

    def run(self, lines: list[str]) -> list[str]:
        math = renders_math(type(extension).__module__ for extension in self.md.registeredExtensions)
        # Python-Markdown does not know which file it converts: warnings name the line.
        return self.pipeline.render_page("\n".join(lines), None, math=math).split("\n")


def makeExtension(**kwargs: Any) -> ArxivDigestExtension:  # the name Python-Markdown looks for
    return ArxivDigestExtension(**kwargs)
