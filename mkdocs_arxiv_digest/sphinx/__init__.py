"""The Sphinx extension: an ``arxiv-digest`` directive for reST and MyST, on the MkDocs plugin's core.

In ``conf.py``: ``extensions = ["mkdocs_arxiv_digest.sphinx"]``, and any option of the
plugin as ``arxiv_digest_<option>`` — the names, meanings and defaults of `DigestConfig`;
`arxiv_digest_language` defaults to Sphinx's ``language``.

Before Sphinx reads documents (``env-before-read-docs``), the documents it is about to
read are scanned for directives and every paper is resolved at once, in the main
process; the directive then renders from memory, in that process or in a parallel
reader forked from it (which so never opens the cache or the network for a prefetched
paper). A document whose digest came out incomplete is read again by the next build,
to retry; one showing unversioned papers, once their metadata is due a refresh.
Warnings go through Sphinx's logger with the document and line, so ``-W`` fails on
them; so do the core's own (the once-a-build "OPENAI_API_KEY is not set"). HTML
builds link the digest's stylesheet (`stylesheet`), shared with the MkDocs plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mkdocs_arxiv_digest import __version__
from mkdocs_arxiv_digest.sphinx.directive import ArxivDigestDirective
from mkdocs_arxiv_digest.sphinx.domain import ArxivDigestDomain, due_for_reading
from mkdocs_arxiv_digest.sphinx.logs import NAME
from mkdocs_arxiv_digest.sphinx.options import PREFIX, option_names
from mkdocs_arxiv_digest.sphinx.scanning import read_directive, scan_source, sphinx_site
from mkdocs_arxiv_digest.sphinx.state import SphinxDigests
from mkdocs_arxiv_digest.sphinx.stylesheet import add_stylesheet

if TYPE_CHECKING:
    from sphinx.application import Sphinx

__all__ = ["read_directive", "scan_source", "setup", "sphinx_site"]

# Changing these changes what a complete digest shows: Sphinx then reads every document again.
_SHAPES_OUTPUT = {"language", "model", "snapshot"}


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive, the ``arxiv_digest_*`` options and the build's hooks."""
    for name in option_names():
        app.add_config_value(PREFIX + name, None, "env" if name in _SHAPES_OUTPUT else "")
    app.add_domain(ArxivDigestDomain)
    digests = SphinxDigests()
    app.add_directive(NAME, type("ArxivDigestDirective", (ArxivDigestDirective,), {"digests": digests}))
    app.connect("config-inited", digests.configure)
    app.connect("builder-inited", digests.begin_build)
    app.connect("builder-inited", add_stylesheet)
    app.connect("env-get-outdated", due_for_reading)
    app.connect("env-before-read-docs", digests.prefetch)
    app.connect("build-finished", digests.finish)
    return {"version": __version__, "env_version": 2, "parallel_read_safe": True, "parallel_write_safe": True}
