"""The ``arxiv-digest`` directive of reST and MyST: a document's digest as docutils nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

from mkdocs_arxiv_digest.directive import requests_of
from mkdocs_arxiv_digest.ids import ArxivId
from mkdocs_arxiv_digest.models import Row
from mkdocs_arxiv_digest.nodes import FootnoteLabels, LabelledRow, digest_nodes
from mkdocs_arxiv_digest.pipeline import Pipeline
from mkdocs_arxiv_digest.sphinx.logs import NAME, logger
from mkdocs_arxiv_digest.sphinx.scanning import Found, read_directive
from mkdocs_arxiv_digest.sphinx.state import _reread

if TYPE_CHECKING:
    from mkdocs_arxiv_digest.sphinx.state import SphinxDigests


class ArxivDigestDirective(SphinxDirective):
    """``.. arxiv-digest::`` (reST) or ```` ```{arxiv-digest} ```` (MyST): a list of arXiv IDs, or YAML."""

    has_content = True
    option_spec: ClassVar[dict[str, Any]] = {
        "language": directives.unchanged_required,
        "model": directives.unchanged_required,
    }
    digests: ClassVar[SphinxDigests]
    """The application's state; `setup` makes a subclass per application that sets it."""

    def run(self) -> list[nodes.Node]:
        docname = self.env.docname
        directive = read_directive(Found(list(self.content), self._first_body_line(), dict(self.options)))
        for line, message in directive.problems:
            # An empty directive's problem is the directive itself (docutils places its
            # missing body after the options).
            logger.warning(message, location=(docname, line if self.content else self.lineno), type=NAME)
        if not directive.ids:
            return []
        digests = self.digests
        pipeline = digests.pipeline()
        requests = requests_of(directive, pipeline.settings)
        pipeline.resolver.resolve(requests)  # nothing to do for what the prefetch saw
        labels = digests.labels.setdefault(docname, FootnoteLabels())
        rows: list[LabelledRow] = []
        seen: dict[ArxivId, int] = {}
        for request, (arxiv_id, line) in zip(requests, directive.ids, strict=True):
            if arxiv_id in seen:
                logger.info(
                    f"{arxiv_id} is already listed on line {seen[arxiv_id]}; shown once", location=(docname, line)
                )
                continue
            seen[arxiv_id] = line
            row = pipeline.resolver.row(request)
            if row.digest is None:
                failure = pipeline.resolver.failure(request)
                if not failure.reported:
                    logger.warning(f"{arxiv_id}: {failure.reason}", location=(docname, line), type=NAME)
            rows.append(LabelledRow(row, *labels.label(arxiv_id, request.language)))
        self._note_rereading([labelled.row for labelled in rows], pipeline)
        return digest_nodes(rows, self.state.document, requests[0].language)

    def _first_body_line(self) -> int:
        # docutils gives reST directives the body's absolute 0-based line; MyST runs them
        # through its own state machine, with the body's line relative to the opening one.
        lineno: int = self.lineno
        offset: int = self.content_offset
        if type(self.state_machine).__module__.startswith("myst_parser"):
            return lineno + offset + 1
        return offset + 1

    def _note_rereading(self, rows: list[Row], pipeline: Pipeline) -> None:
        """Read this document again next build if a digest is incomplete, or when metadata is due a refresh."""
        metadata, settings = pipeline.resolver.metadata, pipeline.settings
        due = [0.0 for row in rows if row.digest is None or not metadata.is_fresh(row.requested)]
        due += [at + settings.refresh_days * 86400 for row in rows if (at := metadata.fetched_at(row.requested))]
        if due:
            reread = _reread(self.env)
            reread[self.env.docname] = min([*due, reread.get(self.env.docname, float("inf"))])
        if settings.snapshot is not None and settings.snapshot.is_file():
            self.env.note_dependency(str(settings.snapshot))  # an edited snapshot: read again
