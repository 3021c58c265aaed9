"""Pages: the directives a page holds, and the page with each one replaced by its digest.

Each page's directives are parsed once a build (the site-wide scan and the render both
ask). Rendering reads what the resolver knows (resolving only what a page asks for that
the prefetch did not see), notes what is wrong with page and line, and stores a page that
rendered complete so a warm build can serve it whole. Incomplete papers are reported by
`report`: one line each, or one line for many papers that failed for the same reason
(a model server that cannot be reached fails every paper alike).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from mkdocs_arxiv_digest.build import Build
from mkdocs_arxiv_digest.config import Settings
from mkdocs_arxiv_digest.directive import (
    Directive,
    directive_language,
    find_directives,
    replace_directives,
    requests_of,
)
from mkdocs_arxiv_digest.errors import log
from mkdocs_arxiv_digest.fragments import Fragments
from mkdocs_arxiv_digest.ids import ArxivId
from mkdocs_arxiv_digest.layout import DigestLayout, FootnoteLabels, lay_out
from mkdocs_arxiv_digest.models import DigestRequest, Row
from mkdocs_arxiv_digest.page_cache import PageCache
from mkdocs_arxiv_digest.render import markdown_digest
from mkdocs_arxiv_digest.resolver import Resolver

Pin = Callable[[Build, list[Directive]], None]
"""Fills query blocks' IDs from their pins (`queries.QueryPins.pin`)."""

GROUP_FROM = 3
"""Papers failing for one reason are reported in one line from this many on."""
GROUP_SHOWN = 5
"""Places a grouped line names before saying how many more there are."""


class PageRenderer:
    """Finds and renders the directives of pages."""

    def __init__(self, settings: Settings, resolver: Resolver, page_cache: PageCache, pin: Pin | None = None) -> None:
        self.settings = settings
        self.resolver = resolver
        self.page_cache = page_cache
        self.pin = pin
        """Gives query blocks their pinned IDs (`queries.QueryPins.pin`), as they are parsed."""

    def report(self, build: Build) -> None:
        """Warn about every paper shown incomplete since the last report, naming page, line and ID.

        In page and line order (pages render in navigation order, and a page's papers as
        they resolve); a line grouping many papers sits where its first one would.
        """
        warnings: list[tuple[tuple[str, int], str]] = []
        for reason, found in build.incomplete.items():
            places = sorted(found, key=lambda place: _place_order(place[0]))
            if len(places) < GROUP_FROM:
                warnings += [(_place_order(where), f"{where}: {arxiv_id}: {reason}") for where, arxiv_id in places]
                continue
            named = ", ".join(f"{where} ({arxiv_id})" for where, arxiv_id in places[:GROUP_SHOWN])
            more = f" and {len(places) - GROUP_SHOWN} more" if len(places) > GROUP_SHOWN else ""
            warnings.append((_place_order(places[0][0]), f"{len(places)} papers: {reason} — at {named}{more}"))
        for _order, message in sorted(warnings, key=lambda warning: warning[0]):
            log.warning(message)
        build.incomplete.clear()

    def directives(self, build: Build, markdown: str) -> list[Directive]:
        """The page's directives; parsed once a build, though both the scan and the render ask."""
        if markdown not in build.parsed:
            build.parsed[markdown] = find_directives(markdown)
            if self.pin is not None:
                self.pin(build, build.parsed[markdown])
        return build.parsed[markdown]

    def requests(self, directive: Directive, settings: Settings | None = None) -> list[DigestRequest]:
        return requests_of(directive, self.settings if settings is None else settings)

    def requests_in(self, build: Build, markdown: str, language: str | None = None) -> list[DigestRequest]:
        """Every paper a page's Markdown asks for (shown in ``language``, default the site's; a block's own wins)."""
        settings = None if language is None else self.settings._replace(language=language)
        return [
            request for directive in self.directives(build, markdown) for request in self.requests(directive, settings)
        ]

    def render_page(self, build: Build, markdown: str, page: str | None, fragments: Fragments) -> str:
        """The page with every directive replaced by its digest; untrusted text as tokens of ``fragments``."""
        directives = self.directives(build, markdown)
        if not directives:
            return markdown
        key = self.page_cache.key(build, markdown, directives)
        stored = self.page_cache.get(build, key, len(directives))
        if stored is not None:
            build.shown.update((DigestRequest(ArxivId(i, v), lang, model), True) for i, v, lang, model in stored.wants)
            blocks = iter(stored.blocks)
            return replace_directives(markdown, directives, lambda _: markdown_digest(next(blocks), fragments.token))
        self.resolver.resolve(build, self.requests_in(build, markdown))
        labels = FootnoteLabels()
        layouts: list[DigestLayout] = []
        complete = True

        def render(directive: Directive) -> str:
            nonlocal complete
            for line, message in directive.problems:
                log.warning(f"{_where(page, line)}: {message}")
            rows = self._rows(build, directive, page)
            complete = complete and not directive.problems and all(self._is_complete(build, row) for row in rows)
            language = directive_language(directive, self.settings)
            layouts.append(lay_out(rows, language, labels, self.settings.presentation))
            return markdown_digest(layouts[-1], fragments.token)

        result = replace_directives(markdown, directives, render)
        if complete:
            requests = self.requests_in(build, markdown)
            fetched = [at for request in requests if (at := self.resolver.metadata.fetched_at(request.id)) is not None]
            self.page_cache.store(key, layouts, requests, min(fetched, default=None))
        return result

    def note_shown(self, build: Build, requests: Iterable[DigestRequest], page: str | None = None) -> None:
        """Count papers another renderer shows (Sphinx's nodes) in the build summary.

        With ``page``, those incomplete are also noted for `report` (the command line,
        which renders no Sphinx page; a Sphinx build warns from its directives itself).
        """
        for request in requests:
            row = self.resolver.row(request, build)
            build.shown[request] = row.digest is not None
            if (
                page is not None
                and row.digest is None
                and not (failure := self.resolver.failure(build, request)).reported
            ):
                build.incomplete.setdefault(failure.reason, []).append((page, request.id))

    def _rows(self, build: Build, directive: Directive, page: str | None) -> list[Row]:
        rows: list[Row] = []
        seen: dict[ArxivId, int] = {}
        for request, (_, line) in zip(self.requests(directive), directive.ids, strict=True):
            if request.id in seen:
                log.info(f"{_where(page, line)}: {request.id} is already listed on line {seen[request.id]}; shown once")
                continue
            seen[request.id] = line
            row = self.resolver.row(request, build)
            build.shown[request] = row.digest is not None
            if row.digest is None:
                failure = self.resolver.failure(build, request)
                if not failure.reported:
                    build.incomplete.setdefault(failure.reason, []).append((_where(page, line), request.id))
            rows.append(row)
        return rows

    def _is_complete(self, build: Build, row: Row) -> bool:
        return row.digest is not None and self.resolver.metadata.is_fresh(build, row.requested)


def _place_order(where: str) -> tuple[str, int]:
    """``notes/a.md:12`` as (page, line), to sort by; a place without a line (``line 12``, a Sphinx document) too."""
    page, _, line = where.rpartition(":")
    if line.isdigit():
        return page, int(line)
    if where.startswith("line ") and where[5:].isdigit():
        return "", int(where[5:])
    return where, 0


def _where(page: str | None, line: int) -> str:
    """``page.md:12`` for warnings; ``line 12`` where the page is not known (Python-Markdown)."""
    return f"{page}:{line}" if page else f"line {line}"
