"""What every front end shares (MkDocs plugin, Markdown extension, command line), so they cannot drift.

The Markdown extensions the digest needs, a site's settings, and one way to turn the
package's errors into the host's at its edge.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from mkdocs_arxiv_digest.config import DigestConfig, Settings
from mkdocs_arxiv_digest.errors import DigestError, log, shown
from mkdocs_arxiv_digest.render import REQUIRED_EXTENSIONS

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig


def missing_extensions(enabled: Iterable[object]) -> list[str]:
    """The Python-Markdown extensions the digest is written for that ``enabled`` lacks (short names)."""
    # Other plugins may have added extension instances (mkdocstrings does): those are not ours.
    names = {_short(name) for name in enabled if isinstance(name, str)}
    return [name for name in REQUIRED_EXTENSIONS if name not in names]


def site_settings(config: MkDocsConfig, options: DigestConfig) -> Settings:
    """The settings of an MkDocs site: paths relative to `mkdocs.yml`, language from the theme."""
    base_dir = Path(config.config_file_path or ".").resolve().parent
    theme_language = str(config.theme.get("language") or config.theme.get("locale") or "en")
    if not options.language:  # the theme's code is the digest's: checked as the plugin's own would be
        from mkdocs_arxiv_digest.languages import check_code

        if (problem := check_code(theme_language)) is not None:
            log.warning(f"theme.language: {problem}", once=True)
    return Settings.from_config(options, base_dir=base_dir, default_language=theme_language)


@contextmanager
def errors_as(error_type: type[Exception]) -> Iterator[None]:
    """Raise the package's errors as the host's ``error_type`` (`PluginError`, `ClickException`...).

    The message quotes what it is about (a snapshot's entry, a server's reply): it is
    made one line with no control characters or credentials (`errors.shown`), as a warning is.
    """
    try:
        yield
    except DigestError as error:
        raise error_type(f"arxiv-digest: {shown(error)}") from error


def _short(name: str) -> str:
    # `markdown.extensions.tables` and `tables` name one extension.
    return name.removeprefix("markdown.extensions.")
