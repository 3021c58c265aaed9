"""The MkDocs plugin: wiring between MkDocs' build events and the pipeline.

Site-wide prefetch happens in `on_files`, before any page renders, so the cold cost
does not depend on how papers are spread over pages; `on_page_markdown` then only
reads. Defining `on_startup` makes `mkdocs serve` keep this instance, and with it the
cache handle and clients, across rebuilds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.livereload import LiveReloadServer
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

from mkdocs_arxiv_digest.config import DigestConfig
from mkdocs_arxiv_digest.errors import DigestError, log
from mkdocs_arxiv_digest.pipeline import Pipeline, Settings, Want, file_stamp
from mkdocs_arxiv_digest.render import REQUIRED_EXTENSIONS

MATH_EXTENSION = "pymdownx.arithmatex"


class ArxivDigestPlugin(BasePlugin[DigestConfig]):
    """Expands ``arxiv-digest`` blocks into digests."""

    def __init__(self) -> None:
        self.pipeline: Pipeline | None = None
        self.scanner: PageScanner | None = None
        self.math = False

    def on_startup(self, *, command: str, dirty: bool) -> None:
        """Present so that `mkdocs serve` keeps one instance (and its pipeline) across rebuilds."""

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        for extension in REQUIRED_EXTENSIONS:
            if extension not in config.markdown_extensions:
                config.markdown_extensions.append(extension)
        self.math = MATH_EXTENSION in config.markdown_extensions
        settings = self.settings(config)
        if self.pipeline is None or self.pipeline.settings != settings:
            if self.pipeline is not None:
                self.pipeline.close()
            try:
                self.pipeline = Pipeline(settings)
            except DigestError as error:
                raise PluginError(f"arxiv-digest: {error}") from error
            self.scanner = PageScanner(self.pipeline)
        self.pipeline.begin_build()
        return config

    def settings(self, config: MkDocsConfig) -> Settings:
        """The pipeline settings of this site (also used by the command line)."""
        base_dir = Path(config.config_file_path or ".").resolve().parent
        theme_language = config.theme.get("language") or config.theme.get("locale")
        return Settings.from_options(self.config, base_dir=base_dir, default_language=str(theme_language or "en"))

    @event_priority(50)  # before other plugins read or generate pages
    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        assert self.pipeline is not None and self.scanner is not None
        try:
            self.pipeline.prefetch(self.scanner.pages(files), math=self.math)
        except DigestError as error:
            raise PluginError(f"arxiv-digest: {error}") from error
        return files

    def on_serve(
        self, server: LiveReloadServer, *, config: MkDocsConfig, builder: Callable[[], None]
    ) -> LiveReloadServer:
        """Rebuild when the snapshot changes too (it usually sits beside mkdocs.yml, unwatched)."""
        if self.pipeline is not None and self.pipeline.settings.snapshot is not None:
            server.watch(str(self.pipeline.settings.snapshot))
        return server

    def on_page_markdown(self, markdown: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
        assert self.pipeline is not None
        return self.pipeline.render_page(markdown, page.file.src_uri, math=self.math)

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        if self.pipeline is not None and self.pipeline.stats.rendered:
            log.info(self.pipeline.summary_line())

    def on_shutdown(self) -> None:
        if self.pipeline is not None:
            self.pipeline.close()
            self.pipeline = None


class PageScanner:
    """The papers each page asks for, re-read only when its file changed.

    Under `mkdocs serve`, editing one page then costs one read and one scan, not one
    per page; unchanged pages' papers are already resolved in memory.
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self._pages: dict[str, tuple[tuple[int, int], list[Want]]] = {}

    def pages(self, files: Files) -> list[tuple[str | None, list[Want]]]:
        """(Markdown, papers) of every page; Markdown is None for a page unchanged since the last scan."""
        pages: list[tuple[str | None, list[Want]]] = []
        scanned = 0
        for file in files.documentation_pages():
            # A page a plugin generates has no file to watch: it is scanned every time.
            stamp = file_stamp(Path(file.abs_src_path)) if file.abs_src_path else None
            known = self._pages.get(file.src_uri)
            if stamp is not None and known is not None and known[0] == stamp:
                pages.append((None, known[1]))
                continue
            try:
                markdown = file.content_string
            except (OSError, UnicodeDecodeError):
                continue  # MkDocs reports unreadable pages itself when it renders them
            found = self.pipeline.wants_in([markdown])
            scanned += 1
            if stamp is not None:
                self._pages[file.src_uri] = (stamp, found)
            pages.append((markdown, found))
        log.debug(f"Scanned {scanned} new or changed pages for arxiv-digest blocks")
        return pages
