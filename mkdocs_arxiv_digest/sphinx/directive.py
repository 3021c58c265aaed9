"""The ``arxiv-digest`` directive of reST and MyST: a document's digest as docutils nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

from mkdocs_arxiv_digest.directive import requests_of
from mkdocs_arxiv_digest.ids import ArxivId
from mkdocs_arxiv_digest.layout import lay_out
from mkdocs_arxiv_digest.models import Row
from mkdocs_arxiv_digest.nodes import digest_nodes
from mkdocs_arxiv_digest.pipeline import Pipeline
from mkdocs_arxiv_digest.sphinx.domain import DOMAIN, ArxivDigestDomain
from mkdocs_arxiv_digest.sphinx.logs import DIRECTIVE, NAME, logger
from mkdocs_arxiv_digest.sphinx.scanning import Found, read_directive

if TYPE_CHECKING:
    from mkdocs_arxiv_digest.sphinx.state import SphinxDigests


class ArxivDigestDirective(SphinxDirective):
    """``.. arxiv-digest::`` (reST) or ```` ```{arxiv-digest} ```` (MyST): a list of arXiv IDs, or YAML."""

    has_content = True
    option_spec: ClassVar[dict[str, Any]] = {
        "language": directives.unchanged_required,
        "model": directives.unchanged_required,
        "query": directives.unchanged_required,
        "max": directives.unchanged_required,
        "sort": directives.unchanged_required,
        "refresh": directives.unchanged_required,
    }
    digests: ClassVar[SphinxDigests]
    """The application's state; `setup` makes a subclass per application that sets it."""

    def run(self) -> list[nodes.Node]:
        docname = self.env.docname
        directive = read_directive(Found(list(self.content), self._first_body_line(), dict(self.options)))
        if directive.query is not None:
            self.digests.pipeline().pin([directive], docname)  # pinned by the prefetch: no request here
        for line, message in directive.problems:
            # An empty directive's problem is the directive itself (docutils places its
            # missing body after the options).
            location = (docname, line if self.content else self.lineno)
            logger.warning(message, location=location, type=NAME, subtype=DIRECTIVE)
        if not directive.ids:
            return []
        digests = self.digests
        pipeline = digests.pipeline()
        requests = requests_of(directive, pipeline.settings)
        pipeline.resolve(requests)  # nothing to do for what the prefetch saw
        domain = self.env.get_domain(DOMAIN)
        assert isinstance(domain, ArxivDigestDomain)
        labels = domain.labels_of(docname)
        rows: list[Row] = []
        seen: dict[ArxivId, int] = {}
        for request, (arxiv_id, line) in zip(requests, directive.ids, strict=True):
            if arxiv_id in seen:
                logger.info(
                    f"{arxiv_id} is already listed on line {seen[arxiv_id]}; shown once", location=(docname, line)
                )
                continue
            seen[arxiv_id] = line
            row = pipeline.row(request)
            if row.digest is None:
                failure = pipeline.failure(request)
                if not failure.reported:
                    location = (docname, line)
                    logger.warning(f"{arxiv_id}: {failure.reason}", location=location, type=NAME, subtype=failure.kind)
            rows.append(row)
        self._note_rereading(rows, pipeline, domain)
        if directive.query is not None and directive.query.refresh is not None:
            # Read again when the query is due: that build runs it (online) and shows what it found.
            domain.read_again(docname, (directive.pinned_at or 0.0) + directive.query.refresh)
        layout = lay_out(rows, requests[0].language, labels, pipeline.settings.presentation)
        return digest_nodes(layout, self.state.document)

    def _first_body_line(self) -> int:
        # docutils gives reST directives the body's absolute 0-based line; MyST runs them
        # through its own state machine, with the body's line relative to the opening one.
        lineno: int = self.lineno
        offset: int = self.content_offset
        if type(self.state_machine).__module__.startswith("myst_parser"):
            return lineno + offset + 1
        return offset + 1

    def _note_rereading(self, rows: list[Row], pipeline: Pipeline, domain: ArxivDigestDomain) -> None:
        """Read this document again next build if a digest is incomplete, or when metadata is due a refresh."""
        due, settings = pipeline.due_again(rows), pipeline.settings
        if due is not None:
            domain.read_again(self.env.docname, due)
        if settings.snapshot is not None and settings.snapshot.is_file():
            self.env.note_dependency(str(settings.snapshot))  # an edited snapshot: read again
