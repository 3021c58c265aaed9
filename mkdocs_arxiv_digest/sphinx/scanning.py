"""Scanning reST and MyST sources for ``arxiv-digest`` directives, before Sphinx reads them.

The site-wide prefetch (``env-before-read-docs``) and the command line (`sphinx_site`)
need what each document asks for without parsing it as Sphinx would.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mkdocs_arxiv_digest.config import Settings
from mkdocs_arxiv_digest.directive import Directive, add_query_options, read_body, requests_of
from mkdocs_arxiv_digest.models import ScannedPage
from mkdocs_arxiv_digest.queries import QUERY_OPTIONS
from mkdocs_arxiv_digest.sphinx.logs import NAME
from mkdocs_arxiv_digest.sphinx.options import _conf_values, settings_from_conf

if TYPE_CHECKING:
    from sphinx.environment import BuildEnvironment


class Found(NamedTuple):
    """A directive as a source holds it, before its body is read."""

    body: list[str]
    first_line: int
    """1-based line of the body's first line in the document (as well as a scan can tell)."""
    options: dict[str, str]
    """Options set in reST/MyST syntax (``:language: ja``)."""


def read_directive(found: Found) -> Directive:
    """The directive's papers, options and problems, its body read as a Markdown block's is.

    Options in reST/MyST syntax win over the same options in a YAML body; a query's
    (`:query:`, `:max:`, `:sort:`, `:refresh:`) are checked as a YAML body's are.
    """
    directive = read_body(found.body, found.first_line)
    directive.options.update({name: value for name, value in found.options.items() if name not in QUERY_OPTIONS})
    query_options = {name: value for name, value in found.options.items() if name in QUERY_OPTIONS}
    if query_options:
        add_query_options(directive, query_options, max(found.first_line - 1, 1))
    return directive


Pin = Callable[[list[Directive], str], None]
"""`Pipeline.pin`: gives a document's query blocks their pinned papers."""


def scan_source(text: str, filetype: str) -> list[Found]:
    """The ``arxiv-digest`` directives of a reST (``restructuredtext``) or MyST (``markdown``) source."""
    if filetype == "restructuredtext":
        return list(_rst_directives(text.splitlines()))
    if filetype == "markdown":
        return list(_myst_directives(text, 0))
    return []


# `.. arxiv-digest::`, at any indentation (inside a note, a list...); text after `::`
# is the first line of the block, as docutils reads it.
_RST_DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\.\s+arxiv-digest\s*::(?P<rest>.*)$")
_RST_OPTION = re.compile(r"^:(?P<name>[A-Za-z][\w-]*):(?:\s+(?P<value>.*))?$")


def _rst_directives(lines: list[str]) -> Iterator[Found]:
    for index, line in enumerate(lines):
        match = _RST_DIRECTIVE.match(line)
        if match is None:
            continue
        indent = len(match["indent"].expandtabs())
        end = index + 1
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > indent):
            end += 1
        block = lines[index + 1 : end]
        margin = min((_indent(text) for text in block if text.strip()), default=0)
        block = [match["rest"].strip(), *(text.expandtabs()[margin:] for text in block)]
        yield _rst_block(block, index + 1)


def _rst_block(block: list[str], directive_line: int) -> Found:
    """Options and body of a directive block (``block[0]`` is the text after ``::``), split as docutils splits them.

    The block's first paragraph holds the options, from its first ``:name:`` line on;
    what comes before them, and everything after that paragraph, is the body.
    """
    start = 0 if block[0].strip() else 1
    rest = block[start:]
    blank = next((i for i, text in enumerate(rest) if not text.strip()), len(rest))
    first = next((i for i in range(blank) if _RST_OPTION.match(rest[i])), blank)
    options = {m["name"]: (m["value"] or "").strip() for text in rest[first:blank] if (m := _RST_OPTION.match(text))}
    if first == 0 and options:
        return Found(rest[blank + 1 :], directive_line + start + blank + 1, options)
    return Found([*rest[:first], *rest[blank:]] if options else rest, directive_line + start, options)


def _indent(line: str) -> int:
    expanded = line.expandtabs()
    return len(expanded) - len(expanded.lstrip())


