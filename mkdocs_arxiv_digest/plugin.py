"""The MkDocs plugin: wiring between MkDocs' build events and the pipeline.

Site-wide prefetch happens in `on_files`, before any page renders, so the cold cost
does not depend on how papers are spread over pages; `on_page_markdown` then only
reads. The digest's stylesheet (`stylesheet`) is a file of the site, listed in
`extra_css`; `on_post_page` keeps the digests' footnote ids unique on pages that
gather several posts' excerpts (`unique_ids`). Defining `on_startup` makes `mkdocs serve` keep this instance, and with it the
cache handle and clients, across rebuilds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from mkdocs_arxiv_digest.config import DigestConfig
from mkdocs_arxiv_digest.frontend import errors_as, missing_extensions, site_settings
from mkdocs_arxiv_digest.pipeline import Pipeline
from mkdocs_arxiv_digest.stylesheet import SITE_PATH, DigestTableExtension, stylesheet
from mkdocs_arxiv_digest.unique_ids import unique_footnote_ids

if TYPE_CHECKING:
    from mkdocs.livereload import LiveReloadServer  # the file watcher: `mkdocs build` never loads it


class ArxivDigestPlugin(BasePlugin[DigestConfig]):
    """Expands ``arxiv-digest`` blocks into digests."""

    def __init__(self) -> None:
        self.pipeline: Pipeline | None = None

    def on_startup(self, *, command: str, dirty: bool) -> None:
        """Present so that `mkdocs serve` keeps one instance (and its pipeline) across rebuilds."""

    # After mkdocs-static-i18n's (-100), which sets `theme.language` to the language this
    # build is for: with no `language` option, the digest is in the language of the build.
    @event_priority(-110)
    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        config.markdown_extensions.extend(missing_extensions(config.markdown_extensions))
        settings = site_settings(config, self.config)
        if self.pipeline is None or self.pipeline.settings != settings:
            self.on_shutdown()
            with errors_as(PluginError):
                self.pipeline = Pipeline(settings)
        self.pipeline.begin_build()
        # An extension instance, as mkdocstrings adds its own: MkDocs passes it to Python-Markdown as is.
        # mkdocs-static-i18n builds each language with the same config: one instance of each, this build's.
        extensions = [self.pipeline.markdown_extension(), DigestTableExtension()]
        kinds = tuple(type(extension) for extension in extensions)
        config.markdown_extensions[:] = [e for e in config.markdown_extensions if not isinstance(e, kinds)]
        config.markdown_extensions.extend(extensions)  # type: ignore[arg-type]
        if SITE_PATH not in config.extra_css:
            config.extra_css.append(SITE_PATH)
        return config

    # Late: the files this build renders, as other plugins left them (mkdocs-static-i18n keeps
    # only the language being built at -100; a paper asked for in a language no page shows is waste).
    @event_priority(-110)
    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        assert self.pipeline is not None
        with errors_as(PluginError):
            self.pipeline.prefetch(self.pipeline.scan(files))
        if files.get_file_from_path(SITE_PATH) is None:  # a site's own file of that name wins
            files.append(File.generated(config, SITE_PATH, content=stylesheet()))
        return files

    def on_serve(
        self, server: LiveReloadServer, *, config: MkDocsConfig, builder: Callable[[], None]
    ) -> LiveReloadServer:
        """Rebuild when the snapshot changes too (it usually sits beside mkdocs.yml, unwatched)."""
        snapshot = self.pipeline.settings.snapshot if self.pipeline is not None else None
        if snapshot is not None and snapshot.exists():
            server.watch(str(snapshot))
        elif snapshot is not None and snapshot.parent.is_dir():
            # Not written yet (the normal first state): watch its folder, not below, for it to appear.
            server.watch(str(snapshot.parent), recursive=False)
        return server

    def on_page_markdown(self, markdown: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
        assert self.pipeline is not None
        return self.pipeline.render_page(markdown, page.file.src_uri)

    @event_priority(-100)  # after other plugins have put the page together
    def on_post_page(self, output: str, *, page: Page, config: MkDocsConfig) -> str:
        return unique_footnote_ids(output)

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        if self.pipeline is not None:
            self.pipeline.end_build()

    def on_shutdown(self) -> None:
        if self.pipeline is not None:
            self.pipeline.close()
            self.pipeline = None
