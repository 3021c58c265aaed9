"""Pages: the directives a page holds, and the page with each one replaced by its digest.

Each page's directives are parsed once a build (the site-wide scan and the render both
ask). Rendering reads what the resolver knows (resolving only what a page asks for that
the prefetch did not see), notes what is wrong with page and line, and stores a page that
rendered complete so a warm build can serve it whole. Incomplete papers are reported by
`report`: one line each, or one line for many papers that failed for the same reason
(a model server that cannot be reached fails every paper alike).
"""

from __future__ import annotations

from collections.abc import Iterable

from mkdocs_arxiv_digest.config import Settings
from mkdocs_arxiv_digest.directive import (
    Directive,
    directive_language,
    find_directives,
    replace_directives,
    requests_of,
)
from mkdocs_arxiv_digest.errors import log
from mkdocs_arxiv_digest.ids import ArxivId
from mkdocs_arxiv_digest.models import DigestRequest, Row
from mkdocs_arxiv_digest.page_cache import PageCache
from mkdocs_arxiv_digest.render import render_digest
from mkdocs_arxiv_digest.resolver import Resolver

GROUP_FROM = 3
"""Papers failing for one reason are reported in one line from this many on."""
GROUP_SHOWN = 5
"""Places a grouped line names before saying how many more there are."""


class PageRenderer:
    """Finds and renders the directives of pages."""

    def __init__(self, settings: Settings, resolver: Resolver, pages: PageCache) -> None:
        self.settings = settings
        self.resolver = resolver
        self.pages = pages
        self.shown: dict[DigestRequest, bool] = {}
        """Each paper shown this build, and whether it was shown complete."""
        self._parsed: dict[str, list[Directive]] = {}
        self._incomplete: dict[str, list[tuple[str, ArxivId]]] = {}
        """Papers shown incomplete and not yet reported: (page and line, ID) by reason."""

    def begin_build(self) -> None:
        self.shown.clear()
        self._parsed.clear()
        self._incomplete.clear()

    def report(self) -> None:
        """Warn about every paper shown incomplete since the last report, naming page, line and ID."""
        for reason, places in self._incomplete.items():
            if len(places) < GROUP_FROM:
                for where, arxiv_id in places:
                    log.warning(f"{where}: {arxiv_id}: {reason}")
                continue
            named = ", ".join(f"{where} ({arxiv_id})" for where, arxiv_id in places[:GROUP_SHOWN])
            more = f" and {len(places) - GROUP_SHOWN} more" if len(places) > GROUP_SHOWN else ""
            log.warning(f"{len(places)} papers: {reason} — at {named}{more}")
        self._incomplete.clear()

    def directives(self, markdown: str) -> list[Directive]:
        """The page's directives; parsed once a build, though both the scan and the render ask."""
        if markdown not in self._parsed:
            self._parsed[markdown] = find_directives(markdown)
        return self._parsed[markdown]

    def requests(self, directive: Directive) -> list[DigestRequest]:
        return requests_of(directive, self.settings)

    def requests_in(self, markdown: str) -> list[DigestRequest]:
        """Every paper a page's Markdown asks for."""
        return [request for directive in self.directives(markdown) for request in self.requests(directive)]

    def render(self, markdown: str, page: str | None, *, math: bool = False) -> str:
        """The page with every directive replaced by its digest."""
        directives = self.directives(markdown)
        if not directives:
            return markdown
        key = self.pages.key(markdown, math)
        stored = self.pages.get(key, len(directives), math)
        if stored is not None:
            self.shown.update((DigestRequest(ArxivId(i, v), lang, model), True) for i, v, lang, model in stored.wants)
            blocks = iter(stored.blocks)
            return replace_directives(markdown, directives, lambda _directive: next(blocks))
        self.resolver.resolve(self.requests_in(markdown))
        defined: dict[str, str] = {}
        rendered: list[str] = []
        complete = True

        def render(directive: Directive) -> str:
            nonlocal complete
            for line, message in directive.problems:
                log.warning(f"{_where(page, line)}: {message}")
            rows = self._rows(directive, page)
            complete = complete and not directive.problems and all(self._is_complete(row) for row in rows)
            language = directive_language(directive, self.settings)
            rendered.append(render_digest(rows, math=math, language=language, defined=defined))
            return rendered[-1]

        result = replace_directives(markdown, directives, render)
        if complete:
            requests = self.requests_in(markdown)
            fetched = [at for request in requests if (at := self.resolver.metadata.fetched_at(request.id)) is not None]
            self.pages.store(key, rendered, requests, min(fetched, default=None))
        return result

    def note_shown(self, requests: Iterable[DigestRequest], page: str | None = None) -> None:
        """Count papers another renderer shows (Sphinx's nodes) in the build summary.

        With ``page``, those incomplete are also noted for `report` (the command line,
        which renders no Sphinx page; a Sphinx build warns from its directives itself).
        """
        for request in requests:
            row = self.resolver.row(request)
            self.shown[request] = row.digest is not None
            if page is not None and row.digest is None and not (failure := self.resolver.failure(request)).reported:
                self._incomplete.setdefault(failure.reason, []).append((page, request.id))

    def _rows(self, directive: Directive, page: str | None) -> list[Row]:
        rows: list[Row] = []
        seen: dict[ArxivId, int] = {}
        for request, (_, line) in zip(self.requests(directive), directive.ids, strict=True):
            if request.id in seen:
                log.info(f"{_where(page, line)}: {request.id} is already listed on line {seen[request.id]}; shown once")
                continue
            seen[request.id] = line
            row = self.resolver.row(request)
            self.shown[request] = row.digest is not None
            if row.digest is None:
                failure = self.resolver.failure(request)
                if not failure.reported:
                    self._incomplete.setdefault(failure.reason, []).append((_where(page, line), request.id))
            rows.append(row)
        return rows

    def _is_complete(self, row: Row) -> bool:
        return row.digest is not None and self.resolver.metadata.is_fresh(row.requested)


def requests_in(markdown: str, settings: Settings) -> list[DigestRequest]:
    """Every paper a page's Markdown asks for, read afresh (the command line's scan)."""
    return [request for directive in find_directives(markdown) for request in requests_of(directive, settings)]


def _where(page: str | None, line: int) -> str:
    """``page.md:12`` for warnings; ``line 12`` where the page is not known (Python-Markdown)."""
    return f"{page}:{line}" if page else f"line {line}"
