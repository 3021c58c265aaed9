"""One Sphinx application's digests: settings, pipeline, and what each document noted."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sphinx.errors import ConfigError

from mkdocs_arxiv_digest.config import Settings
from mkdocs_arxiv_digest.errors import DigestError
from mkdocs_arxiv_digest.pipeline import Pipeline
from mkdocs_arxiv_digest.sphinx.logs import _Forward, logger
from mkdocs_arxiv_digest.sphinx.options import PREFIX, _conf_values, option_names, settings_from_conf
from mkdocs_arxiv_digest.sphinx.scanning import scan_documents

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.config import Config
    from sphinx.environment import BuildEnvironment


class SphinxDigests:
    """One Sphinx application's digests: its settings and its pipeline (per-document state is in the Domain)."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self._pipeline: Pipeline | None = None
        self._forward = _Forward()

    def configure(self, app: Sphinx, config: Config) -> None:
        """Validate the ``arxiv_digest_*`` values, as the plugin validates `mkdocs.yml` (``config-inited``)."""
        values = {name: config[name] for name in (PREFIX + option for option in option_names())}
        values |= {key: value for key, value in _conf_values(config).items() if key.startswith(PREFIX)}
        confdir = Path(app.confdir or app.srcdir)
        try:
            self.settings = settings_from_conf(values, confdir=confdir, sphinx_language=config.language)
        except DigestError as error:
            raise ConfigError(f"arxiv-digest: {error}") from error

    def begin_build(self, app: Sphinx) -> None:
        """Say the core's warnings through Sphinx's logger for this build (``builder-inited``)."""
        self._forward.attach()

    def pipeline(self) -> Pipeline:
        """The build's pipeline, opened on first need (a build that reads no digest opens no cache)."""
        if self._pipeline is None:
            assert self.settings is not None, "config-inited comes first"
            try:
                self._pipeline = Pipeline(self.settings)
            except DigestError as error:
                raise ConfigError(f"arxiv-digest: {error}") from error
            self._pipeline.begin_build()
        return self._pipeline

    def prefetch(self, app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
        """Resolve every paper of the documents about to be read, at once (``env-before-read-docs``)."""
        assert self.settings is not None
        # A query block's papers are its pin's: the pipeline (and the cache) is opened only for one.
        pages = list(
            scan_documents(
                env,
                docnames,
                app.config.source_suffix,
                self.settings,
                pin=lambda directives, docname: self.pipeline().pin(directives, docname),
            )
        )
        if not pages:
            return
        pipeline = self.pipeline()
        pipeline.prefetch(pages)
        pipeline.note_shown(request for page in pages for request in page.requests)

    def finish(self, app: Sphinx, exception: Exception | None) -> None:
        """The build's summary; close the cache (``build-finished``)."""
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            if pipeline.shown and exception is None:
                logger.info(f"arxiv-digest: {pipeline.summary_line()}")
            pipeline.close()
        self._forward.detach()
