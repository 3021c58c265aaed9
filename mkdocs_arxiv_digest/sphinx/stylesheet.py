"""The digest's stylesheet on a Sphinx site: the MkDocs plugin's file, linked from every HTML page.

`assets/arxiv-digest.css` (a tap target for each Ref, a layout for phones) holds the
rules for both hosts: `nodes` gives the digest's table the class ``arxiv-digest``, which
its selectors match beside the MkDocs plugin's ``data-arxiv-digest``. For HTML builders
only (``html``, ``dirhtml``, ``singlehtml``, ``epub``...), its directory joins
``html_static_path`` and the file is linked as ``_static/arxiv-digest.css``; LaTeX and
the other builders never see it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphinx.application import Sphinx

# The directory `mkdocs_arxiv_digest.stylesheet.stylesheet()` reads the file from. Not
# imported from that module: it loads Python-Markdown, which a Sphinx build never needs.
ASSETS = Path(__file__).resolve().parent.parent / "assets"
"""The package's assets directory: the stylesheet and nothing else."""
FILE_NAME = "arxiv-digest.css"
"""The stylesheet's name, in `ASSETS` and in the site's ``_static``."""


def add_stylesheet(app: Sphinx) -> None:
    """Copy the stylesheet into an HTML build's ``_static`` and link it from every page (``builder-inited``)."""
    if app.builder.format != "html":
        return
    # First in the list: Sphinx copies the entries in order, so a project's own
    # `_static/arxiv-digest.css` replaces ours, as a site's own file does on MkDocs. A new
    # list: the option's default `[]` is one object for every Sphinx of the process.
    app.config.html_static_path = [str(ASSETS), *app.config.html_static_path]
    app.add_css_file(FILE_NAME)