def _myst_directives(text: str, offset: int) -> Iterator[Found]:
    """Directives in MyST fences (backticks, tildes, colons), as MyST's own parser finds them.

    Directives that hold MyST (a note, a tab) and ``{eval-rst}`` blocks are searched too.
    """
    try:
        from markdown_it.renderer import RendererHTML
        from myst_parser.config.main import MdParserConfig
        from myst_parser.parsers.directives import parse_directive_text
        from myst_parser.parsers.mdit import create_md_parser
    except ImportError:
        return  # no MyST: Sphinx will not read Markdown either
    parser = create_md_parser(MdParserConfig(enable_extensions={"colon_fence"}), RendererHTML)
    for token in parser.parse(text):
        if token.type not in ("fence", "colon_fence") or token.map is None:
            continue
        name = re.match(r"^\{([\w\-+:]+)\}\s*(.*)$", token.info.strip())
        if name is None:
            continue
        first_body_line = offset + token.map[0] + 2
        if name[1] == NAME:
            from mkdocs_arxiv_digest.sphinx.directive import ArxivDigestDirective  # it imports this module

            parsed = parse_directive_text(ArxivDigestDirective, name[2], token.content)
            options = {key: str(value) for key, value in parsed.options.items()}
            yield Found(parsed.body, first_body_line + parsed.body_offset, options)
        elif name[1] == "eval-rst":
            for found in _rst_directives(token.content.splitlines()):
                yield found._replace(first_line=found.first_line + first_body_line - 1)
        else:
            yield from _myst_directives(token.content, first_body_line - 1)


def scan_documents(
    env: BuildEnvironment,
    docnames: Sequence[str],
    source_suffix: Mapping[str, str],
    settings: Settings,
    pin: Pin | None = None,
) -> Iterator[ScannedPage]:
    """What each of the documents asks for (those that ask for something); ``pin`` gives query blocks their papers."""
    for docname in docnames:
        path = Path(env.doc2path(docname))
        page = scan_file(path, docname, source_suffix, settings, encoding=env.settings.get("input_encoding"), pin=pin)
        if page is not None:
            yield page


def scan_file(
    path: Path,
    docname: str,
    source_suffix: Mapping[str, str],
    settings: Settings,
    *,
    encoding: str | None = None,
    pin: Pin | None = None,
) -> ScannedPage | None:
    """What one document asks for; None if nothing (or it cannot be read: Sphinx reports that itself)."""
    filetype = next(
        (kind or "restructuredtext" for suffix, kind in source_suffix.items() if path.name.endswith(suffix)), ""
    )
    try:
        text = path.read_text(encoding=encoding or "utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    directives = [read_directive(found) for found in scan_source(text, filetype)]
    if pin is not None and any(directive.query is not None for directive in directives):
        pin(directives, docname)
    requests = [request for directive in directives for request in requests_of(directive, settings)]
    return ScannedPage(docname, None, requests) if requests else None


def sphinx_site(
    conf_py: Path, *, source_dir: Path | None = None, pin: Pin | None = None
) -> tuple[Settings, list[ScannedPage]]:
    """A Sphinx project's settings, and every document that asks for papers — without a build.

    For the command line (`arxiv-digest prefetch/snapshot`): ``conf.py`` is read as
    Sphinx reads it, its documents found as Sphinx finds them (``source_suffix``,
    ``exclude_patterns``, ``include_patterns``; ``.md`` is MyST with ``myst_parser``),
    and no extension is set up. Pages carry no Markdown (None): their directives are
    reST or MyST. ``pin`` (`Pipeline.pin_queries`) gives query blocks their papers. Raises
    `DigestError` for invalid ``arxiv_digest_*`` values, Sphinx's `ConfigError` for a
    broken ``conf.py``.
    """
    from sphinx.config import Config
    from sphinx.project import Project
    from sphinx.util.tags import Tags

    conf_py = conf_py.resolve()
    values = _conf_values(Config.read(conf_py.parent, overrides={}, tags=Tags()))
    settings = settings_from_conf(values, confdir=conf_py.parent, sphinx_language=values.get("language"))
    suffixes = _source_suffixes(values)
    project = Project(source_dir or conf_py.parent, suffixes)
    excluded = [*values.get("exclude_patterns", []), *values.get("templates_path", [])]
    docnames = project.discover(excluded, values.get("include_patterns", ["**"]))
    pages = [
        page
        for docname in sorted(docnames)
        if (
            page := scan_file(
                Path(project.doc2path(docname, absolute=True)),
                docname,
                suffixes,
                settings,
                pin=pin,
            )
        )
    ]
    return settings, pages


def _source_suffixes(values: Mapping[str, Any]) -> dict[str, str]:
    """``source_suffix`` as Sphinx normalizes it, with ``.md`` for MyST as `myst_parser` registers it."""
    suffix = values.get("source_suffix", {".rst": "restructuredtext"})
    suffixes = {suffix: "restructuredtext"} if isinstance(suffix, str) else dict.fromkeys(suffix, "restructuredtext")
    if isinstance(suffix, dict):
        suffixes = {key: kind or "restructuredtext" for key, kind in suffix.items()}
    if "myst_parser" in values.get("extensions", []) and suffixes.get(".md", "restructuredtext") == "restructuredtext":
        suffixes[".md"] = "markdown"
    return suffixes
